/* progress.h — a progress line with rate and ETA for long data jobs: redrawn in place on a terminal,
   a plain line every 10% otherwise (logs stay short); silent for jobs done within two seconds. */
#ifndef CLT_PROGRESS_H
#define CLT_PROGRESS_H

#include <stdint.h>

typedef struct clt_progress {
    const char *what;
    uint64_t total;
    double start, last_draw;
    int mode; /* 0 silent, 1 terminal bar, 2 plain lines */
    int last_tenth, drawn;
} clt_progress;

/* mode: -1 = bar if stderr is a terminal, else plain lines; 0 = silent; 1 = bar; 2 = plain lines. */
void clt_progress_start(clt_progress *p, const char *what, uint64_t total, int mode);
void clt_progress_update(clt_progress *p, uint64_t done); /* cheap to call often: redraws at most 5×/s */
void clt_progress_end(clt_progress *p, uint64_t done);
/* "1:02:03" or "4:05" into buf. */
const char *clt_format_duration(double seconds, char *buf, int len);

#endif
