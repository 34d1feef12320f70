/* testutil.c — shared test harness: device, named checks, random data, finite differences. */
#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static clt_device device;
static bool device_open;
static int n_pass, n_fail;

clt_device *t_device(void) {
    if (!device_open) {
        if (clt_device_open(&device, getenv("CLTRANSFER_TEST_DEVICE")) != 0) exit(1);
        device_open = true;
    }
    return &device;
}

void t_check(bool ok, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    if (ok)
        n_pass++;
    else
        n_fail++;
}

int t_done(void) {
    if (device_open && clt_device_report(&device) != 0) n_fail++;
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}

bool t_close_d(const char *name, const double *got, const double *want, size_t n, double atol, double rtol) {
    size_t worst = 0, bad = 0;
    double worst_excess = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        double excess = fabs(got[i] - want[i]) - (atol + rtol * fabs(want[i]));
        if (!(excess <= 0)) bad++; /* NaN counts as off */
        if (!(excess <= worst_excess)) worst_excess = excess, worst = i;
    }
    if (n == 0)
        t_check(true, "%s (empty)", name);
    else if (bad)
        t_check(false, "%s: %zu of %zu values off; worst [%zu] got %.10g want %.10g (atol %.1e rtol %.1e)", name,
                bad, n, worst, got[worst], want[worst], atol, rtol);
    else
        t_check(true, "%s (%zu values, atol %.1e rtol %.1e)", name, n, atol, rtol);
    return bad == 0;
}

bool t_close(const char *name, const float *got, const double *want, size_t n, double atol, double rtol) {
    double *g = t_to_double(got, n);
    bool ok = t_close_d(name, g, want, n, atol, rtol);
    free(g);
    return ok;
}

bool t_same_bits(const char *name, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            t_check(false, "%s: first difference at [%zu]: %.9g vs %.9g", name, i, a[i], b[i]);
            return false;
        }
    }
    t_check(true, "%s (%zu values bit-identical)", name, n);
    return true;
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void t_fill(float *x, size_t n, uint64_t seed, float lo, float hi) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)((splitmix(&s) >> 40) * (1.0 / (1 << 24)));
}

void t_fill_d(double *x, size_t n, uint64_t seed, double lo, double hi) {
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * ((splitmix(&s) >> 11) * (1.0 / 9007199254740992.0));
}

cl_mem t_upload(const float *x, size_t n) {
    clt_device *d = t_device();
    cl_mem m = clt_alloc(d, n * sizeof(float), "test buffer");
    clt_upload(d, m, 0, x, n * sizeof(float));
    return m;
}

cl_mem t_upload_int(const int *x, size_t n) {
    clt_device *d = t_device();
    cl_mem m = clt_alloc(d, n * sizeof(int), "test buffer");
    clt_upload(d, m, 0, x, n * sizeof(int));
    return m;
}

static const float SENTINEL = -1234.5f;

cl_mem t_guarded_upload(const float *x, size_t n) {
    float *h = clt_malloc((n + 2 * T_GUARD) * sizeof(float));
    for (size_t i = 0; i < n + 2 * T_GUARD; i++) h[i] = SENTINEL;
    for (size_t i = 0; i < n; i++) h[T_GUARD + i] = x ? x[i] : NAN;
    cl_mem m = t_upload(h, n + 2 * T_GUARD);
    free(h);
    return m;
}

float *t_guarded_download(cl_mem m, size_t n, bool *intact) {
    float *h = t_download(m, n + 2 * T_GUARD);
    for (size_t i = 0; i < T_GUARD; i++)
        if (h[i] != SENTINEL || h[T_GUARD + n + i] != SENTINEL) *intact = false;
    memmove(h, h + T_GUARD, n * sizeof(float));
    return h;
}

float *t_download(cl_mem m, size_t n) {
    clt_device *d = t_device();
    float *x = clt_calloc(n, sizeof(float));
    clt_download(d, x, m, 0, n * sizeof(float));
    if (!clt_device_ok(d)) {
        clt_device_report(d);
        exit(1);
    }
    return x;
}

cl_mem t_zeros(size_t n) { return clt_alloc(t_device(), n * sizeof(float), "test buffer"); }

double *t_to_double(const float *x, size_t n) {
    double *y = clt_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

#define LAYOUT(name, T, dst_index, src_index)                                 \
    void name(T *dst, const T *src, int n, int c, int hw) {                   \
        for (int i = 0; i < n; i++)                                           \
            for (int ch = 0; ch < c; ch++)                                    \
                for (int s = 0; s < hw; s++) dst[dst_index] = src[src_index]; \
    }
#define NCHW ((size_t)(i * c + ch) * hw + s)
#define CNHW ((size_t)(ch * n + i) * hw + s)
LAYOUT(t_nchw_to_cnhw, float, CNHW, NCHW)
LAYOUT(t_cnhw_to_nchw, float, NCHW, CNHW)
LAYOUT(t_nchw_to_cnhw_d, double, CNHW, NCHW)
LAYOUT(t_cnhw_to_nchw_d, double, NCHW, CNHW)

void t_numeric_grad(t_fn f, void *ctx, double *x, size_t n_x, const double *w, size_t n_y, double eps,
                    double *grad) {
    double *y = clt_malloc(n_y * sizeof(double));
    for (size_t i = 0; i < n_x; i++) {
        double keep = x[i];
        x[i] = keep + eps;
        f(ctx, x, y);
        double plus = 0;
        for (size_t j = 0; j < n_y; j++) plus += w[j] * y[j];
        x[i] = keep - eps;
        f(ctx, x, y);
        double minus = 0;
        for (size_t j = 0; j < n_y; j++) minus += w[j] * y[j];
        x[i] = keep;
        grad[i] = (plus - minus) / (2 * eps);
    }
    free(y);
}
