/* flatten.c — CNHW [c][n][hw] <-> [n][c·hw] in Caffe's flatten order (c, h, w within an image). */
#include "layers/layers.h"

void clt_flatten_forward(clt_device *d, int c, int n, int hw, clt_view out, clt_view in) {
    CLT_LAUNCH_1D(d, "flatten_forward", (size_t)c * n * hw, CLT_INT(c), CLT_INT(n), CLT_INT(hw), CLT_VIEW(out),
                  CLT_VIEW(in));
}

void clt_flatten_backward(clt_device *d, int c, int n, int hw, clt_view din, clt_view dout) {
    CLT_LAUNCH_1D(d, "flatten_backward", (size_t)c * n * hw, CLT_INT(c), CLT_INT(n), CLT_INT(hw), CLT_VIEW(din),
                  CLT_VIEW(dout));
}
