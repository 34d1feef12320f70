/* fuzz_config.c — libFuzzer target for the run config: clt_config_load on the input as a file,
   clt_config_parse on it as a string, clt_config_set on it as a -s override. A config that loads is
   written back and must load again to the same text, as --print-config promises. */
#include <stdio.h>
#include <string.h>

#include "net/config.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
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
