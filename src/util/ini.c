/* ini.c — the one INI reader (dialect in ini.h): bounded read, then line by line into entries. */
#include "util/ini.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void add(clt_ini *ini, const char *section, int section_line, const char *key, const char *value, int line) {
    if (ini->n == ini->cap) ini->e = clt_realloc(ini->e, (size_t)(ini->cap = ini->cap ? ini->cap * 2 : 32) * sizeof *ini->e);
    clt_ini_entry *e = &ini->e[ini->n++];
    e->section = clt_strdup(section);
    e->key = clt_strdup(key);
    e->value = clt_strdup(value);
    e->line = line;
    e->section_line = section_line;
}

void clt_ini_free(clt_ini *ini) {
    for (int i = 0; i < ini->n; i++) free(ini->e[i].section), free(ini->e[i].key), free(ini->e[i].value);
    free(ini->e);
    memset(ini, 0, sizeof *ini);
}

/* Cuts s at an inline comment: ';' or '#' after whitespace. */
static void cut_comment(char *s) {
    for (char *c = s + 1; *c; c++)
        if ((*c == ';' || *c == '#') && isspace((unsigned char)c[-1])) {
            *c = 0;
            return;
        }
}

/* "split   random" and "split random" are one section. */
static void collapse_spaces(char *s) {
    char *w = s;
    bool space = false;
    for (char *r = s; *r; r++) {
        if (isspace((unsigned char)*r)) {
            space = true;
            continue;
        }
        if (space && w != s) *w++ = ' ';
        space = false;
        *w++ = *r;
    }
    *w = 0;
}

static int cmp_key(const void *a, const void *b) {
    const clt_ini_entry *x = *(clt_ini_entry *const *)a, *y = *(clt_ini_entry *const *)b;
    int c = strcmp(x->section, y->section);
    if (!c) c = strcmp(x->key, y->key);
    return c ? c : x->line - y->line;
}

/* A key set twice is refused at its first repetition in the file; sorted, so a file of many lines
   costs n log n. */
static int check_duplicates(const clt_ini *ini, const char *path) {
    if (ini->n < 2) return 0;
    clt_ini_entry **sorted = clt_malloc((size_t)ini->n * sizeof *sorted);
    for (int i = 0; i < ini->n; i++) sorted[i] = &ini->e[i];
    qsort(sorted, (size_t)ini->n, sizeof *sorted, cmp_key);
    /* within a group of one key, sorted by line, the second is its first repetition */
    const clt_ini_entry *again = NULL, *first = NULL, *group = sorted[0];
    for (int i = 1; i < ini->n; i++) {
        bool same = !strcmp(sorted[i]->section, group->section) && !strcmp(sorted[i]->key, group->key);
        if (!same) {
            group = sorted[i];
            continue;
        }
        if (sorted[i - 1] == group && (!again || sorted[i]->line < again->line)) again = sorted[i], first = group;
    }
    int rc = 0;
    if (again) {
        clt_error("%s:%d: '%s' is set again in [%s] (first at line %d); each key once", path, again->line,
                  again->key, again->section, first->line);
        rc = -1;
    }
    free(sorted);
    return rc;
}

int clt_ini_parse(clt_ini *ini, const char *path, const char *text, size_t len, const clt_ini_dialect *d) {
    memset(ini, 0, sizeof *ini);
    const char *nul = memchr(text, 0, len);
    if (nul) {
        clt_error("%s: not a text file (a NUL byte at offset %zu)", path, (size_t)(nul - text));
        return -1;
    }
    char *copy = clt_malloc(len + 1);
    memcpy(copy, text, len);
    copy[len] = 0;
    char *p = copy, *end = copy + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3;
    char *section = clt_strdup("");
    int line = 0, section_line = 0, rc = 0;
    bool can_continue = false;
    while (p < end && rc == 0) {
        char *eol = p + strcspn(p, "\r\n");
        char *next = eol;
        if (*next == '\r' && next[1] == '\n') next += 2;
        else if (*next) next++;
        *eol = 0;
        line++;
        bool indented = isspace((unsigned char)*p);
        char *s = clt_trim(p);
        p = next;
        if (!*s || *s == ';' || *s == '#') continue;
        cut_comment(s);
        s = clt_trim(s);
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1]) {
                clt_error("%s:%d: cannot parse this line (expected '[section]')", path, line);
                rc = -1;
                break;
            }
            *close = 0;
            char *name = clt_trim(s + 1);
            collapse_spaces(name);
            if (!*name) {
                clt_error("%s:%d: a section needs a name", path, line);
                rc = -1;
                break;
            }
            free(section);
            section = clt_strdup(name);
            section_line = line;
            can_continue = false;
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq && d->continuation && indented && can_continue) {
            clt_ini_entry *e = &ini->e[ini->n - 1];
            size_t n = strlen(e->value) + strlen(s) + 2;
            e->value = clt_realloc(e->value, n);
            strcat(e->value, "\n");
            strcat(e->value, s);
            continue;
        }
        if (!eq) {
            clt_error("%s:%d: cannot parse this line (expected 'key = value' or '[section]')", path, line);
            rc = -1;
            break;
        }
        *eq = 0;
        char *key = clt_trim(s);
        if (!*key) {
            clt_error("%s:%d: a value without a key", path, line);
            rc = -1;
            break;
        }
        if (!section[0]) {
            clt_error("%s:%d: '%s' comes before any [section]", path, line, key);
            rc = -1;
            break;
        }
        add(ini, section, section_line, key, clt_trim(eq + 1), line);
        can_continue = true;
    }
    free(section);
    free(copy);
    if (rc == 0) rc = check_duplicates(ini, path);
    if (rc != 0) clt_ini_free(ini);
    return rc;
}

int clt_ini_load(clt_ini *ini, const char *path, const clt_ini_dialect *d) {
    memset(ini, 0, sizeof *ini);
    size_t len;
    char *text = clt_read_file_max(path, d->max_bytes, "an INI file", &len);
    if (!text) return -1;
    int rc = clt_ini_parse(ini, path, text, len, d);
    free(text);
    return rc;
}

bool clt_ini_value_writable(const char *value) {
    size_t n = strlen(value);
    /* written as "key = value", a leading ';' or '#' would follow a space: a comment */
    if (n && (isspace((unsigned char)value[0]) || isspace((unsigned char)value[n - 1]) || value[0] == ';' ||
              value[0] == '#'))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)value[i];
        if (c < 0x20 || c == 0x7f) return false;
        if ((c == ';' || c == '#') && i && isspace((unsigned char)value[i - 1])) return false;
    }
    return true;
}
