/* test_ini.c — the one INI reader (src/util/ini.c): its dialect (comments, line ends, sections,
   continuation), what it refuses with file:line (NUL bytes, duplicate keys, stray lines), that it
   has no line-length limit, and that a file larger than its bound, /dev/zero included, is refused
   after reading no more than the bound. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "testutil.h"
#include "util/ini.h"
#include "util/util.h"

static const clt_ini_dialect PLAIN = {CLT_INI_MAX_BYTES, false}, CONT = {CLT_INI_MAX_BYTES, true};

/* stderr of one parse, so the message can be checked */
static char errbuf[4096];
static int parse_capture(clt_ini *ini, const char *text, size_t len, const clt_ini_dialect *d) {
    fflush(stderr);
    int saved = dup(2);
    FILE *f = tmpfile();
    dup2(fileno(f), 2);
    int rc = clt_ini_parse(ini, "t.ini", text, len, d);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t n = fread(errbuf, 1, sizeof errbuf - 1, f);
    while (n && errbuf[n - 1] == '\n') n--;
    errbuf[n] = 0;
    fclose(f);
    return rc;
}

static int parse(clt_ini *ini, const char *text, const clt_ini_dialect *d) {
    return parse_capture(ini, text, strlen(text), d);
}

static bool has(const clt_ini *ini, int i, const char *section, const char *key, const char *value, int line) {
    return i < ini->n && !strcmp(ini->e[i].section, section) && !strcmp(ini->e[i].key, key) &&
           !strcmp(ini->e[i].value, value) && ini->e[i].line == line;
}

static void test_dialect(void) {
    clt_ini ini;
    int rc = parse(&ini,
                   "\xEF\xBB\xBF; comment\n# comment\n[run]\nname = x ; inline\nseed=3 # inline too\n"
                   "[ split   random ]\npath = a;b#c\n",
                   &PLAIN);
    t_check(rc == 0 && ini.n == 3 && has(&ini, 0, "run", "name", "x", 4) && has(&ini, 1, "run", "seed", "3", 5) &&
                has(&ini, 2, "split random", "path", "a;b#c", 7),
            "ini: BOM, ';' and '#' comments full-line and inline, section spaces collapsed");
    clt_ini_free(&ini);
    rc = parse(&ini, "[a]\rk = 1\r\n[b]\nk = 2\r", &PLAIN);
    t_check(rc == 0 && ini.n == 2 && has(&ini, 0, "a", "k", "1", 2) && has(&ini, 1, "b", "k", "2", 4),
            "ini: LF, CRLF and lone-CR line ends count lines alike");
    clt_ini_free(&ini);
    rc = parse(&ini, "[s]\ndescription = one\n  two\n\tthree ; c\nnext = 1\n", &CONT);
    t_check(rc == 0 && ini.n == 2 && has(&ini, 0, "s", "description", "one\ntwo\nthree", 2),
            "ini: continuation lines join with a newline where the dialect allows them");
    clt_ini_free(&ini);
    rc = parse(&ini, "[s]\ndescription = one\n  two\n", &PLAIN);
    t_check(rc != 0 && strstr(errbuf, "t.ini:3: cannot parse"), "ini: without continuation an indented line is an error (%s)", errbuf);
    size_t big = 300000;
    char *longline = clt_malloc(big + 32);
    int off = snprintf(longline, 32, "[data]\ntrain = ");
    memset(longline + off, 'p', big);
    strcpy(longline + off + big, "\nval = v\n");
    rc = parse(&ini, longline, &PLAIN);
    t_check(rc == 0 && ini.n == 2 && strlen(ini.e[0].value) == big && has(&ini, 1, "data", "val", "v", 3),
            "ini: a 300 kB line is one value (no line-length limit)");
    clt_ini_free(&ini);
    free(longline);
}

static void test_refusals(void) {
    clt_ini ini;
    int rc = parse(&ini, "[run]\nseed = 1\nname = a\nseed = 2\n", &PLAIN);
    t_check(rc != 0 && strstr(errbuf, "t.ini:4: 'seed' is set again in [run] (first at line 2)"),
            "ini: a duplicate key names both lines (%s)", errbuf);
    rc = parse(&ini, "[a]\nk = 1\n[b]\nk = 2\n[a]\nk = 3\n", &PLAIN);
    t_check(rc != 0 && strstr(errbuf, "t.ini:6:"), "ini: a key repeated in a reopened section is a duplicate (%s)", errbuf);
    rc = parse_capture(&ini, "[run]\nname = a\0b\n", 17, &PLAIN);
    t_check(rc != 0 && strstr(errbuf, "NUL byte at offset 14"), "ini: a NUL byte is refused with its offset (%s)", errbuf);
    rc = parse(&ini, "k = 1\n", &PLAIN);
    t_check(rc != 0 && strstr(errbuf, "t.ini:1:") && strstr(errbuf, "before any [section]"),
            "ini: a key before any section (%s)", errbuf);
    rc = parse(&ini, "[run]\njust words\n", &PLAIN);
    t_check(rc != 0 && strstr(errbuf, "t.ini:2: cannot parse"), "ini: a line without '=' (%s)", errbuf);
    rc = parse(&ini, "[run] x\n", &PLAIN);
    t_check(rc != 0 && strstr(errbuf, "t.ini:1:"), "ini: text after a section's ']' (%s)", errbuf);
    rc = parse(&ini, "[run]\n= 3\n", &PLAIN);
    t_check(rc != 0 && strstr(errbuf, "t.ini:2: a value without a key"), "ini: '= value' without a key (%s)", errbuf);
    t_check(clt_ini_value_writable("runs/a b") && !clt_ini_value_writable("a ;b") && !clt_ini_value_writable(" a") &&
                !clt_ini_value_writable("a\nb") && clt_ini_value_writable("a;b") && !clt_ini_value_writable(";a"),
            "ini: values that would not read back are known");
}

/* /dev/zero under an address-space limit far below what reading it whole would take: refused after
   max_bytes + 1 bytes, naming the limit. */
static void test_bounded(void) {
    clt_ini ini;
    clt_ini_dialect small = {4096, false};
    fflush(stderr);
    int saved = dup(2);
    FILE *f = tmpfile();
    dup2(fileno(f), 2);
    int rc = clt_ini_load(&ini, "/dev/zero", &small);
    int rc2 = clt_ini_load(&ini, "/", &small);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    size_t n = fread(errbuf, 1, sizeof errbuf - 1, f);
    errbuf[n] = 0;
    fclose(f);
    t_check(rc != 0 && strstr(errbuf, "/dev/zero is larger than 4096 bytes"), "ini: /dev/zero is refused at the bound (%s)", errbuf);
    t_check(rc2 != 0 && strstr(errbuf, "/ is a folder"), "ini: a folder is named as one (%s)", errbuf);
    size_t len;
    char *text = clt_read_file_max("/dev/zero", (size_t)64 << 20, "a test file", &len);
    t_check(text == NULL, "read_file_max: /dev/zero refused at 64 MiB%s", T_ASAN ? "" : " under a 1 GiB address-space limit");
}

int main(void) {
    struct rlimit lim = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    if (!T_ASAN) setrlimit(RLIMIT_AS, &lim); /* a reader that read /dev/zero whole would die here, not pass */
    test_dialect();
    test_refusals();
    test_bounded();
    return t_done();
}
