/* fuzz_config.c — libFuzzer target for the run config and the one INI reader under it: clt_ini_parse
   on the input in both dialects (every entry has a key, a section and a line in the file, and no value
   holds a newline unless continuation lines are on), clt_config_load on it as a file,
   clt_config_parse on it as a string, clt_config_set on it as a -s override. A config that loads is
   written back and must load again to the same text, as --print-config promises. */
#include <stdio.h>
#include <string.h>

#include "net/config.h"
#include "util/ini.h"
#include "fuzz_common.h"

static char *written(const clt_config *c) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    clt_config_write(c, f);
    fclose(f);
    return text;
}

static void round_trip(const clt_config *c) {
    char *once = written(c);
    clt_config d;
    clt_config_defaults(&d);
    if (clt_config_parse(&d, "written", once) != 0) {
        fprintf(stdout, "the written config does not load:\n%s\n", once);
        fflush(stdout);
        abort();
    }
    char *twice = written(&d);
    if (strcmp(once, twice) != 0) {
        fprintf(stdout, "the written config loads to another config:\n%s\n---\n%s\n", once, twice);
        fflush(stdout);
        abort();
    }
    free(once);
    free(twice);
}

static void check_ini(const uint8_t *data, size_t size) {
    for (int cont = 0; cont < 2; cont++) {
        clt_ini_dialect d = {CLT_INI_MAX_BYTES, cont};
        clt_ini ini;
        if (clt_ini_parse(&ini, "input", (const char *)data, size, &d) != 0) continue;
        int lines = 1;
        for (size_t i = 0; i < size; i++) lines += data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n'));
        for (int i = 0; i < ini.n; i++) {
            const clt_ini_entry *e = &ini.e[i];
            if (!e->key[0] || !e->section[0] || e->line < 1 || e->line > lines || e->section_line > e->line ||
                (!cont && strchr(e->value, '\n')))
                abort();
        }
        clt_ini_free(&ini);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    check_ini(data, size);
    clt_config c;
    clt_config_defaults(&c);
    if (clt_config_load(&c, fuzz_file(data, size)) == 0) {
        clt_config_validate(&c);
        round_trip(&c);
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    clt_config_defaults(&c);
    if (clt_config_parse(&c, "input", text) == 0) round_trip(&c);
    clt_config_defaults(&c);
    clt_config_set(&c, text);
    free(text);
    return 0;
}
