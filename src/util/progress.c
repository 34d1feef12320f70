/* progress.c — progress bar / lines with ETA on stderr. */
#include "util/progress.h"

#include <stdio.h>
#include <unistd.h>

#include "util/util.h"

const char *clt_format_duration(double s, char *buf, int len) {
    if (s < 0 || s > 1e8) {
        snprintf(buf, (size_t)len, "--:--");
        return buf;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, (size_t)len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, (size_t)len, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

void clt_progress_start(clt_progress *p, const char *what, uint64_t total, int mode) {
    p->what = what;
    p->total = total;
    p->start = p->last_draw = clt_now();
    p->mode = mode < 0 ? (isatty(2) ? 1 : 2) : mode;
    p->last_tenth = 0;
    p->drawn = 0;
}

static void draw(clt_progress *p, uint64_t done, int final) {
    double now = clt_now(), el = now - p->start;
    double rate = el > 0 ? done / el : 0;
    double frac = p->total ? (double)done / p->total : 1;
    char eta[32], took[32];
    clt_format_duration(rate > 0 ? (p->total - done) / rate : -1, eta, sizeof eta);
    clt_format_duration(el, took, sizeof took);
    if (p->mode == 1) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
        bar[30] = 0;
        fprintf(stderr, "\r%s [%s] %5.1f%% %llu/%llu %.0f/s %s %s\033[K", p->what, bar, 100 * frac,
                (unsigned long long)done, (unsigned long long)p->total, rate, final ? "took" : "ETA",
                final ? took : eta);
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %5.1f%% %llu/%llu %.0f/s %s %s\n", p->what, 100 * frac, (unsigned long long)done,
                (unsigned long long)p->total, rate, final ? "took" : "ETA", final ? took : eta);
    }
    fflush(stderr);
    p->last_draw = now;
    p->drawn = 1;
}

/* Jobs shorter than this stay quiet: a progress line for a sub-second job is noise. */
#define QUIET_SECONDS 2.0

void clt_progress_update(clt_progress *p, uint64_t done) {
    if (p->mode == 0) return;
    double now = clt_now();
    if (now - p->start < QUIET_SECONDS) return;
    if (p->mode == 1) {
        if (now - p->last_draw >= 0.2 || !p->drawn) draw(p, done, 0);
        return;
    }
    int tenth = p->total ? (int)(10 * done / p->total) : 10;
    if (tenth > p->last_tenth && tenth < 10) {
        p->last_tenth = tenth;
        draw(p, done, 0);
    }
}

void clt_progress_end(clt_progress *p, uint64_t done) {
    if (p->mode && (p->drawn || clt_now() - p->start >= QUIET_SECONDS)) draw(p, done, 1);
}
