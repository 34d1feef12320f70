/* test_dropout.c — dropout: the device mask equals clt_dropout_keep on the host bit for bit, the kept
   fraction matches 1 − p within 5 standard deviations, forward values against the reference, backward
   against finite differences, seeds (same seed same bits, other seeds other masks, no shifted replay),
   in-place use, views at offsets, p = 0.
   Tolerances: forward and backward rtol 3e-7 (one float rounding of the scale and one of the product);
   backward vs finite differences atol 1e-6 rtol 1e-6; reference backward vs finite differences 1e-9. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "ref.h"
#include "testutil.h"

typedef struct dropout_ctx {
    size_t count;
    float p;
    uint64_t seed;
} dropout_ctx;

static void dropout_fn(void *ctx, const double *x, double *y) {
    const dropout_ctx *c = ctx;
    ref_dropout_forward(y, x, c->count, c->p, c->seed);
}

/* Device forward of x (all non-zero) with the input and output views at `off`; returns the output. */
static float *forward(const float *x, size_t count, float p, uint64_t seed, size_t off, bool in_place) {
    clt_device *d = t_device();
    float *pad = clt_calloc(count + off, sizeof(float));
    memcpy(pad + off, x, count * sizeof(float));
    cl_mem bx = t_upload(pad, count + off), by = in_place ? bx : t_zeros(count + off);
    clt_dropout_forward(d, count, clt_at(by, off), clt_at(bx, off), p, seed);
    float *ypad = t_download(by, count + off), *y = clt_malloc(count * sizeof(float));
    memcpy(y, ypad + off, count * sizeof(float));
    clt_free(bx);
    if (!in_place) clt_free(by);
    free(pad), free(ypad);
    return y;
}

static float *backward(const float *dy, size_t count, float p, uint64_t seed, bool in_place) {
    clt_device *d = t_device();
    cl_mem bdy = t_upload(dy, count), bdx = in_place ? bdy : t_zeros(count);
    clt_dropout_backward(d, count, clt_at(bdx, 0), clt_at(bdy, 0), p, seed);
    float *dx = t_download(bdx, count);
    clt_free(bdy);
    if (!in_place) clt_free(bdx);
    return dx;
}

static size_t agree(const float *a, const float *b, size_t n, size_t shift) {
    size_t same = 0;
    for (size_t i = 0; i + shift < n; i++) same += (a[i] != 0) == (b[i + shift] != 0);
    return same;
}

/* |got − n·q| within 5 standard deviations of a binomial(n, q). */
static bool binomial_ok(size_t got, size_t n, double q) {
    return fabs((double)got - n * q) <= 5 * sqrt(n * q * (1 - q)) + 1;
}

static void check_mask(size_t count, float p, uint64_t seed) {
    char name[160];
    float *x = clt_malloc(count * sizeof(float));
    t_fill(x, count, seed, 0.5f, 2); /* non-zero, so a zero output means dropped */
    float *y = forward(x, count, p, seed, 3, false);
    size_t kept = 0, host_differs = 0;
    for (size_t i = 0; i < count; i++) {
        kept += y[i] != 0;
        host_differs += (y[i] != 0) != clt_dropout_keep(seed, i, p);
    }
    t_check(host_differs == 0, "dropout device mask equals the host's clt_dropout_keep p=%g count=%zu seed=%llu "
            "(%zu differ)", p, count, (unsigned long long)seed, host_differs);
    t_check(binomial_ok(kept, count, 1 - p), "dropout kept fraction p=%g count=%zu: %.5f, want %.5f ± 5 sd", p, count,
            (double)kept / count, 1 - p);

    double *xd = t_to_double(x, count), *want = clt_malloc(count * sizeof(double));
    ref_dropout_forward(want, xd, count, p, seed);
    snprintf(name, sizeof name, "dropout forward p=%g count=%zu", p, count);
    t_close(name, y, want, count, 0, 3e-7);

    float *y2 = forward(x, count, p, seed, 0, false);
    snprintf(name, sizeof name, "dropout same seed same bits p=%g count=%zu", p, count);
    t_same_bits(name, y2, y, count);
    float *y3 = forward(x, count, p, seed, 0, true);
    snprintf(name, sizeof name, "dropout forward in place p=%g count=%zu", p, count);
    t_same_bits(name, y3, y, count);

    /* Other seeds must give independent masks: agreement p² + (1−p)², whether the seed moves by one,
       by splitmix's increment (which, unhashed, would replay the mask shifted by one element) or far. */
    double q = (double)p * p + (1.0 - p) * (1.0 - p);
    const uint64_t others[] = {seed + 1, seed ^ 0x8000000000000000ULL, seed + 0x9e3779b97f4a7c15ULL};
    for (size_t k = 0; k < CLT_ARRAY_LEN(others); k++) {
        float *z = forward(x, count, p, others[k], 0, false);
        size_t same = agree(y, z, count, 0), shifted = agree(y, z, count, 1);
        t_check(binomial_ok(same, count, q) && binomial_ok(shifted, count - 1, q),
                "dropout seed %llu vs %llu: masks independent p=%g (agree %.4f, shifted %.4f, want %.4f)",
                (unsigned long long)seed, (unsigned long long)others[k], p, (double)same / count,
                (double)shifted / (count - 1), q);
        free(z);
    }
    /* and neighbouring elements of one mask are independent too */
    t_check(binomial_ok(agree(y, y, count, 1), count - 1, q), "dropout neighbouring elements independent p=%g", p);

    free(x), free(y), free(y2), free(y3), free(xd), free(want);
}

static void check_grad(size_t count, float p, uint64_t seed) {
    char name[160];
    float *dy = clt_malloc(count * sizeof(float));
    t_fill(dy, count, seed + 7, -1, 1);
    float *dx = backward(dy, count, p, seed, false), *dx2 = backward(dy, count, p, seed, true);
    double *x = clt_malloc(count * sizeof(double)), *dyd = t_to_double(dy, count);
    double *grad = clt_malloc(count * sizeof(double)), *ref_dx = clt_malloc(count * sizeof(double));
    t_fill_d(x, count, seed, -1, 1);
    dropout_ctx ctx = {count, p, seed};
    t_numeric_grad(dropout_fn, &ctx, x, count, dyd, count, 1e-3, grad);
    ref_dropout_backward(ref_dx, dyd, count, p, seed);
    snprintf(name, sizeof name, "dropout backward vs finite differences p=%g count=%zu", p, count);
    t_close(name, dx, grad, count, 1e-6, 1e-6);
    snprintf(name, sizeof name, "dropout reference backward vs finite differences p=%g count=%zu", p, count);
    t_close_d(name, ref_dx, grad, count, 1e-9, 1e-9);
    snprintf(name, sizeof name, "dropout backward in place p=%g count=%zu", p, count);
    t_same_bits(name, dx2, dx, count);
    snprintf(name, sizeof name, "dropout backward against the reference p=%g count=%zu", p, count);
    t_close(name, dx, ref_dx, count, 0, 3e-7);
    free(dy), free(dx), free(dx2), free(x), free(dyd), free(grad), free(ref_dx);
}

int main(void) {
    check_mask(1 << 20, 0.5f, 42); /* CaffeNet fc6/fc7 */
    check_mask(1 << 20, 0.1f, 7);
    check_mask(100003, 0.9f, 123456789);
    check_mask(4099, 0.5f, 0); /* seed 0 and a size off the work-group size */
    check_grad(1000, 0.5f, 5);
    check_grad(777, 0.25f, 6);

    float x[3] = {1, -2, 3};
    float *y = forward(x, 3, 0, 9, 0, false);
    t_check(y[0] == 1 && y[1] == -2 && y[2] == 3, "dropout p=0 is the identity");
    free(y);
    return t_done();
}
