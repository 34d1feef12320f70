/* lrn.c — local response normalisation across channels (Caffe's LRN, ACROSS_CHANNELS) on CNHW. */
#include "layers/layers.h"

/* The 2-D grid of cl/lrn.cl: n·h·w positions (rounded up to the work-group) × channels. */
static void lrn_grid(const clt_device *d, const clt_lrn *l, size_t cstride, size_t global[2], size_t local[2]) {
    global[0] = clt_round_up(cstride, d->wg1d), global[1] = (size_t)l->c;
    local[0] = d->wg1d, local[1] = 1;
}

void clt_lrn_forward(clt_device *d, const clt_lrn *l, int n, clt_view out, clt_view in, clt_view scale) {
    size_t cstride = (size_t)n * l->h * l->w, global[2], local[2];
    lrn_grid(d, l, cstride, global, local);
    CLT_LAUNCH(d, "lrn_forward", 2, global, local, CLT_INT(l->c), CLT_INT(cstride), CLT_INT(l->size),
               CLT_FLOAT(l->alpha / l->size), CLT_FLOAT(l->beta), CLT_FLOAT(l->k), CLT_VIEW(out), CLT_VIEW(scale),
               CLT_VIEW(in));
}

void clt_lrn_backward(clt_device *d, const clt_lrn *l, int n, clt_view din, clt_view dout, clt_view in,
                      clt_view out, clt_view scale) {
    if (!din.mem) return;
    size_t cstride = (size_t)n * l->h * l->w, global[2], local[2];
    lrn_grid(d, l, cstride, global, local);
    CLT_LAUNCH(d, "lrn_backward", 2, global, local, CLT_INT(l->c), CLT_INT(cstride), CLT_INT(l->size),
               CLT_FLOAT(l->beta), CLT_FLOAT(2.0f * l->alpha * l->beta / l->size), CLT_VIEW(din), CLT_VIEW(dout),
               CLT_VIEW(in), CLT_VIEW(out), CLT_VIEW(scale));
}
