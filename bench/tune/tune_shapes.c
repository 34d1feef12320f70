/* tune_shapes.c — the nets' GEMM shapes and GEMM test cases: what the bench measures and the tuner
   optimises, so both look at the calls the layers really make. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device/gemm.h"
#include "tune/tune.h"

typedef struct conv_def {
    const char *name;
    size_t m, k, howo; /* per group: output channels, input channels × kernel area, output pixels */
    int groups;
    bool first; /* the input layer computes no input gradient */
} conv_def;

typedef struct fc_def {
    const char *name;
    size_t out, in;
} fc_def;

static const conv_def small_convs[] = {{"conv1", 32, 25, 784, 1, true},   {"conv2", 32, 400, 196, 2, false},
                                       {"conv3", 96, 576, 49, 1, false},  {"conv4", 48, 432, 49, 2, false},
                                       {"conv5", 32, 432, 49, 2, false}};
static const fc_def small_fcs[] = {{"fc6", 256, 576}, {"fc7", 256, 256}, {"fc8", 5, 256}};
static const conv_def caffe_convs[] = {{"conv1", 96, 363, 3025, 1, true},    {"conv2", 128, 1200, 729, 2, false},
                                       {"conv3", 384, 2304, 169, 1, false}, {"conv4", 192, 1728, 169, 2, false},
                                       {"conv5", 128, 1728, 169, 2, false}};
static const fc_def caffe_fcs[] = {{"fc6", 4096, 9216}, {"fc7", 4096, 4096}, {"fc8", 1000, 4096}};

static void put(clt_gemm_shape *out, int *n, int max, const char *net, const char *name, int groups,
                const char *form, bool ta, bool tb, size_t m, size_t nn, size_t k, size_t lda, size_t ldb, size_t ldc,
                size_t a_off, size_t b_off, size_t c_off, float beta) {
    if (*n >= max) {
        (*n)++;
        return;
    }
    clt_gemm_shape *s = &out[(*n)++];
    memset(s, 0, sizeof *s);
    snprintf(s->net, sizeof s->net, "%s", net);
    snprintf(s->name, sizeof s->name, groups > 1 ? "%s/g%d" : "%s", name, groups);
    snprintf(s->form, sizeof s->form, "%s", form);
    s->ta = ta, s->tb = tb, s->m = m, s->n = nn, s->k = k, s->lda = lda, s->ldb = ldb, s->ldc = ldc;
    s->a_off = a_off, s->b_off = b_off, s->c_off = c_off, s->beta = beta;
}

int clt_gemm_shapes(const char *net, size_t chunk, bool conv_dweight_nn, clt_gemm_shape *out, int max) {
    const conv_def *convs;
    const fc_def *fcs;
    size_t nconv, nfc, batch;
    if (!strcmp(net, "small")) {
        convs = small_convs, nconv = CLT_ARRAY_LEN(small_convs), fcs = small_fcs, nfc = CLT_ARRAY_LEN(small_fcs);
        batch = 128;
        chunk = batch; /* the small net's columns fit for the whole batch */
    } else if (!strcmp(net, "caffenet")) {
        convs = caffe_convs, nconv = CLT_ARRAY_LEN(caffe_convs), fcs = caffe_fcs, nfc = CLT_ARRAY_LEN(caffe_fcs);
        batch = 256;
        if (chunk == 0 || chunk > batch) chunk = batch;
    } else {
        return -1;
    }
    int n = 0;
    for (size_t i = 0; i < nconv; i++) {
        const conv_def *c = &convs[i];
        size_t cols = chunk * c->howo;
        /* Activations are CNHW: a chunk of images is a column range of each channel's row, so
           whenever the batch is chunked the output rows are strided and start at an offset (the
           second chunk stands for any). The column matrix is the chunk's own, dense. */
        size_t ld = chunk < batch ? 2 * cols : cols, off = chunk < batch ? cols : 0;
        /* A grouped layer's shapes are its last group's: its blocks of the weights, the column
           matrix and the output sit at offsets, which CLBlast treats differently from offset 0. */
        size_t g = (size_t)c->groups - 1;
        size_t w_off = g * c->m * c->k, col_off = g * c->k * cols, out_off = off + g * c->m * ld;
        put(out, &n, max, net, c->name, c->groups, "fwd", false, false, c->m, cols, c->k, c->k, cols, ld, w_off,
            col_off, out_off, 0.0f);
        if (!c->first)
            put(out, &n, max, net, c->name, c->groups, "bwd-d", true, false, c->k, cols, c->m, c->k, ld, cols, w_off,
                out_off, col_off, 0.0f);
        /* dout · colᵀ, or dout · colT from the transposed im2col block (as clt_conv_backward) */
        put(out, &n, max, net, c->name, c->groups, "bwd-w", false, !conv_dweight_nn, c->m, c->k, cols, ld,
            conv_dweight_nn ? c->k : cols, c->k, out_off, col_off, w_off, 1.0f);
    }
    for (size_t i = 0; i < nfc; i++) {
        const fc_def *f = &fcs[i];
        put(out, &n, max, net, f->name, 1, "fwd", false, true, batch, f->out, f->in, f->in, f->in, f->out, 0, 0, 0,
            0.0f);
        put(out, &n, max, net, f->name, 1, "bwd-d", false, false, batch, f->in, f->out, f->out, f->in, f->in, 0, 0, 0,
            0.0f);
        put(out, &n, max, net, f->name, 1, "bwd-w", true, false, f->out, f->in, batch, f->out, f->in, f->in, 0, 0, 0,
            1.0f);
    }
    return n;
}

/* ---- cases ---- */

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fill(float *x, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) x[i] = (float)((splitmix(&seed) >> 11) * (1.0 / 9007199254740992.0)) - 0.5f;
}

/* Floats a row-major matrix of `rows` rows with stride `ld` occupies from offset `off`. */
static size_t extent(size_t rows, size_t cols, size_t ld, size_t off) { return off + (rows - 1) * ld + cols; }

int clt_gemm_case_init(clt_device *d, clt_gemm_case *c, const clt_gemm_shape *s, uint64_t seed) {
    memset(c, 0, sizeof *c);
    c->s = *s;
    size_t ar = s->ta ? s->k : s->m, ac = s->ta ? s->m : s->k;
    size_t br = s->tb ? s->n : s->k, bc = s->tb ? s->k : s->n;
    c->na = extent(ar, ac, s->lda, s->a_off);
    c->nb = extent(br, bc, s->ldb, s->b_off);
    /* C's buffer covers whole strided rows, so writes outside the sub-matrix can be caught. */
    c->nc = s->c_off + s->m * s->ldc;
    c->ha = clt_malloc(c->na * sizeof(float));
    c->hb = clt_malloc(c->nb * sizeof(float));
    c->hc = clt_malloc(c->nc * sizeof(float));
    fill(c->ha, c->na, seed);
    fill(c->hb, c->nb, seed + 1);
    fill(c->hc, c->nc, seed + 2);
    c->a = clt_alloc(d, c->na * sizeof(float), "bench A");
    c->b = clt_alloc(d, c->nb * sizeof(float), "bench B");
    c->c = clt_alloc(d, c->nc * sizeof(float), "bench C");
    clt_upload(d, c->a, 0, c->ha, c->na * sizeof(float));
    clt_upload(d, c->b, 0, c->hb, c->nb * sizeof(float));
    clt_upload(d, c->c, 0, c->hc, c->nc * sizeof(float));
    return clt_device_ok(d) ? 0 : -1;
}

void clt_gemm_case_reset(clt_device *d, clt_gemm_case *c) { clt_upload(d, c->c, 0, c->hc, c->nc * sizeof(float)); }

void clt_gemm_case_run(clt_device *d, clt_gemm_case *c) {
    const clt_gemm_shape *s = &c->s;
    char what[64];
    snprintf(what, sizeof what, "%s %s %s", s->net, s->name, s->form);
    clt_gemm(d, s->ta, s->tb, s->m, s->n, s->k, 1.0f, clt_at(c->a, s->a_off), s->lda, clt_at(c->b, s->b_off), s->ldb,
             s->beta, clt_at(c->c, s->c_off), s->ldc, what);
}

double clt_gemm_case_time(clt_device *d, clt_gemm_case *c) {
    clt_finish(d);
    double t0 = clt_now();
    clt_gemm_case_run(d, c);
    clt_finish(d);
    double t = clt_now() - t0;
    return clt_device_ok(d) ? t : -1.0;
}

bool clt_gemm_case_check(clt_device *d, clt_gemm_case *c, char *why, size_t why_len) {
    const clt_gemm_shape *s = &c->s;
    float *got = clt_malloc(c->nc * sizeof(float));
    clt_download(d, got, c->c, 0, c->nc * sizeof(float));
    if (!clt_device_ok(d)) {
        snprintf(why, why_len, "%s", d->error);
        free(got);
        return false;
    }
    bool ok = true;
    uint64_t seed = 12345;
    /* Corners and edges are where padding and tile remainders go wrong; random points cover the rest. */
    for (int t = 0; t < 96 && ok; t++) {
        size_t i, j;
        if (t < 4) i = (t & 1) ? s->m - 1 : 0, j = (t & 2) ? s->n - 1 : 0;
        else i = splitmix(&seed) % s->m, j = splitmix(&seed) % s->n;
        double want = 0, mag = 0;
        for (size_t p = 0; p < s->k; p++) {
            double av = s->ta ? c->ha[s->a_off + p * s->lda + i] : c->ha[s->a_off + i * s->lda + p];
            double bv = s->tb ? c->hb[s->b_off + j * s->ldb + p] : c->hb[s->b_off + p * s->ldb + j];
            want += av * bv;
            mag += fabs(av * bv);
        }
        size_t ci = s->c_off + i * s->ldc + j;
        want += s->beta * (double)c->hc[ci];
        mag += fabs(s->beta * (double)c->hc[ci]);
        double err = fabs(got[ci] - want);
        /* float32 rounding grows like sqrt(k) for sums of mixed signs */
        if (!(err <= 2e-7 * (sqrt((double)s->k) + 4) * mag + 1e-6)) {
            snprintf(why, why_len, "C[%zu,%zu] = %.7g, want %.7g (|error| %.3g, scale %.3g)", i, j, got[ci], want,
                     err, mag);
            ok = false;
        }
    }
    /* Everything outside the sub-matrix: before the offset, and each row's tail past n. */
    for (size_t x = 0; x < c->nc && ok; x++) {
        bool inside = x >= s->c_off && (x - s->c_off) / s->ldc < s->m && (x - s->c_off) % s->ldc < s->n;
        if (!inside && got[x] != c->hc[x]) {
            snprintf(why, why_len, "wrote outside C: float %zu changed from %g to %g", x, c->hc[x], got[x]);
            ok = false;
        }
    }
    free(got);
    return ok;
}

void clt_gemm_case_free(clt_gemm_case *c) {
    clt_free(c->a), clt_free(c->b), clt_free(c->c);
    free(c->ha), free(c->hb), free(c->hc);
    memset(c, 0, sizeof *c);
}
