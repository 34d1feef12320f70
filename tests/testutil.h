/* testutil.h — what every test shares: one device per test process, named checks that say which
   layer and shape broke, deterministic random inputs, and gradient checking by finite differences. */
#ifndef CLT_TESTUTIL_H
#define CLT_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "device/device.h"

/* T_ASAN is 1 under AddressSanitizer, whose shadow memory cannot live under an address-space limit
   (ulimit -v, RLIMIT_AS): tests that bound memory that way only do so without it. */
#if defined(__SANITIZE_ADDRESS__)
#define T_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define T_ASAN 1
#endif
#endif
#ifndef T_ASAN
#define T_ASAN 0
#endif

/* Opens the device from $CLTRANSFER_TEST_DEVICE (default: the default device); exits 1 on failure. */
clt_device *t_device(void);
/* Prints "PASS name" or "FAIL name: why" and counts; t_done() prints the total and returns the exit code. */
void t_check(bool ok, const char *fmt, ...) CLT_PRINTF(2, 3);
int t_done(void);

/* Compares got (float) to want (double) elementwise: |got − want| ≤ atol + rtol·|want|. Reports the
   worst element. Returns true if all pass. */
bool t_close(const char *name, const float *got, const double *want, size_t n, double atol, double rtol);
/* The same for two float64 arrays (an analytic reference against finite differences). */
bool t_close_d(const char *name, const double *got, const double *want, size_t n, double atol, double rtol);
/* Bitwise equality of two float arrays. */
bool t_same_bits(const char *name, const float *a, const float *b, size_t n);

/* Deterministic uniform values in [lo, hi) from a seed (splitmix64). */
void t_fill(float *x, size_t n, uint64_t seed, float lo, float hi);
void t_fill_d(double *x, size_t n, uint64_t seed, double lo, double hi);

/* Device helpers: upload host floats to a new buffer / download into a new host array. */
cl_mem t_upload(const float *x, size_t n);
cl_mem t_upload_int(const int *x, size_t n);
float *t_download(cl_mem m, size_t n);
cl_mem t_zeros(size_t n);
double *t_to_double(const float *x, size_t n);

/* Guarded device tensors: the n floats sit T_GUARD floats into their buffer (views at offset
   T_GUARD) with a sentinel on both sides, so a write outside a view is caught; x NULL fills the
   tensor with NaN, so an output element never written is caught too. */
enum { T_GUARD = 13 };
cl_mem t_guarded_upload(const float *x, size_t n);
/* Returns the n floats of the view; clears *intact if a sentinel changed. */
float *t_guarded_download(cl_mem m, size_t n, bool *intact);

/* Layout conversion between NCHW (the references) and CNHW (the device). */
void t_nchw_to_cnhw(float *dst, const float *src, int n, int c, int hw);
void t_cnhw_to_nchw(float *dst, const float *src, int n, int c, int hw);
void t_nchw_to_cnhw_d(double *dst, const double *src, int n, int c, int hw);
void t_cnhw_to_nchw_d(double *dst, const double *src, int n, int c, int hw);

/* Gradient of L(x) = Σ_j w_j · f(x)_j with respect to x by central differences in float64.
   f(ctx, x, y) evaluates the float64 reference; grad gets n_x values. */
typedef void (*t_fn)(void *ctx, const double *x, double *y);
void t_numeric_grad(t_fn f, void *ctx, double *x, size_t n_x, const double *w, size_t n_y, double eps,
                    double *grad);

#endif
