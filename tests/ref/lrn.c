/* ref/lrn.c — LRN across channels reference in NCHW: scale = k + alpha/size·Σ x² over channels
   [c − (size−1)/2, c + size − 1 − (size−1)/2] (zero padded), out = in·scale^−beta. */
#include <math.h>
#include <stdlib.h>

#include "../ref.h"
#include "util/util.h"

static void lrn_scale(double *scale, const double *in, int n, int c, int hw, int size, double alpha, double k) {
    int pre = (size - 1) / 2;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int s = 0; s < hw; s++) {
                double acc = 0;
                for (int j = ch - pre; j < ch - pre + size; j++)
                    if (j >= 0 && j < c) {
                        double v = in[((size_t)i * c + j) * hw + s];
                        acc += v * v;
                    }
                scale[((size_t)i * c + ch) * hw + s] = k + alpha / size * acc;
            }
}

void ref_lrn_forward(double *out, const double *in, int n, int c, int hw, int size, double alpha, double beta,
                     double k) {
    size_t count = (size_t)n * c * hw;
    double *scale = clt_malloc(count * sizeof(double));
    lrn_scale(scale, in, n, c, hw, size, alpha, k);
    for (size_t i = 0; i < count; i++) out[i] = in[i] * pow(scale[i], -beta);
    free(scale);
}

/* d out_j / d in_c = [j == c]·scale_j^−beta − 2·alpha·beta/size · in_j · in_c · scale_j^(−beta−1) for
   every j whose window holds c. */
void ref_lrn_backward(double *din, const double *dout, const double *in, int n, int c, int hw, int size,
                      double alpha, double beta, double k) {
    size_t count = (size_t)n * c * hw;
    double *scale = clt_malloc(count * sizeof(double));
    lrn_scale(scale, in, n, c, hw, size, alpha, k);
    int pre = (size - 1) / 2;
    for (size_t i = 0; i < count; i++) din[i] = dout[i] * pow(scale[i], -beta);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < c; j++)
            for (int s = 0; s < hw; s++) {
                size_t oj = ((size_t)i * c + j) * hw + s;
                double common = -2 * alpha * beta / size * dout[oj] * in[oj] * pow(scale[oj], -beta - 1);
                for (int ch = j - pre; ch < j - pre + size; ch++)
                    if (ch >= 0 && ch < c) {
                        size_t ic = ((size_t)i * c + ch) * hw + s;
                        din[ic] += common * in[ic];
                    }
            }
    free(scale);
}
