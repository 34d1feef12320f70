/* strbuf.c — the growable string of strbuf.h. */
#include "util/strbuf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void clt_sb_vprintf(clt_sb *b, const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        b->s = clt_realloc(b->s, cap);
        b->cap = cap;
    }
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void clt_sb_printf(clt_sb *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    clt_sb_vprintf(b, fmt, ap);
    va_end(ap);
}

void clt_sb_free(clt_sb *b) {
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

void clt_sb_shell_quote(clt_sb *b, const char *s) {
    int plain = *s != 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_./-+=:,@%", *p)) plain = 0;
    if (plain) {
        clt_sb_printf(b, "%s", s);
        return;
    }
    clt_sb_printf(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            clt_sb_printf(b, "'\\''");
        else
            clt_sb_printf(b, "%c", *p);
    }
    clt_sb_printf(b, "'");
}
