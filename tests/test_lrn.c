/* test_lrn.c — LRN across channels on CNHW: forward and scale against the NCHW reference, backward
   against finite differences of the reference (and the analytic reference backward too), channel
   counts below the window, even window sizes, views at offsets, determinism.
   Tolerances: forward atol 1e-6 rtol 1e-5; device backward vs finite differences atol 1e-5 rtol 1e-4;
   reference backward vs finite differences atol 1e-8 rtol 1e-6. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "ref.h"
#include "testutil.h"

typedef struct lrn_ctx {
    int n, c, hw, size;
    double alpha, beta, k;
} lrn_ctx;

static void lrn_fn(void *ctx, const double *x, double *y) {
    const lrn_ctx *p = ctx;
    ref_lrn_forward(y, x, p->n, p->c, p->hw, p->size, p->alpha, p->beta, p->k);
}

/* The scale the forward keeps for backward, from its definition (the reference keeps it private). */
static void want_scale(double *scale, const double *x, int n, int c, int hw, int size, double alpha, double k) {
    int pre = (size - 1) / 2;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int s = 0; s < hw; s++) {
                double acc = 0;
                for (int j = ch - pre < 0 ? 0 : ch - pre; j <= ch - pre + size - 1 && j < c; j++)
                    acc += x[((size_t)i * c + j) * hw + s] * x[((size_t)i * c + j) * hw + s];
                scale[((size_t)i * c + ch) * hw + s] = k + alpha / size * acc;
            }
}

enum { OFF_IN = 1, OFF_OUT = 2, OFF_SCALE = 3, OFF_DOUT = 4, OFF_DIN = 5 }; /* views not at 0 */

static cl_mem upload_at(const float *x, size_t n, size_t off) {
    float *pad = clt_calloc(n + off, sizeof(float));
    memcpy(pad + off, x, n * sizeof(float));
    cl_mem m = t_upload(pad, n + off);
    free(pad);
    return m;
}

static float *download_at(cl_mem m, size_t n, size_t off) {
    float *pad = t_download(m, n + off), *x = clt_malloc(n * sizeof(float));
    memcpy(x, pad + off, n * sizeof(float));
    free(pad);
    return x;
}

/* Device forward and backward on CNHW data given and returned in CNHW. */
static void run_device(const clt_lrn *l, int n, const float *x, const float *dy, float **y, float **scale,
                       float **dx) {
    clt_device *d = t_device();
    size_t count = (size_t)l->c * n * l->h * l->w;
    cl_mem bx = upload_at(x, count, OFF_IN), bdy = upload_at(dy, count, OFF_DOUT);
    cl_mem by = t_zeros(count + OFF_OUT), bs = t_zeros(count + OFF_SCALE), bdx = t_zeros(count + OFF_DIN);
    clt_lrn_forward(d, l, n, clt_at(by, OFF_OUT), clt_at(bx, OFF_IN), clt_at(bs, OFF_SCALE));
    clt_lrn_backward(d, l, n, clt_at(bdx, OFF_DIN), clt_at(bdy, OFF_DOUT), clt_at(bx, OFF_IN), clt_at(by, OFF_OUT),
                     clt_at(bs, OFF_SCALE));
    *y = download_at(by, count, OFF_OUT);
    *scale = download_at(bs, count, OFF_SCALE);
    *dx = download_at(bdx, count, OFF_DIN);
    clt_free(bx), clt_free(bdy), clt_free(by), clt_free(bs), clt_free(bdx);
}

static void check(int n, int c, int h, int w, int size, float alpha, float beta, float k, float lo, float hi,
                  uint64_t seed) {
    clt_lrn l = {.c = c, .h = h, .w = w, .size = size, .alpha = alpha, .beta = beta, .k = k};
    int hw = h * w;
    size_t count = (size_t)n * c * hw;
    char shape[160], name[256];
    snprintf(shape, sizeof shape, "c=%d n=%d h=%d w=%d size=%d alpha=%g beta=%g k=%g x in [%g,%g)", c, n, h, w, size,
             alpha, beta, k, lo, hi);

    float *x = clt_malloc(count * sizeof(float)), *dy = clt_malloc(count * sizeof(float));
    float *x_cnhw = clt_malloc(count * sizeof(float)), *dy_cnhw = clt_malloc(count * sizeof(float));
    t_fill(x, count, seed, lo, hi);
    t_fill(dy, count, seed + 1, -1, 1);
    t_nchw_to_cnhw(x_cnhw, x, n, c, hw);
    t_nchw_to_cnhw(dy_cnhw, dy, n, c, hw);
    float *y_c, *s_c, *dx_c;
    run_device(&l, n, x_cnhw, dy_cnhw, &y_c, &s_c, &dx_c);
    float *y = clt_malloc(count * sizeof(float)), *s = clt_malloc(count * sizeof(float));
    float *dx = clt_malloc(count * sizeof(float));
    t_cnhw_to_nchw(y, y_c, n, c, hw);
    t_cnhw_to_nchw(s, s_c, n, c, hw);
    t_cnhw_to_nchw(dx, dx_c, n, c, hw);

    double *xd = t_to_double(x, count), *dyd = t_to_double(dy, count);
    double *want = clt_malloc(count * sizeof(double)), *want_s = clt_malloc(count * sizeof(double));
    double *grad = clt_malloc(count * sizeof(double)), *ref_dx = clt_malloc(count * sizeof(double));
    ref_lrn_forward(want, xd, n, c, hw, size, alpha, beta, k);
    want_scale(want_s, xd, n, c, hw, size, alpha, k);
    ref_lrn_backward(ref_dx, dyd, xd, n, c, hw, size, alpha, beta, k);
    lrn_ctx ctx = {n, c, hw, size, alpha, beta, k};
    double range = fabs(lo) > fabs(hi) ? fabs(lo) : fabs(hi);
    t_numeric_grad(lrn_fn, &ctx, xd, count, dyd, count, 1e-4 * range, grad);

    snprintf(name, sizeof name, "lrn forward %s", shape);
    t_close(name, y, want, count, 1e-6, 1e-5);
    snprintf(name, sizeof name, "lrn scale %s", shape);
    t_close(name, s, want_s, count, 1e-6, 1e-5);
    snprintf(name, sizeof name, "lrn backward vs finite differences %s", shape);
    t_close(name, dx, grad, count, 1e-5, 1e-4);
    snprintf(name, sizeof name, "lrn reference backward vs finite differences %s", shape);
    t_close_d(name, ref_dx, grad, count, 1e-8, 1e-6);

    float *y2, *s2, *dx2;
    run_device(&l, n, x_cnhw, dy_cnhw, &y2, &s2, &dx2);
    snprintf(name, sizeof name, "lrn forward deterministic %s", shape);
    t_same_bits(name, y2, y_c, count);
    snprintf(name, sizeof name, "lrn backward deterministic %s", shape);
    t_same_bits(name, dx2, dx_c, count);

    free(x), free(dy), free(x_cnhw), free(dy_cnhw), free(y_c), free(s_c), free(dx_c), free(y), free(s), free(dx);
    free(xd), free(dyd), free(want), free(want_s), free(grad), free(ref_dx), free(y2), free(s2), free(dx2);
}

int main(void) {
    /* CaffeNet's norm1/norm2 parameters; activations of tens make the cross-channel term matter */
    check(2, 7, 5, 3, 5, 1e-4f, 0.75f, 1, 0, 60, 1);
    check(3, 10, 7, 7, 5, 1e-4f, 0.75f, 1, -40, 40, 2);
    check(3, 3, 4, 4, 5, 1e-4f, 0.75f, 1, 0, 50, 3); /* fewer channels than the window */
    check(2, 1, 3, 5, 5, 1e-4f, 0.75f, 1, -50, 50, 4); /* a single channel */
    /* strong normalisation, so the cross term dominates the gradient */
    check(1, 8, 3, 5, 3, 1, 0.75f, 2, -1, 1, 5);
    check(2, 6, 2, 3, 4, 0.5f, 0.6f, 1.5f, -1, 1, 6); /* even window: asymmetric neighbourhood */
    check(2, 9, 1, 1, 7, 2, 0.9f, 1, -1, 1, 7);
    return t_done();
}
