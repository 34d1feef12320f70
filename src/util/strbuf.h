/* strbuf.h — a growable string for generated text (configs, scripts, Makefiles, report.md). */
#ifndef CLT_STRBUF_H
#define CLT_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "util/util.h"

/* A growable string; every module that writes generated text (configs, scripts, Makefiles,
   report.md) builds it here and writes it once. */
typedef struct clt_sb {
    char *s;
    size_t len, cap;
} clt_sb;
void clt_sb_printf(clt_sb *b, const char *fmt, ...) CLT_PRINTF(2, 3);
void clt_sb_vprintf(clt_sb *b, const char *fmt, va_list ap);
void clt_sb_free(clt_sb *b);
/* Appends s quoted for /bin/sh (single quotes unless it needs none). */
void clt_sb_shell_quote(clt_sb *b, const char *s);

#endif
