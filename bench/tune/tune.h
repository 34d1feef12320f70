/* tune.h — the GEMM shapes of the study's nets, GEMM test cases on a device (buffers, a run, a
   sampled correctness check), and the tuner that searches CLBlast parameters for the device. */
#ifndef CLT_TUNE_H
#define CLT_TUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "device/device.h"

/* One clt_gemm call as a layer makes it: row-major, strides and offsets in floats. */
typedef struct clt_gemm_shape {
    char net[32], name[24], form[8]; /* form: "fwd", "bwd-d" (input gradient), "bwd-w" (weight gradient) */
    bool ta, tb;
    size_t m, n, k, lda, ldb, ldc, a_off, b_off, c_off;
    float beta;
} clt_gemm_shape;

/* Fills `out` with the GEMMs of the net `arch` at `batch` images (its name labels them), one group
   of each layer (the last), forward and backward, convolutions `chunk` images at a time (0: the
   whole batch), their weight gradients in the form the layers use on a device with that
   `conv_dweight_nn`. Returns the count (beyond `max`: the count there would be), or -1 for an
   arch that clt_arch_check refuses. */
struct clt_arch;
int clt_gemm_shapes(const struct clt_arch *arch, int batch, size_t chunk, bool conv_dweight_nn, clt_gemm_shape *out,
                    int max);
/* The same for a study net by name: "small" (the Fashion-MNIST net, batch 128, whole batch) or
   "caffenet" (batch 256); -1 for another name. */
int clt_gemm_net_shapes(const char *net, size_t chunk, bool conv_dweight_nn, clt_gemm_shape *out, int max);
static inline double clt_gemm_flops(const clt_gemm_shape *s) { return 2.0 * s->m * s->n * s->k; }

/* Device buffers and host copies for running one shape. */
typedef struct clt_gemm_case {
    clt_gemm_shape s;
    cl_mem a, b, c;
    float *ha, *hb, *hc; /* host inputs; hc is C before any run */
    size_t na, nb, nc;   /* floats in each buffer */
} clt_gemm_case;

int clt_gemm_case_init(clt_device *d, clt_gemm_case *c, const clt_gemm_shape *s, uint64_t seed);
/* Restores C to its initial contents (so beta = 1 shapes check against a known start). */
void clt_gemm_case_reset(clt_device *d, clt_gemm_case *c);
void clt_gemm_case_run(clt_device *d, clt_gemm_case *c);
/* Compares C after exactly one run from a reset against float64 dot products at sampled positions,
   and checks that floats outside the C sub-matrix are untouched. Returns true if all agree. */
bool clt_gemm_case_check(clt_device *d, clt_gemm_case *c, char *why, size_t why_len);
void clt_gemm_case_free(clt_gemm_case *c);

/* Seconds of one run (after clt_finish), or a negative number if the device failed. */
double clt_gemm_case_time(clt_device *d, clt_gemm_case *c);

/* ---- the tuner ---- */
typedef struct clt_tune_options {
    double budget_s;   /* wall-clock budget for the whole search */
    size_t chunk;      /* CaffeNet chunk for the workload */
    const char *store; /* database to write (NULL: clt_tuning_user_path()) */
    bool dry_run;      /* search and report, write nothing */
    int verbose;
    int max_candidates;           /* per search, the incumbent included (0: as many as the budget allows) */
    const struct clt_arch *arch;  /* tune on every shape of this net at `batch` (NULL: both study nets) */
    int batch;
    const clt_gemm_shape *shapes; /* the workload instead of the nets' shapes (tests: a tiny one) */
    int n_shapes;
} clt_tune_options;

/* Searches Xgemm (for all shapes, then for each shape class of clt_gemm_class_of from that
   choice), XgemmDirect and the direct/indirect threshold for the device on a workload of the nets'
   shapes, starting from what is in effect, keeps what is faster and correct, and stores it for
   this exact device (Xgemm/CLASS lines for the classes whose choice differs). Returns 0, or -1 on
   error. */
int clt_tune(clt_device *d, const clt_tune_options *o);

/* Times the Xgemm/XgemmDirect lines of a database-format file side by side on the tuner's
   workload, or on every shape of `net` when not NULL (each line laid over what is in effect), and
   prints the best GFLOP/s per shape. For exploring by hand. */
int clt_tune_race(clt_device *d, const char *path, int repeats, size_t chunk, const char *net);

#endif
