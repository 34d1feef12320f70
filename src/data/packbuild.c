/* packbuild.c — parallel pack building with an in-order writer, the skip report, and pack means. */
#include "data/packbuild.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/image.h"
#include "util/progress.h"

/* ---- report ---- */

void clt_pack_report_add(clt_pack_report *r, int skipped, const char *kind, const char *what, const char *fmt, ...) {
    if (r->n == r->cap) r->items = clt_realloc(r->items, (r->cap = r->cap ? 2 * r->cap : 64) * sizeof *r->items);
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    r->items[r->n++] = (clt_pack_report_item){skipped, clt_strdup(kind), clt_strdup(what), clt_strdup(why)};
    r->skipped += skipped != 0;
}

void clt_pack_report_free(clt_pack_report *r) {
    for (size_t i = 0; i < r->n; i++) free(r->items[i].kind), free(r->items[i].what), free(r->items[i].why);
    free(r->items);
    memset(r, 0, sizeof *r);
}

void clt_pack_report_print(const clt_pack_report *r, int first) {
    for (int skipped = 1; skipped >= 0; skipped--) {
        /* one line per kind with its count, then the first few of that kind by name */
        for (size_t i = 0; i < r->n; i++) {
            if (r->items[i].skipped != skipped) continue;
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                seen = r->items[j].skipped == skipped && !strcmp(r->items[j].kind, r->items[i].kind);
            if (seen) continue;
            size_t count = 0;
            for (size_t j = i; j < r->n; j++) count += r->items[j].skipped == skipped && !strcmp(r->items[j].kind, r->items[i].kind);
            fprintf(stderr, "  %s %zu: %s\n", skipped ? "skipped" : "note:", count, r->items[i].kind);
            int shown = 0;
            for (size_t j = i; j < r->n && shown < first; j++)
                if (r->items[j].skipped == skipped && !strcmp(r->items[j].kind, r->items[i].kind)) {
                    fprintf(stderr, "    %s: %s\n", r->items[j].what, r->items[j].why);
                    shown++;
                }
            if ((size_t)shown < count) fprintf(stderr, "    … %zu more\n", count - (size_t)shown);
        }
    }
}

int clt_pack_report_write(const clt_pack_report *r, const char *pack_path, const char *summary) {
    uint32_t id;
    if (clt_pack_read_id(pack_path, &id) != 0) return -1;
    size_t cap = 4096 + strlen(summary), len = 0;
    char *text = clt_malloc(cap);
    len += (size_t)snprintf(text, cap, "%s# pack id %08x\n# status<TAB>kind<TAB>input<TAB>reason\n", summary, id);
    for (size_t i = 0; i < r->n; i++) {
        const clt_pack_report_item *it = &r->items[i];
        size_t need = strlen(it->kind) + strlen(it->what) + strlen(it->why) + 16;
        if (len + need >= cap) text = clt_realloc(text, cap = 2 * cap + need);
        len += (size_t)snprintf(text + len, cap - len, "%s\t%s\t%s\t%s\n", it->skipped ? "skipped" : "note", it->kind,
                                it->what, it->why);
    }
    char *path = clt_pack_side_path(pack_path, ".report.txt");
    int rc = clt_write_file_atomic(path, text, len);
    free(path);
    free(text);
    return rc;
}

/* ---- building ---- */

typedef struct slot {
    int ready;
    int status; /* 0 stored, 1 stored with a decoder warning, -1 skipped */
    uint8_t *data;
    size_t size;
    char kind[32], why[256];
} slot;

typedef struct builder {
    const clt_pack_build_config *cfg;
    const clt_pack_item *items;
    size_t n, window;
    pthread_mutex_t mu;
    pthread_cond_t ready, space;
    size_t next, written; /* next item to claim; items handed to the writer */
    int stop;
    slot *slots;
} builder;

typedef struct worker {
    builder *b;
    pthread_t thread;
    clt_jpeg *jpeg;
    clt_mean_acc mean;
    uint8_t *file, *warped;
    size_t file_cap;
} worker;

static int read_source(worker *wk, const char *path, size_t *size, slot *s) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int err = errno;
        snprintf(s->kind, sizeof s->kind, "%s", fd < 0 && err == ENOENT ? "missing file" : "unreadable");
        snprintf(s->why, sizeof s->why, "%s", fd >= 0 && !S_ISREG(st.st_mode) ? "not a regular file" : strerror(err));
        if (fd >= 0) close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > CLT_SOURCE_MAX_BYTES) {
        snprintf(s->kind, sizeof s->kind, "too large");
        snprintf(s->why, sizeof s->why, "%lld bytes, over the %u-byte limit", (long long)st.st_size, CLT_SOURCE_MAX_BYTES);
        close(fd);
        return -1;
    }
    size_t want = (size_t)st.st_size, got = 0;
    if (want + 1 > wk->file_cap) {
        free(wk->file);
        wk->file = clt_malloc(wk->file_cap = want + 1);
    }
    while (got < want) {
        ssize_t r = read(fd, wk->file + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    int err = errno;
    close(fd);
    if (got != want) {
        snprintf(s->kind, sizeof s->kind, "unreadable");
        snprintf(s->why, sizeof s->why, "read %zu of %zu bytes: %s", got, want, err ? strerror(err) : "file shrank");
        return -1;
    }
    *size = got;
    return 0;
}

static void process(worker *wk, const clt_pack_item *it, slot *s) {
    const clt_pack_build_config *cfg = wk->b->cfg;
    size_t size;
    s->status = -1;
    if (read_source(wk, it->path, &size, s)) return;
    const uint8_t *pix;
    char why[200];
    int w, h;
    int rc = clt_jpeg_decode(wk->jpeg, wk->file, size, cfg->channels, &pix, &w, &h, s->why, sizeof s->why);
    if (rc < 0) {
        const char *kind = !strncmp(s->why, "not a JPEG", 10) ? "not a JPEG"
                           : !strncmp(s->why, "truncated", 9)  ? "truncated JPEG"
                                                               : "corrupt JPEG";
        snprintf(s->kind, sizeof s->kind, "%s", kind);
        return;
    }
    clt_resize_bilinear(pix, w, h, wk->warped, cfg->width, cfg->height, cfg->channels);
    size_t raw = (size_t)cfg->channels * cfg->width * cfg->height;
    if (cfg->encoding == CLT_PACK_RAW) {
        s->data = clt_malloc(raw);
        memcpy(s->data, wk->warped, raw);
        s->size = raw;
    } else {
        const uint8_t *enc;
        if (clt_jpeg_encode(wk->jpeg, wk->warped, cfg->width, cfg->height, cfg->channels, cfg->quality, cfg->subsampling,
                            &enc, &s->size, why, sizeof why)) {
            snprintf(s->kind, sizeof s->kind, "encode failed");
            snprintf(s->why, sizeof s->why, "%s", why);
            return;
        }
        s->data = clt_malloc(s->size);
        memcpy(s->data, enc, s->size);
        /* the mean is of the pixels the reader will see, so it equals what `mean` computes from the pack */
        if (clt_jpeg_decode_into(wk->jpeg, s->data, s->size, cfg->channels, wk->warped, cfg->width, cfg->height, why,
                                 sizeof why) < 0) {
            snprintf(s->kind, sizeof s->kind, "encode failed");
            snprintf(s->why, sizeof s->why, "re-encoded image does not decode: %s", why);
            free(s->data);
            s->data = NULL;
            return;
        }
    }
    clt_mean_acc_add(&wk->mean, wk->warped);
    if (rc == 1) snprintf(s->kind, sizeof s->kind, "decoder warning");
    s->status = rc;
}

static void *build_worker(void *arg) {
    worker *wk = arg;
    builder *b = wk->b;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        while (!b->stop && b->next < b->n && b->next >= b->written + b->window) pthread_cond_wait(&b->space, &b->mu);
        if (b->stop || b->next >= b->n) {
            pthread_mutex_unlock(&b->mu);
            return NULL;
        }
        size_t i = b->next++;
        pthread_mutex_unlock(&b->mu);
        slot result = {0};
        process(wk, &b->items[i], &result);
        result.ready = 1;
        pthread_mutex_lock(&b->mu);
        b->slots[i % b->window] = result;
        pthread_cond_broadcast(&b->ready);
        pthread_mutex_unlock(&b->mu);
    }
}

static void summary_line(char *buf, size_t len, const clt_pack_build_config *cfg, uint64_t packed, size_t n,
                         uint64_t bytes, double seconds) {
    char took[32];
    int off = snprintf(buf, len, "# packed %llu of %zu images into %s: %.1f MB, %d×%d×%d %s", (unsigned long long)packed,
                       n, cfg->out_path, bytes / 1e6, cfg->channels, cfg->height, cfg->width,
                       clt_pack_encoding_name(cfg->encoding));
    if (cfg->encoding == CLT_PACK_JPEG && off > 0 && (size_t)off < len)
        off += cfg->channels == 1 ? snprintf(buf + off, len - (size_t)off, " q%d grey", cfg->quality)
                                  : snprintf(buf + off, len - (size_t)off, " q%d %d", cfg->quality, cfg->subsampling);
    if (off > 0 && (size_t)off < len)
        snprintf(buf + off, len - (size_t)off, ", %d classes, %s (%.0f images/s)\n", cfg->classes,
                 clt_format_duration(seconds, took, sizeof took), seconds > 0 ? n / seconds : 0);
}

int clt_pack_build(const clt_pack_build_config *cfg, const clt_pack_item *items, size_t n, clt_pack_report *report,
                   uint64_t *packed) {
    *packed = 0;
    if (cfg->height < 1 || cfg->width < 1 || cfg->height > CLT_PACK_MAX_SIDE || cfg->width > CLT_PACK_MAX_SIDE ||
        (cfg->channels != 1 && cfg->channels != 3) || cfg->quality < 1 || cfg->quality > 100) {
        clt_error("pack shape %d×%d×%d or quality %d out of bounds", cfg->channels, cfg->height, cfg->width, cfg->quality);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].label < 0 || items[i].label >= cfg->classes) {
            clt_error("internal: item %s has label %d outside 0..%d", items[i].path, items[i].label, cfg->classes - 1);
            return -1;
        }
    clt_pack_writer *pw;
    if (clt_pack_writer_open(&pw, cfg->out_path, cfg->encoding, cfg->channels, cfg->height, cfg->width, cfg->classes))
        return -1;
    int threads = cfg->threads > 0 ? cfg->threads : clt_cpu_count();
    builder b = {.cfg = cfg, .items = items, .n = n, .window = (size_t)threads * 8 + 8};
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.ready, NULL);
    pthread_cond_init(&b.space, NULL);
    b.slots = clt_calloc(b.window, sizeof *b.slots);
    worker *wk = clt_calloc((size_t)threads, sizeof *wk);
    int started = 0, rc = 0;
    for (int t = 0; t < threads; t++) {
        wk[t].b = &b;
        wk[t].jpeg = clt_jpeg_new();
        clt_mean_acc_init(&wk[t].mean, cfg->channels, cfg->height, cfg->width);
        wk[t].warped = clt_malloc((size_t)cfg->channels * cfg->height * cfg->width);
        if (!wk[t].jpeg) {
            rc = -1;
            break;
        }
    }
    for (int t = 0; rc == 0 && t < threads; t++) {
        if (pthread_create(&wk[t].thread, NULL, build_worker, &wk[t]) != 0) {
            clt_error("cannot start a packing thread");
            rc = -1;
            break;
        }
        started++;
    }
    clt_progress prog;
    clt_progress_start(&prog, "packing", n, cfg->progress);
    double t0 = clt_now();
    for (size_t i = 0; rc == 0 && i < n; i++) {
        pthread_mutex_lock(&b.mu);
        slot *s = &b.slots[i % b.window];
        while (!s->ready) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 200 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&b.ready, &b.mu, &until);
            if (!s->ready) {
                pthread_mutex_unlock(&b.mu);
                clt_progress_update(&prog, i);
                pthread_mutex_lock(&b.mu);
            }
        }
        slot got = *s;
        memset(s, 0, sizeof *s);
        b.written = i + 1;
        pthread_cond_broadcast(&b.space);
        pthread_mutex_unlock(&b.mu);
        if (got.status < 0) {
            clt_pack_report_add(report, 1, got.kind, items[i].path, "%s", got.why);
        } else {
            if (got.status == 1) clt_pack_report_add(report, 0, got.kind, items[i].path, "%s (kept)", got.why);
            if (clt_pack_writer_add(pw, got.data, got.size, items[i].label, items[i].orig_label)) rc = -1;
        }
        free(got.data);
        clt_progress_update(&prog, i + 1);
    }
    pthread_mutex_lock(&b.mu);
    b.stop = 1;
    pthread_cond_broadcast(&b.space);
    pthread_mutex_unlock(&b.mu);
    for (int t = 0; t < started; t++) pthread_join(wk[t].thread, NULL);
    for (size_t i = 0; i < b.window; i++) free(b.slots[i].data);
    if (rc == 0) clt_progress_end(&prog, n);
    double seconds = clt_now() - t0;

    clt_mean_acc mean;
    clt_mean_acc_init(&mean, cfg->channels, cfg->height, cfg->width);
    for (int t = 0; t < threads; t++) {
        if (wk[t].mean.sum) clt_mean_acc_merge(&mean, &wk[t].mean);
        clt_mean_acc_free(&wk[t].mean);
        clt_jpeg_free(wk[t].jpeg);
        free(wk[t].file);
        free(wk[t].warped);
    }
    free(wk);
    free(b.slots);
    pthread_mutex_destroy(&b.mu);
    pthread_cond_destroy(&b.ready);
    pthread_cond_destroy(&b.space);

    uint64_t count = clt_pack_writer_count(pw), bytes = clt_pack_writer_bytes(pw);
    if (rc == 0 && count == 0) clt_error("none of the %zu inputs could be packed; %s is not written", n, cfg->out_path);
    if (rc != 0 || count == 0) {
        clt_pack_writer_abort(pw);
        if (count == 0) clt_pack_report_print(report, 10);
        clt_mean_acc_free(&mean);
        return -1;
    }
    if (clt_pack_writer_commit(pw)) {
        clt_mean_acc_free(&mean);
        return -1;
    }
    *packed = count;
    float *m = clt_malloc((size_t)cfg->channels * cfg->height * cfg->width * sizeof *m);
    clt_mean_acc_result(&mean, m);
    char *mean_path = clt_pack_side_path(cfg->out_path, ".mean");
    char *report_path = clt_pack_side_path(cfg->out_path, ".report.txt");
    rc |= clt_pack_write_mean(cfg->out_path, NULL, cfg->channels, cfg->height, cfg->width, mean.count, m);
    char summary[1024];
    summary_line(summary, sizeof summary, cfg, count, n, bytes, seconds);
    rc |= clt_pack_report_write(report, cfg->out_path, summary);
    fputs(summary + 2, stderr);
    clt_pack_report_print(report, 10);
    if (report->n) fprintf(stderr, "  full list: %s\n", report_path);
    free(m);
    free(mean_path);
    free(report_path);
    clt_mean_acc_free(&mean);
    return rc;
}

/* ---- mean of a pack ---- */

typedef struct mean_job {
    clt_pack *pack;
    pthread_mutex_t mu;
    uint64_t next, done;
    int failed;
    clt_mean_acc *accs;
} mean_job;

typedef struct mean_worker {
    mean_job *job;
    int id;
    pthread_t thread;
} mean_worker;

static void *mean_worker_main(void *arg) {
    mean_worker *mw = arg;
    mean_job *job = mw->job;
    clt_pack *p = job->pack;
    clt_jpeg *jpeg = p->encoding == CLT_PACK_JPEG ? clt_jpeg_new() : NULL;
    uint8_t *rec = clt_malloc(p->max_record), *pix = clt_malloc((size_t)p->c * p->h * p->w);
    char err[256];
    pthread_mutex_lock(&job->mu);
    if (p->encoding == CLT_PACK_JPEG && !jpeg) job->failed = 1;
    pthread_mutex_unlock(&job->mu);
    for (;;) {
        pthread_mutex_lock(&job->mu);
        uint64_t i = job->next++;
        int stop = job->failed || i >= p->count;
        pthread_mutex_unlock(&job->mu);
        if (stop) break;
        int rc = clt_pack_read(p, i, rec, err, sizeof err);
        if (rc == 0 && jpeg)
            rc = clt_jpeg_decode_into(jpeg, rec, p->index[i].size, p->c, pix, p->w, p->h, err, sizeof err) < 0 ? -1 : 0;
        if (rc) {
            pthread_mutex_lock(&job->mu);
            if (!job->failed) clt_error("pack %s: record %llu: %s", p->path, (unsigned long long)i, err);
            job->failed = 1;
            pthread_mutex_unlock(&job->mu);
            break;
        }
        clt_mean_acc_add(&job->accs[mw->id], jpeg ? pix : rec);
        pthread_mutex_lock(&job->mu);
        job->done++;
        pthread_mutex_unlock(&job->mu);
    }
    clt_jpeg_free(jpeg);
    free(rec);
    free(pix);
    return NULL;
}

int clt_pack_mean(const char *pack_path, int threads, int progress, clt_mean_acc *acc) {
    clt_pack p;
    if (clt_pack_open(&p, pack_path)) return -1;
    if (threads <= 0) threads = clt_cpu_count();
    mean_job job = {.pack = &p};
    pthread_mutex_init(&job.mu, NULL);
    job.accs = clt_calloc((size_t)threads, sizeof *job.accs);
    mean_worker *mw = clt_calloc((size_t)threads, sizeof *mw);
    int started = 0;
    for (int t = 0; t < threads; t++) {
        clt_mean_acc_init(&job.accs[t], p.c, p.h, p.w);
        mw[t] = (mean_worker){.job = &job, .id = t};
        if (pthread_create(&mw[t].thread, NULL, mean_worker_main, &mw[t]) == 0) started++;
    }
    clt_progress prog;
    clt_progress_start(&prog, "mean", p.count, progress);
    for (;;) {
        pthread_mutex_lock(&job.mu);
        uint64_t done = job.done;
        int finished = job.failed || done == p.count;
        pthread_mutex_unlock(&job.mu);
        clt_progress_update(&prog, done);
        if (finished || !started) break;
        usleep(50 * 1000);
    }
    for (int t = 0; t < started; t++) pthread_join(mw[t].thread, NULL);
    int rc = job.failed || !started ? -1 : 0;
    if (!started) clt_error("cannot start threads for the mean of %s", pack_path);
    if (rc == 0) clt_progress_end(&prog, p.count);
    clt_mean_acc_init(acc, p.c, p.h, p.w);
    for (int t = 0; t < threads; t++) {
        clt_mean_acc_merge(acc, &job.accs[t]);
        clt_mean_acc_free(&job.accs[t]);
    }
    free(job.accs);
    free(mw);
    pthread_mutex_destroy(&job.mu);
    clt_pack_close(&p);
    if (rc) clt_mean_acc_free(acc);
    return rc;
}
