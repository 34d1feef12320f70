/* ref/ip.c — inner product reference: out[n][o] = Σ_i in[n][i] · weight[o][i] + bias[o]. */
#include <string.h>

#include "../ref.h"

void ref_ip_forward(double *out, const double *in, const double *weight, const double *bias, int n, int i, int o) {
    for (int r = 0; r < n; r++)
        for (int j = 0; j < o; j++) {
            double s = bias ? bias[j] : 0;
            for (int t = 0; t < i; t++) s += in[(size_t)r * i + t] * weight[(size_t)j * i + t];
            out[(size_t)r * o + j] = s;
        }
}

/* Any of din, dweight, dbias may be NULL. */
void ref_ip_backward(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                     const double *weight, int n, int i, int o) {
    if (din) memset(din, 0, (size_t)n * i * sizeof *din);
    if (dweight) memset(dweight, 0, (size_t)o * i * sizeof *dweight);
    if (dbias) memset(dbias, 0, (size_t)o * sizeof *dbias);
    for (int r = 0; r < n; r++)
        for (int j = 0; j < o; j++) {
            double g = dout[(size_t)r * o + j];
            if (dbias) dbias[j] += g;
            for (int t = 0; t < i; t++) {
                if (din) din[(size_t)r * i + t] += g * weight[(size_t)j * i + t];
                if (dweight) dweight[(size_t)j * i + t] += g * in[(size_t)r * i + t];
            }
        }
}
