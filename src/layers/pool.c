/* pool.c — max pooling without padding, Caffe's rounded-up output size, argmax mask for backward. */
#include <math.h>

#include "layers/layers.h"

int clt_pool_out_size(int in, int k, int stride) {
    int out = (int)ceil((double)(in - k) / stride) + 1;
    /* Caffe applies this only with padding; without padding it fires only when k < stride and the
       last window would start past the input, where Caffe emits an empty window (−FLT_MAX, mask −1).
       Dropping that window instead keeps every output a real maximum. */
    if (out > 0 && (out - 1) * stride >= in) --out;
    return out < 0 ? 0 : out;
}

void clt_pool_init(clt_pool *l, int c, int h, int w, int k, int stride) {
    *l = (clt_pool){.c = c, .h = h, .w = w, .k = k, .stride = stride};
    l->ho = clt_pool_out_size(h, k, stride);
    l->wo = clt_pool_out_size(w, k, stride);
}

/* A 3-D launch over nx × ny × planes: work-groups of wg1d items, as wide in x as the rows allow
   (a power of two), so consecutive work-items take consecutive columns and few idle past a row's end. */
static void pool_grid(const clt_device *d, size_t nx, size_t ny, size_t planes, size_t global[3], size_t local[3]) {
    size_t lx = 1;
    while (lx < nx && lx * 2 <= d->wg1d) lx *= 2;
    local[0] = lx, local[1] = d->wg1d / lx, local[2] = 1;
    global[0] = clt_round_up(nx, local[0]), global[1] = clt_round_up(ny, local[1]), global[2] = planes;
}

void clt_pool_forward(clt_device *d, const clt_pool *l, int n, clt_view out, clt_view in, cl_mem mask) {
    size_t global[3], local[3];
    pool_grid(d, l->wo, l->ho, (size_t)l->c * n, global, local);
    CLT_LAUNCH(d, "pool_max_forward", 3, global, local, CLT_INT(l->h), CLT_INT(l->w), CLT_INT(l->k),
               CLT_INT(l->stride), CLT_INT(l->ho), CLT_INT(l->wo), CLT_VIEW(out), CLT_VIEW(in), CLT_MEM(mask));
}

/* Zero din, then the span² phases of cl/pool.cl in a fixed order (see there). */
void clt_pool_backward(clt_device *d, const clt_pool *l, int n, clt_view din, clt_view dout, cl_mem mask) {
    if (!din.mem) return;
    int span = (l->k + l->stride - 1) / l->stride;
    size_t global[3], local[3];
    pool_grid(d, (l->wo + span - 1) / span, (l->ho + span - 1) / span, (size_t)l->c * n, global, local);
    clt_zero(d, din.mem, din.off * sizeof(float), (size_t)l->c * n * l->h * l->w * sizeof(float));
    for (int ay = 0; ay < span; ay++)
        for (int ax = 0; ax < span; ax++)
            CLT_LAUNCH(d, "pool_max_backward", 3, global, local, CLT_INT(l->h), CLT_INT(l->w), CLT_INT(l->ho),
                       CLT_INT(l->wo), CLT_INT(span), CLT_INT(ay), CLT_INT(ax), CLT_VIEW(din), CLT_VIEW(dout),
                       CLT_MEM(mask));
}
