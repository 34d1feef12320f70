/* ini.h — the one INI reader of the project: trainer configs, study files, report.ini and the configs
   the report reads. One dialect for all of them, read from a bounded file. */
#ifndef CLT_INI_H
#define CLT_INI_H

#include <stdbool.h>
#include <stddef.h>

/* The dialect: "[section]" lines (runs of spaces inside the name count as one), "key = value" lines,
   full-line comments starting with ';' or '#', inline comments starting with ';' or '#' after
   whitespace, a UTF-8 byte-order mark, and lines ending in LF, CRLF or a lone CR. Lines have no
   length limit but the file has one (max_bytes). A file holding a NUL byte, a line that is none of
   the above, a key before any section or a key set twice in one section is refused with file:line.
   With `continuation`, an indented line without '=' continues the previous value (joined with a
   newline); without it, such a line is an error. */
typedef struct clt_ini_dialect {
    size_t max_bytes;
    bool continuation;
} clt_ini_dialect;

/* Large enough for every INI file of the project (the biggest study file is 10 kB), small enough
   that a device, pack or image named by mistake costs nothing. */
#define CLT_INI_MAX_BYTES ((size_t)1 << 20)

typedef struct clt_ini_entry {
    char *section, *key, *value;
    int line;
    int section_line; /* the line of its [section] */
} clt_ini_entry;

typedef struct clt_ini {
    clt_ini_entry *e; /* in file order */
    int n, cap;
} clt_ini;

/* Parses len bytes of text (path names it in errors). Returns 0, or -1 after printing why. */
int clt_ini_parse(clt_ini *ini, const char *path, const char *text, size_t len, const clt_ini_dialect *d);
/* Reads at most d->max_bytes of path and parses them. */
int clt_ini_load(clt_ini *ini, const char *path, const clt_ini_dialect *d);
void clt_ini_free(clt_ini *ini);

/* Whether a value would be read back unchanged from "key = VALUE": no control characters, no
   leading or trailing space, no inline comment. Writers of INI files refuse values that are not. */
bool clt_ini_value_writable(const char *value);

#endif
