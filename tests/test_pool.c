/* test_pool.c — max pooling: output sizes, forward and argmax mask against the reference, backward
   against finite differences (inputs without ties), tie-breaking, views at offsets, determinism.
   Tolerances: forward and mask exact; device backward atol 1e-6 rtol 1e-5 (it sums a few floats);
   reference backward vs finite differences atol 1e-9. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "util/mt19937.h"
#include "ref.h"
#include "testutil.h"

typedef struct pool_ctx {
    int planes, h, w, k, stride, ho, wo;
} pool_ctx;

static void pool_fn(void *ctx, const double *x, double *y) {
    const pool_ctx *p = ctx;
    ref_pool_forward(y, x, p->planes, p->h, p->w, p->k, p->stride, p->ho, p->wo);
}

/* A shuffled ladder of distinct values in [−1, 1): every window has a unique maximum, separated from
   the runner-up by at least `*gap`, so central differences with eps < gap/2 never flip an argmax. */
static void distinct_fill(float *x, size_t n, uint64_t seed, double *gap) {
    size_t *perm = clt_malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    uint64_t s = seed;
    for (size_t i = n; i > 1; i--) {
        size_t j = clt_mix64(s++) % i, t = perm[i - 1];
        perm[i - 1] = perm[j], perm[j] = t;
    }
    for (size_t i = 0; i < n; i++) x[i] = (float)((perm[i] + 0.5) / n * 2 - 1);
    *gap = 2.0 / n;
    free(perm);
}

enum { IN_OFF = 3, OUT_OFF = 5, DIN_OFF = 7, DOUT_OFF = 2 }; /* views that do not start at 0 */

typedef struct pool_run {
    float *y, *dx;
    int *mask;
} pool_run;

static pool_run run_device(const clt_pool *l, int n, const float *x, const float *dy) {
    clt_device *d = t_device();
    size_t nin = (size_t)l->c * n * l->h * l->w, nout = (size_t)l->c * n * l->ho * l->wo;
    float *xpad = clt_calloc(nin + IN_OFF, sizeof(float)), *dypad = clt_calloc(nout + DOUT_OFF, sizeof(float));
    memcpy(xpad + IN_OFF, x, nin * sizeof(float));
    memcpy(dypad + DOUT_OFF, dy, nout * sizeof(float));
    cl_mem bx = t_upload(xpad, nin + IN_OFF), bdy = t_upload(dypad, nout + DOUT_OFF);
    cl_mem by = t_zeros(nout + OUT_OFF), bdx = t_zeros(nin + DIN_OFF), bmask = t_zeros(nout);
    clt_pool_forward(d, l, n, clt_at(by, OUT_OFF), clt_at(bx, IN_OFF), bmask);
    clt_pool_backward(d, l, n, clt_at(bdx, DIN_OFF), clt_at(bdy, DOUT_OFF), bmask);
    float *y = t_download(by, nout + OUT_OFF), *dx = t_download(bdx, nin + DIN_OFF);
    pool_run r = {clt_malloc(nout * sizeof(float)), clt_malloc(nin * sizeof(float)), clt_malloc(nout * sizeof(int))};
    memcpy(r.y, y + OUT_OFF, nout * sizeof(float));
    memcpy(r.dx, dx + DIN_OFF, nin * sizeof(float));
    clt_download(d, r.mask, bmask, 0, nout * sizeof(int));
    clt_free(bx), clt_free(bdy), clt_free(by), clt_free(bdx), clt_free(bmask);
    free(xpad), free(dypad), free(y), free(dx);
    return r;
}

static void free_run(pool_run r) { free(r.y), free(r.dx), free(r.mask); }

/* Every mask entry lies inside its (clipped) window and points at the value the output holds. */
static bool mask_consistent(const clt_pool *l, int planes, const float *x, const pool_run *r) {
    for (int pl = 0; pl < planes; pl++)
        for (int oy = 0; oy < l->ho; oy++)
            for (int ox = 0; ox < l->wo; ox++) {
                size_t o = ((size_t)pl * l->ho + oy) * l->wo + ox;
                int m = r->mask[o], y = m / l->w, xx = m % l->w;
                if (m < 0 || y < oy * l->stride || y >= oy * l->stride + l->k || y >= l->h ||
                    xx < ox * l->stride || xx >= ox * l->stride + l->k || xx >= l->w)
                    return false;
                if (memcmp(&x[(size_t)pl * l->h * l->w + m], &r->y[o], sizeof(float)) != 0) return false;
            }
    return true;
}

static void check(int c, int n, int h, int w, int k, int stride, uint64_t seed) {
    clt_pool l;
    clt_pool_init(&l, c, h, w, k, stride);
    int planes = c * n;
    size_t nin = (size_t)planes * h * w, nout = (size_t)planes * l.ho * l.wo;
    char shape[96], name[160];
    snprintf(shape, sizeof shape, "c=%d n=%d h=%d w=%d k=%d s=%d (out %dx%d)", c, n, h, w, k, stride, l.ho, l.wo);

    float *x = clt_malloc(nin * sizeof(float)), *dy = clt_malloc(nout * sizeof(float));
    double gap;
    distinct_fill(x, nin, seed, &gap);
    t_fill(dy, nout, seed + 1, -1, 1);
    pool_run r = run_device(&l, n, x, dy);

    double *xd = t_to_double(x, nin), *dyd = t_to_double(dy, nout);
    double *want = clt_malloc(nout * sizeof(double)), *grad = clt_malloc(nin * sizeof(double));
    double *ref_dx = clt_malloc(nin * sizeof(double));
    ref_pool_forward(want, xd, planes, h, w, k, stride, l.ho, l.wo);
    ref_pool_backward(ref_dx, dyd, xd, planes, h, w, k, stride, l.ho, l.wo);
    pool_ctx ctx = {planes, h, w, k, stride, l.ho, l.wo};
    t_numeric_grad(pool_fn, &ctx, xd, nin, dyd, nout, gap / 4, grad);

    snprintf(name, sizeof name, "pool forward %s", shape);
    t_close(name, r.y, want, nout, 0, 0);
    snprintf(name, sizeof name, "pool mask inside its window and at the maximum %s", shape);
    t_check(mask_consistent(&l, planes, x, &r), "%s", name);
    snprintf(name, sizeof name, "pool backward vs finite differences %s", shape);
    t_close(name, r.dx, grad, nin, 1e-6, 1e-5);
    snprintf(name, sizeof name, "pool reference backward vs finite differences %s", shape);
    t_close_d(name, ref_dx, grad, nin, 1e-9, 1e-9);

    pool_run r2 = run_device(&l, n, x, dy);
    snprintf(name, sizeof name, "pool forward deterministic %s", shape);
    t_same_bits(name, r2.y, r.y, nout);
    snprintf(name, sizeof name, "pool backward deterministic %s", shape);
    t_same_bits(name, r2.dx, r.dx, nin);
    snprintf(name, sizeof name, "pool mask deterministic %s", shape);
    t_check(memcmp(r2.mask, r.mask, nout * sizeof(int)) == 0, "%s", name);

    free_run(r), free_run(r2);
    free(x), free(dy), free(xd), free(dyd), free(want), free(grad), free(ref_dx);
}

/* Ties: inputs from {0, 1, 2} (many equal maxima) must route each gradient to the first maximum in
   row-major window order, exactly as the reference; a constant input puts every argmax at the
   window's top-left corner. */
static void check_ties(int c, int n, int h, int w, int k, int stride, uint64_t seed) {
    clt_pool l;
    clt_pool_init(&l, c, h, w, k, stride);
    int planes = c * n;
    size_t nin = (size_t)planes * h * w, nout = (size_t)planes * l.ho * l.wo;
    char shape[96], name[160];
    snprintf(shape, sizeof shape, "c=%d n=%d h=%d w=%d k=%d s=%d", c, n, h, w, k, stride);
    float *x = clt_malloc(nin * sizeof(float)), *dy = clt_malloc(nout * sizeof(float));
    t_fill(x, nin, seed, 0, 3);
    for (size_t i = 0; i < nin; i++) x[i] = (float)(int)x[i];
    t_fill(dy, nout, seed + 1, -1, 1);
    pool_run r = run_device(&l, n, x, dy);
    double *xd = t_to_double(x, nin), *dyd = t_to_double(dy, nout), *want = clt_malloc(nin * sizeof(double));
    ref_pool_backward(want, dyd, xd, planes, h, w, k, stride, l.ho, l.wo);
    snprintf(name, sizeof name, "pool backward with ties routes to the first maximum %s", shape);
    t_close(name, r.dx, want, nin, 1e-6, 1e-5);
    free_run(r);

    for (size_t i = 0; i < nin; i++) x[i] = 0.5f;
    r = run_device(&l, n, x, dy);
    bool corner = true;
    for (size_t o = 0; o < nout; o++) {
        int oy = (int)(o / l.wo % l.ho), ox = (int)(o % l.wo);
        if (r.mask[o] != oy * stride * w + ox * stride) corner = false;
    }
    snprintf(name, sizeof name, "pool mask of a constant input is each window's first element %s", shape);
    t_check(corner, "%s", name);
    free_run(r);
    free(x), free(dy), free(xd), free(dyd), free(want);
}

static void check_size(int in, int k, int stride, int want) {
    clt_pool l;
    clt_pool_init(&l, 1, in, in + 1, k, stride);
    clt_pool l2;
    clt_pool_init(&l2, 1, in + 1, in, k, stride);
    t_check(l.ho == want && l2.wo == want, "pool output size in=%d k=%d s=%d is %d (got %d, %d)", in, k, stride, want,
            l.ho, l2.wo);
}

int main(void) {
    check_size(55, 3, 2, 27); /* CaffeNet pool1 */
    check_size(27, 3, 2, 13); /* pool2 */
    check_size(13, 3, 2, 6);  /* pool5 */
    check_size(6, 3, 2, 3);   /* rounded up: last window clipped to 2 rows */
    check_size(7, 3, 2, 3);
    check_size(8, 3, 2, 4); /* rounded up: last window clipped */
    check_size(28, 2, 2, 14);
    check_size(3, 3, 2, 1);
    check_size(6, 2, 3, 2); /* k < stride: a third window would start past the input */
    check_size(7, 2, 3, 3); /* k < stride, last window clipped to one column */

    check(3, 2, 7, 7, 3, 2, 1);
    check(2, 3, 6, 6, 3, 2, 2);  /* clipped last window */
    check(2, 2, 8, 5, 3, 2, 3);  /* clipped in rows, odd width */
    check(1, 1, 13, 13, 3, 2, 4);
    check(4, 2, 6, 9, 2, 2, 5);
    check(2, 3, 7, 7, 2, 3, 6);  /* k < stride: gaps between windows */
    check(3, 1, 5, 5, 5, 1, 7);  /* one window covers the plane */
    check(1, 2, 55, 55, 3, 2, 8); /* CaffeNet pool1 plane */
    check(3, 2, 27, 27, 3, 2, 9); /* CaffeNet pool2 plane */

    check_ties(3, 2, 7, 7, 3, 2, 10);
    check_ties(2, 2, 6, 9, 3, 2, 11);
    check_ties(1, 3, 13, 13, 3, 2, 12);
    return t_done();
}
