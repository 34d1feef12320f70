/* test_relu.c — ReLU forward against the reference, backward against finite differences,
   and in-place use. */
#include <stdlib.h>

#include "layers/layers.h"
#include "ref.h"
#include "testutil.h"

static void relu_fn(void *ctx, const double *x, double *y) { ref_relu_forward(y, x, *(size_t *)ctx); }

static void check(size_t count, uint64_t seed) {
    clt_device *d = t_device();
    float *x = clt_malloc(count * sizeof(float)), *dy = clt_malloc(count * sizeof(float));
    t_fill(x, count, seed, -1, 1);
    t_fill(dy, count, seed + 1, -1, 1);
    /* keep inputs away from the kink at 0, where finite differences are meaningless */
    for (size_t i = 0; i < count; i++)
        if (x[i] > -0.01f && x[i] < 0.01f) x[i] = 0.5f;
    cl_mem bx = t_upload(x, count), by = t_zeros(count), bdy = t_upload(dy, count), bdx = t_zeros(count);
    clt_relu_forward(d, count, clt_at(by, 0), clt_at(bx, 0));
    clt_relu_backward(d, count, clt_at(bdx, 0), clt_at(bdy, 0), clt_at(by, 0));
    float *y = t_download(by, count), *dx = t_download(bdx, count);

    double *xd = t_to_double(x, count), *dyd = t_to_double(dy, count);
    double *want = clt_malloc(count * sizeof(double)), *grad = clt_malloc(count * sizeof(double));
    ref_relu_forward(want, xd, count);
    t_numeric_grad(relu_fn, &count, xd, count, dyd, count, 1e-4, grad);
    char name[128];
    snprintf(name, sizeof name, "relu forward count=%zu", count);
    t_close(name, y, want, count, 0, 0);
    snprintf(name, sizeof name, "relu backward vs finite differences count=%zu", count);
    t_close(name, dx, grad, count, 1e-6, 1e-5);

    /* in place: the net applies ReLU on the conv output buffer itself */
    clt_relu_forward(d, count, clt_at(bx, 0), clt_at(bx, 0));
    clt_relu_backward(d, count, clt_at(bdy, 0), clt_at(bdy, 0), clt_at(bx, 0));
    float *y2 = t_download(bx, count), *dx2 = t_download(bdy, count);
    snprintf(name, sizeof name, "relu in place count=%zu", count);
    t_same_bits(name, y2, y, count);
    snprintf(name, sizeof name, "relu backward in place count=%zu", count);
    t_same_bits(name, dx2, dx, count);

    clt_free(bx), clt_free(by), clt_free(bdy), clt_free(bdx);
    free(x), free(dy), free(y), free(dx), free(y2), free(dx2), free(xd), free(dyd), free(want), free(grad);
}

int main(void) {
    check(1, 1);
    check(1000, 2);
    check(4099, 3); /* not a multiple of the work-group size */
    return t_done();
}
