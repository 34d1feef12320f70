/* reader.c — prefetching batch reader over a pack: the caller thread plans batches (which record, crop,
   mirror), worker threads read, check, decode and transform them into CNHW floats. */
#include "data/reader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/image.h"
#include "util/mt19937.h"
#include "data/pack.h"
#include "util/util.h"

/* Domain tags keep the permutation and crop streams independent although both derive from one seed. */
#define TAG_PERM 0x7065726d75746531ULL
#define TAG_CROP 0x63726f706d697272ULL
#define PERM_CACHE 2
#define MAX_BATCH 65536

enum { SLOT_FREE, SLOT_ACTIVE };

typedef struct rslot {
    int state;
    uint64_t iter;
    int n, cap;      /* images in this batch; room in the plan arrays */
    float *images;   /* [c][n][oh][ow]: owned for training slots, the caller's for validation */
    int *labels;
    uint64_t *rec;   /* plan: record, crop corner and mirror per image */
    int *y0, *x0;
    unsigned char *mirror;
    int next, limit; /* next image to claim, end of what may be claimed (n, or less once abandoned) */
    int done;        /* images finished; the slot is quiet when done == next */
    int failed;
    char err[384];
} rslot;

typedef struct rworker {
    struct clt_reader *r;
    pthread_t thread;
    clt_jpeg *jpeg;
    uint8_t *rec, *pix;
} rworker;

struct clt_reader {
    clt_reader_config cfg;
    clt_pack pack;
    float *mean;     /* [c][h][w] or NULL */
    float *zero_row; /* w zeros, subtracted when there is no mean, so one loop serves both */
    int oc, oh, ow, chunk, depth, threads, started;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    int stop;
    rslot *slots; /* depth training slots, then one validation slot */
    rworker *workers;
    uint32_t *perm[PERM_CACHE];
    uint64_t perm_epoch[PERM_CACHE];
    int perm_next;
};

size_t clt_reader_count(const clt_reader *r) { return (size_t)r->pack.count; }
int clt_reader_classes(const clt_reader *r) { return r->pack.classes; }
void clt_reader_shape(const clt_reader *r, int *c, int *h, int *w) { *c = r->oc, *h = r->oh, *w = r->ow; }

/* ---- planning (caller thread only) ---- */

static const uint32_t *epoch_perm(clt_reader *r, uint64_t epoch) {
    for (int k = 0; k < PERM_CACHE; k++)
        if (r->perm[k] && r->perm_epoch[k] == epoch) return r->perm[k];
    int k = r->perm_next;
    r->perm_next = (k + 1) % PERM_CACHE;
    uint64_t n = r->pack.count;
    if (!r->perm[k]) r->perm[k] = clt_malloc((size_t)n * sizeof(uint32_t));
    uint32_t *p = r->perm[k];
    for (uint64_t i = 0; i < n; i++) p[i] = (uint32_t)i;
    /* Fisher–Yates on a splitmix64 stream; the multiply-high bound has negligible bias at these sizes */
    uint64_t state = clt_hash2(r->cfg.seed ^ TAG_PERM, epoch);
    for (uint64_t i = n - 1; i > 0; i--) {
        uint64_t j = (uint64_t)(((unsigned __int128)clt_mix64(state++) * (i + 1)) >> 64);
        uint32_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    r->perm_epoch[k] = epoch;
    return p;
}

void clt_reader_train_plan(clt_reader *r, uint64_t iter, int j, uint64_t *record, int *y0, int *x0, int *mirror) {
    uint64_t pos = iter * (uint64_t)r->cfg.batch + (uint64_t)j, n = r->pack.count;
    *record = epoch_perm(r, pos / n)[pos % n];
    int range_y = r->pack.h - r->oh + 1, range_x = r->pack.w - r->ow + 1;
    if (!r->cfg.train) {
        *y0 = (range_y - 1) / 2, *x0 = (range_x - 1) / 2, *mirror = 0;
        return;
    }
    uint64_t h = clt_hash2(r->cfg.seed ^ TAG_CROP, pos);
    *y0 = (int)(((h & 0xffffffffu) * (uint64_t)range_y) >> 32);
    *x0 = (int)((((h >> 32) & 0x7fffffffu) * (uint64_t)range_x) >> 31);
    *mirror = r->cfg.mirror ? (int)(h >> 63) : 0;
}

static void slot_reserve(rslot *s, int n) {
    if (n <= s->cap) return;
    free(s->rec), free(s->y0), free(s->x0), free(s->mirror);
    s->rec = clt_malloc((size_t)n * sizeof *s->rec);
    s->y0 = clt_malloc((size_t)n * sizeof *s->y0);
    s->x0 = clt_malloc((size_t)n * sizeof *s->x0);
    s->mirror = clt_malloc((size_t)n);
    s->cap = n;
}

static void plan_train(clt_reader *r, rslot *s, uint64_t iter) {
    s->iter = iter;
    s->n = r->cfg.batch;
    for (int j = 0; j < s->n; j++) {
        int m;
        clt_reader_train_plan(r, iter, j, &s->rec[j], &s->y0[j], &s->x0[j], &m);
        s->mirror[j] = (unsigned char)m;
    }
    s->next = s->done = s->failed = 0;
    s->limit = s->n;
    s->err[0] = 0;
}

/* ---- workers ---- */

static int load_image(clt_reader *r, rworker *w, const rslot *s, int j, char *err, size_t errlen) {
    const clt_pack *p = &r->pack;
    uint64_t i = s->rec[j];
    if (clt_pack_read(p, i, w->rec, err, errlen)) return -1;
    const uint8_t *pix = w->rec;
    if (p->encoding == CLT_PACK_JPEG) {
        if (clt_jpeg_decode_into(w->jpeg, w->rec, p->index[i].size, p->c, w->pix, p->w, p->h, err, errlen) < 0) {
            size_t len = strlen(err);
            snprintf(err + len, errlen - len, " (record %llu)", (unsigned long long)i);
            return -1;
        }
        pix = w->pix;
    }
    int c = p->c, W = p->w, H = p->h, oh = r->oh, ow = r->ow, y0 = s->y0[j], x0 = s->x0[j], mirror = s->mirror[j];
    size_t plane = (size_t)s->n * oh * ow, mplane = (size_t)H * W;
    float scale = r->cfg.scale;
    /* One pass over each source row writes all channels (the source is interleaved); mirroring puts the value
       read at x at ow-1-x, with the mean taken where the pixel was read, as Caffe does. */
    for (int y = 0; y < oh; y++) {
        const uint8_t *src = pix + ((size_t)(y0 + y) * W + x0) * c;
        const float *m0 = r->mean ? r->mean + (size_t)(y0 + y) * W + x0 : r->zero_row;
        float *d0 = s->images + ((size_t)j * oh + y) * ow;
        if (c == 1) {
            if (mirror)
                for (int x = 0; x < ow; x++) d0[ow - 1 - x] = ((float)src[x] - m0[x]) * scale;
            else
                for (int x = 0; x < ow; x++) d0[x] = ((float)src[x] - m0[x]) * scale;
            continue;
        }
        const float *m1 = r->mean ? m0 + mplane : m0, *m2 = r->mean ? m0 + 2 * mplane : m0;
        float *d1 = d0 + plane, *d2 = d0 + 2 * plane;
        if (mirror) {
            for (int x = 0; x < ow; x++) {
                int o = ow - 1 - x;
                d0[o] = ((float)src[3 * x] - m0[x]) * scale;
                d1[o] = ((float)src[3 * x + 1] - m1[x]) * scale;
                d2[o] = ((float)src[3 * x + 2] - m2[x]) * scale;
            }
        } else {
            for (int x = 0; x < ow; x++) {
                d0[x] = ((float)src[3 * x] - m0[x]) * scale;
                d1[x] = ((float)src[3 * x + 1] - m1[x]) * scale;
                d2[x] = ((float)src[3 * x + 2] - m2[x]) * scale;
            }
        }
    }
    s->labels[j] = p->index[i].label;
    return 0;
}

static rslot *pick(clt_reader *r) {
    rslot *val = &r->slots[r->depth], *best = NULL;
    if (val->state == SLOT_ACTIVE && val->next < val->limit) return val;
    for (int k = 0; k < r->depth; k++) {
        rslot *s = &r->slots[k];
        if (s->state == SLOT_ACTIVE && s->next < s->limit && (!best || s->iter < best->iter)) best = s;
    }
    return best;
}

static void *worker_main(void *arg) {
    rworker *w = arg;
    clt_reader *r = w->r;
    char err[384];
    pthread_mutex_lock(&r->mu);
    for (;;) {
        rslot *s;
        while (!r->stop && !(s = pick(r))) pthread_cond_wait(&r->work, &r->mu);
        if (r->stop) break;
        int a = s->next, b = CLT_MIN(s->limit, a + r->chunk);
        s->next = b;
        pthread_mutex_unlock(&r->mu);
        int bad = 0;
        for (int j = a; j < b && !bad; j++) bad = load_image(r, w, s, j, err, sizeof err) != 0;
        pthread_mutex_lock(&r->mu);
        if (bad && !s->failed) {
            s->failed = 1;
            snprintf(s->err, sizeof s->err, "%s", err);
        }
        s->done += b - a;
        if (s->done == s->next) pthread_cond_broadcast(&r->done);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ---- the caller's side ---- */

/* Makes the training slots hold iterations [from, from + depth), keeping those already planned. Slots
   holding other iterations are abandoned once the work already claimed from them has finished. */
static void ensure(clt_reader *r, uint64_t from) {
    pthread_mutex_lock(&r->mu);
    for (int k = 0; k < r->depth; k++) {
        rslot *s = &r->slots[k];
        if (s->state == SLOT_ACTIVE && (s->iter < from || s->iter - from >= (uint64_t)r->depth)) {
            s->limit = s->next; /* no further claims; done catches up with what was claimed */
            while (s->done < s->next) pthread_cond_wait(&r->done, &r->mu);
            s->state = SLOT_FREE;
        }
    }
    pthread_mutex_unlock(&r->mu);
    /* free slots are the caller's alone, so planning runs unlocked and workers keep decoding meanwhile */
    for (uint64_t it = from; it < from + (uint64_t)r->depth; it++) {
        int have = 0, free_slot = -1;
        for (int k = 0; k < r->depth; k++) {
            if (r->slots[k].state == SLOT_ACTIVE && r->slots[k].iter == it) have = 1;
            if (r->slots[k].state == SLOT_FREE && free_slot < 0) free_slot = k;
        }
        if (have || free_slot < 0) continue;
        rslot *s = &r->slots[free_slot];
        plan_train(r, s, it);
        pthread_mutex_lock(&r->mu);
        s->state = SLOT_ACTIVE;
        pthread_cond_broadcast(&r->work);
        pthread_mutex_unlock(&r->mu);
    }
}

/* Waits for slot s to finish; returns its error state and frees it. */
static int finish(clt_reader *r, rslot *s, const char *what) {
    pthread_mutex_lock(&r->mu);
    while (s->done < s->n) pthread_cond_wait(&r->done, &r->mu);
    int failed = s->failed;
    if (failed) clt_error("pack %s: %s batch: %s", r->pack.path, what, s->err);
    pthread_mutex_unlock(&r->mu);
    return failed ? -1 : 0;
}

int clt_reader_train_batch(clt_reader *r, uint64_t iter, float *images, int *labels) {
    ensure(r, iter);
    rslot *s = NULL;
    for (int k = 0; k < r->depth; k++)
        if (r->slots[k].state == SLOT_ACTIVE && r->slots[k].iter == iter) s = &r->slots[k];
    int rc = finish(r, s, "training");
    if (rc == 0) {
        memcpy(images, s->images, (size_t)r->oc * s->n * r->oh * r->ow * sizeof(float));
        memcpy(labels, s->labels, (size_t)s->n * sizeof(int));
    }
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_FREE;
    pthread_mutex_unlock(&r->mu);
    ensure(r, iter + 1);
    return rc;
}

int clt_reader_val_batch(clt_reader *r, size_t start, int count, float *images, int *labels) {
    if (count < 1 || start > r->pack.count || (uint64_t)count > r->pack.count - start) {
        clt_error("pack %s: validation images [%zu, %zu) are outside its %llu images", r->pack.path, start,
                  start + (size_t)(count > 0 ? count : 0), (unsigned long long)r->pack.count);
        return -1;
    }
    rslot *s = &r->slots[r->depth];
    slot_reserve(s, count);
    s->n = count;
    s->images = images;
    s->labels = labels;
    int range_y = r->pack.h - r->oh + 1, range_x = r->pack.w - r->ow + 1;
    for (int j = 0; j < count; j++) {
        s->rec[j] = start + (size_t)j;
        s->y0[j] = (range_y - 1) / 2, s->x0[j] = (range_x - 1) / 2, s->mirror[j] = 0;
    }
    s->next = s->done = s->failed = 0;
    s->limit = count;
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_ACTIVE;
    pthread_cond_broadcast(&r->work);
    pthread_mutex_unlock(&r->mu);
    int rc = finish(r, s, "validation");
    pthread_mutex_lock(&r->mu);
    s->state = SLOT_FREE;
    s->images = NULL, s->labels = NULL;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void clt_reader_close(clt_reader *r) {
    if (!r) return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->work);
    pthread_mutex_unlock(&r->mu);
    for (int t = 0; t < r->started; t++) pthread_join(r->workers[t].thread, NULL);
    for (int t = 0; t < r->threads; t++) {
        clt_jpeg_free(r->workers[t].jpeg);
        free(r->workers[t].rec);
        free(r->workers[t].pix);
    }
    for (int k = 0; r->slots && k <= r->depth; k++) {
        rslot *s = &r->slots[k];
        if (k < r->depth) free(s->images), free(s->labels);
        free(s->rec), free(s->y0), free(s->x0), free(s->mirror);
    }
    for (int k = 0; k < PERM_CACHE; k++) free(r->perm[k]);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->work);
    pthread_cond_destroy(&r->done);
    free(r->slots);
    free(r->workers);
    free(r->mean);
    free(r->zero_row);
    clt_pack_close(&r->pack);
    free(r);
}

int clt_reader_open(clt_reader **out, const clt_reader_config *cfg) {
    *out = NULL;
    const char *path = cfg->pack_path ? cfg->pack_path : "(null)";
    if (!cfg->pack_path) {
        clt_error("reader: no pack given");
        return -1;
    }
    if (cfg->batch < 1 || cfg->batch > MAX_BATCH || cfg->crop < 0 || cfg->threads < 0 || cfg->threads > 1024 || cfg->prefetch < 0 ||
        cfg->prefetch > 64 || !(cfg->scale == cfg->scale)) {
        clt_error("reader for %s: batch %d (1..%d), crop %d, threads %d (0..1024), prefetch %d (0..64) or scale out of range", path,
                  cfg->batch, MAX_BATCH, cfg->crop, cfg->threads, cfg->prefetch);
        return -1;
    }
    clt_reader *r = clt_calloc(1, sizeof *r);
    r->cfg = *cfg;
    r->pack.fd = -1;
    if (clt_pack_open(&r->pack, cfg->pack_path)) {
        free(r);
        return -1;
    }
    const clt_pack *p = &r->pack;
    if (p->count > UINT32_MAX) {
        clt_error("pack %s: %llu images is more than the reader handles (2^32 - 1)", path, (unsigned long long)p->count);
        clt_pack_close(&r->pack);
        free(r);
        return -1;
    }
    if (cfg->crop > p->h || cfg->crop > p->w) {
        clt_error("reader: crop %d is larger than the %d×%d images of pack %s", cfg->crop, p->h, p->w, path);
        clt_pack_close(&r->pack);
        free(r);
        return -1;
    }
    if (cfg->mean_path) {
        int c, h, w;
        if (clt_mean_read(cfg->mean_path, &c, &h, &w, NULL, &r->mean)) {
            clt_pack_close(&r->pack);
            free(r);
            return -1;
        }
        if (c != p->c || h != p->h || w != p->w) {
            clt_error("the mean image %s is %d×%d×%d but pack %s holds %d×%d×%d images",
                      cfg->mean_origin ? cfg->mean_origin : cfg->mean_path, c, h, w, path, p->c, p->h, p->w);
            free(r->mean);
            clt_pack_close(&r->pack);
            free(r);
            return -1;
        }
    }
    r->zero_row = clt_calloc((size_t)p->w, sizeof(float));
    r->oc = p->c;
    r->oh = cfg->crop ? cfg->crop : p->h;
    r->ow = cfg->crop ? cfg->crop : p->w;
    size_t batch_bytes = (size_t)r->oc * r->oh * r->ow * sizeof(float) * (size_t)cfg->batch;
    r->depth = cfg->prefetch ? cfg->prefetch : (int)CLT_MAX(2, CLT_MIN(8, ((size_t)512 << 20) / batch_bytes));
    /* Said here, with the sizes, rather than as an anonymous allocation failure or the OOM killer
       later: the prefetch buffers are written as soon as training starts. */
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    double need = (double)batch_bytes * r->depth, have = pages > 0 && page > 0 ? (double)pages * page : 0;
    if (have > 0 && need > have) {
        clt_error("reader for %s: %d prefetch buffers of a %d-image batch of %d×%d×%d floats need %.0f bytes, more "
                  "than this machine's %.0f bytes of memory; lower the batch size",
                  path, r->depth, cfg->batch, r->oc, r->oh, r->ow, need, have);
        clt_pack_close(&r->pack);
        free(r->mean);
        free(r->zero_row);
        free(r);
        return -1;
    }
    /* a raw image is a memcpy away from done, so workers take several per lock round trip */
    r->chunk = p->encoding == CLT_PACK_RAW ? (int)CLT_MAX(1, CLT_MIN(64, 65536 / (p->c * p->h * p->w))) : 1;
    r->threads = cfg->threads ? cfg->threads : clt_cpu_count();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->work, NULL);
    pthread_cond_init(&r->done, NULL);
    r->slots = clt_calloc((size_t)r->depth + 1, sizeof *r->slots);
    for (int k = 0; k < r->depth; k++) {
        r->slots[k].images = clt_malloc(batch_bytes);
        r->slots[k].labels = clt_malloc((size_t)cfg->batch * sizeof(int));
        slot_reserve(&r->slots[k], cfg->batch);
    }
    r->workers = clt_calloc((size_t)r->threads, sizeof *r->workers);
    for (int t = 0; t < r->threads; t++) {
        rworker *w = &r->workers[t];
        w->r = r;
        w->rec = clt_malloc(p->max_record);
        w->pix = clt_malloc((size_t)p->c * p->h * p->w);
        if (p->encoding == CLT_PACK_JPEG && !(w->jpeg = clt_jpeg_new())) {
            clt_reader_close(r);
            return -1;
        }
    }
    for (int t = 0; t < r->threads; t++) {
        if (pthread_create(&r->workers[t].thread, NULL, worker_main, &r->workers[t]) != 0) {
            clt_error("reader for %s: cannot start decode thread %d", path, t);
            clt_reader_close(r);
            return -1;
        }
        r->started++;
    }
    *out = r;
    return 0;
}
