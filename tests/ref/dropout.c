/* ref/dropout.c — dropout reference: the device's keep rule (clt_dropout_keep), kept units scaled by 1/(1−p). */
#include <stdbool.h>

#include "../ref.h"
#include "layers/layers.h"

void ref_dropout_forward(double *out, const double *in, size_t count, float p, uint64_t seed) {
    double scale = 1 / (1 - (double)p);
    for (size_t i = 0; i < count; i++) out[i] = clt_dropout_keep(seed, i, p) ? in[i] * scale : 0;
}

void ref_dropout_backward(double *din, const double *dout, size_t count, float p, uint64_t seed) {
    ref_dropout_forward(din, dout, count, p, seed); /* linear in its input: the same map */
}
