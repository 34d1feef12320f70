/* relu.c — ReLU: out = max(in, 0); backward masks by the output, so in-place use is safe. */
#include "layers/layers.h"

void clt_relu_forward(clt_device *d, size_t count, clt_view out, clt_view in) {
    CLT_LAUNCH_1D(d, "relu_forward", count, CLT_INT(count), CLT_VIEW(out), CLT_VIEW(in));
}

void clt_relu_backward(clt_device *d, size_t count, clt_view din, clt_view dout, clt_view out) {
    CLT_LAUNCH_1D(d, "relu_backward", count, CLT_INT(count), CLT_VIEW(din), CLT_VIEW(dout), CLT_VIEW(out));
}
