/* ref/conv.c — convolution reference in NCHW: direct loops over zero-padded windows, with groups. */
#include <string.h>

#include "../ref.h"

static int out_size(int size, int k, int stride, int pad) { return (size + 2 * pad - k) / stride + 1; }

void ref_conv_forward(double *out, const double *in, const double *weight, const double *bias, int n, int c,
                      int h, int w, int m, int k, int stride, int pad, int group) {
    int ho = out_size(h, k, stride, pad), wo = out_size(w, k, stride, pad);
    int cg = c / group, mg = m / group;
    for (int i = 0; i < n; i++)
        for (int o = 0; o < m; o++) {
            int g = o / mg;
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double s = bias ? bias[o] : 0;
                    for (int cc = 0; cc < cg; cc++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue; /* zero padding */
                                s += in[(((size_t)i * c + g * cg + cc) * h + iy) * w + ix] *
                                     weight[(((size_t)o * cg + cc) * k + ky) * k + kx];
                            }
                    out[(((size_t)i * m + o) * ho + oy) * wo + ox] = s;
                }
        }
}

/* The same loops as forward, each product's gradient sent back to both factors. Any of din,
   dweight, dbias may be NULL. */
void ref_conv_backward(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                       const double *weight, int n, int c, int h, int w, int m, int k, int stride, int pad,
                       int group) {
    int ho = out_size(h, k, stride, pad), wo = out_size(w, k, stride, pad);
    int cg = c / group, mg = m / group;
    if (din) memset(din, 0, (size_t)n * c * h * w * sizeof *din);
    if (dweight) memset(dweight, 0, (size_t)m * cg * k * k * sizeof *dweight);
    if (dbias) memset(dbias, 0, (size_t)m * sizeof *dbias);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < m; o++) {
            int g = o / mg;
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    double d = dout[(((size_t)i * m + o) * ho + oy) * wo + ox];
                    if (dbias) dbias[o] += d;
                    for (int cc = 0; cc < cg; cc++)
                        for (int ky = 0; ky < k; ky++)
                            for (int kx = 0; kx < k; kx++) {
                                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                                size_t ii = (((size_t)i * c + g * cg + cc) * h + iy) * w + ix;
                                size_t wi = (((size_t)o * cg + cc) * k + ky) * k + kx;
                                if (din) din[ii] += d * weight[wi];
                                if (dweight) dweight[wi] += d * in[ii];
                            }
                }
        }
}
