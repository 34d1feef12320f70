/* ref/pool.c — max pooling reference (no padding, last window clipped, first maximum wins ties). */
#include "../ref.h"

static int ref_min(int a, int b) { return a < b ? a : b; }

/* Flat in-plane index of the window's first maximum in row-major order. */
static int argmax(const double *p, int h, int w, int k, int stride, int oy, int ox) {
    int y0 = oy * stride, x0 = ox * stride, best = y0 * w + x0;
    for (int y = y0; y < ref_min(y0 + k, h); y++)
        for (int x = x0; x < ref_min(x0 + k, w); x++)
            if (p[y * w + x] > p[best]) best = y * w + x;
    return best;
}

void ref_pool_forward(double *out, const double *in, int planes, int h, int w, int k, int stride, int ho, int wo) {
    for (int pl = 0; pl < planes; pl++) {
        const double *p = in + (size_t)pl * h * w;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                out[((size_t)pl * ho + oy) * wo + ox] = p[argmax(p, h, w, k, stride, oy, ox)];
    }
}

void ref_pool_backward(double *din, const double *dout, const double *in, int planes, int h, int w, int k,
                       int stride, int ho, int wo) {
    for (size_t i = 0; i < (size_t)planes * h * w; i++) din[i] = 0;
    for (int pl = 0; pl < planes; pl++) {
        const double *p = in + (size_t)pl * h * w;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++)
                din[(size_t)pl * h * w + argmax(p, h, w, k, stride, oy, ox)] += dout[((size_t)pl * ho + oy) * wo + ox];
    }
}
