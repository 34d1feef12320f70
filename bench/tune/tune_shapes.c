/* tune_shapes.c — the nets' GEMM shapes, derived from the net's layers (so [net] widths changes
   them), and GEMM test cases: what the bench measures and the tuner optimises, so both look at the
   calls the layers really make. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "device/gemm.h"
#include "net/net.h"
#include "tune/tune.h"

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

int clt_gemm_shapes(const clt_arch *arch, int batch, size_t chunk, bool conv_dweight_nn, clt_gemm_shape *out, int max) {
    clt_conv convs[5];
    clt_ip fcs[3];
    if (batch <= 0 || clt_arch_shapes(arch, convs, fcs) != 0) return -1;
    if (chunk == 0 || chunk > (size_t)batch) chunk = (size_t)batch;
    const char *net = arch->name;
    int n = 0;
    for (size_t i = 0; i < CLT_ARRAY_LEN(convs); i++) {
        const clt_conv *l = &convs[i];
        /* per group, as clt_conv_forward/backward call clt_gemm */
        size_t m = (size_t)(l->m / l->group), k = (size_t)(l->c / l->group) * l->k * l->k;
        size_t cols = chunk * l->ho * l->wo;
        char name[16];
        snprintf(name, sizeof name, "conv%zu", i + 1);
        /* Activations are CNHW: a chunk of images is a column range of each channel's row, so
           whenever the batch is chunked the output rows are strided and start at an offset (the
           second chunk stands for any). The column matrix is the chunk's own, dense. */
        size_t ld = chunk < (size_t)batch ? 2 * cols : cols, off = chunk < (size_t)batch ? cols : 0;
        /* A grouped layer's shapes are its last group's: its blocks of the weights, the column
           matrix and the output sit at offsets, which CLBlast treats differently from offset 0. */
        size_t g = (size_t)l->group - 1;
        size_t w_off = g * m * k, col_off = g * k * cols, out_off = off + g * m * ld;
        put(out, &n, max, net, name, l->group, "fwd", false, false, m, cols, k, k, cols, ld, w_off, col_off, out_off,
            0.0f);
        if (i > 0) /* the input layer computes no input gradient */
            put(out, &n, max, net, name, l->group, "bwd-d", true, false, k, cols, m, k, ld, cols, w_off, out_off,
                col_off, 0.0f);
        /* dout · colᵀ, or dout · colT from the transposed im2col block (as clt_conv_backward) */
        put(out, &n, max, net, name, l->group, "bwd-w", false, !conv_dweight_nn, m, k, cols, ld,
            conv_dweight_nn ? k : cols, k, out_off, col_off, w_off, 1.0f);
    }
    for (size_t i = 0; i < CLT_ARRAY_LEN(fcs); i++) {
        const clt_ip *f = &fcs[i];
        size_t b = (size_t)batch, in = (size_t)f->in, o = (size_t)f->out;
        char name[16];
        snprintf(name, sizeof name, "fc%zu", i + 6);
        put(out, &n, max, net, name, 1, "fwd", false, true, b, o, in, in, in, o, 0, 0, 0, 0.0f);
        put(out, &n, max, net, name, 1, "bwd-d", false, false, b, in, o, o, in, in, 0, 0, 0, 0.0f);
        put(out, &n, max, net, name, 1, "bwd-w", true, false, o, in, b, o, in, in, 0, 0, 0, 1.0f);
    }
    return n;
}

int clt_gemm_net_shapes(const char *net, size_t chunk, bool conv_dweight_nn, clt_gemm_shape *out, int max) {
    clt_arch a;
    int batch;
    if (!strcmp(net, "small")) {
        clt_arch_small(&a);
        a.fc[2] = 5; /* a half of Fashion-MNIST's classes, as the study */
        batch = 128;
        chunk = 0; /* the small net's columns fit for the whole batch */
    } else if (!strcmp(net, "caffenet")) {
        clt_arch_caffenet(&a);
        batch = 256;
    } else {
        return -1;
    }
    return clt_gemm_shapes(&a, batch, chunk, conv_dweight_nn, out, max);
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
