/* ref/relu.c — ReLU reference. */
#include "../ref.h"

void ref_relu_forward(double *out, const double *in, size_t count) {
    for (size_t i = 0; i < count; i++) out[i] = in[i] > 0 ? in[i] : 0;
}

void ref_relu_backward(double *din, const double *dout, const double *in, size_t count) {
    for (size_t i = 0; i < count; i++) din[i] = in[i] > 0 ? dout[i] : 0;
}
