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

/* ---- training steps: what `cltransfer-bench train` times and the tuner's last check ---- */
struct clt_net;
struct clt_config;
/* Creates a net of `arch` for `batch` images, its layers initialised, synthetic inputs (uniform in
   ±50) and labels (cycling over fc8's classes) uploaded. Returns 0, or -1 with the device error
   printed and nothing left allocated. */
int clt_synthetic_net(struct clt_net *net, clt_device *d, const struct clt_arch *arch, int batch);
/* One training step on the net's whole batch: forward, backward down to `lowest`, SGD update. */
void clt_train_step(struct clt_net *net, clt_device *d, const struct clt_config *cfg, int64_t iter, int lowest);

/* ---- the tuner ---- */

/* The parameter sets the tuner's last check times on training steps: what was in effect before
   tuning, the search's whole choice, and that choice with the direct/indirect switch that was in
   effect (a switch judged on lone GEMMs can send a whole net to the slower kernel). */
typedef enum clt_tune_set { CLT_TUNE_IN_EFFECT, CLT_TUNE_CHOSEN, CLT_TUNE_CHOSEN_OLD_SWITCH, CLT_TUNE_N_SETS } clt_tune_set;
extern const char *const clt_tune_set_names[CLT_TUNE_N_SETS];

/* What the last check measured and which set the tuner stored. */
typedef struct clt_tune_report {
    double search_s;                     /* the search's seconds, the check's excluded */
    bool checked;                        /* false: --no-step-check, or only one distinct set */
    double step_s[CLT_TUNE_N_SETS];      /* median seconds of a training step; 0: set not timed */
    clt_tune_set kept;
    size_t threshold[CLT_TUNE_N_SETS];   /* each set's XGEMM_MIN_INDIRECT_SIZE */
} clt_tune_report;

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
    /* The last check: training steps of step_arch at step_batch images (NULL: `arch` at `batch`
       when given, else the default study's net, conf/study/fmnist.ini); no_step_check skips it
       and stores the search's choice. */
    bool no_step_check;
    const struct clt_arch *step_arch;
    int step_batch;
    /* Stands in for timing a set's training steps (tests: a chosen outcome); NULL times them. */
    double (*step_seconds)(void *ctx, clt_tune_set set);
    void *step_ctx;
    clt_tune_report *report; /* filled when not NULL */
} clt_tune_options;

/* Searches Xgemm (for all shapes, then for each shape class of clt_gemm_class_of from that
   choice), XgemmDirect and the direct/indirect threshold for the device on a workload of the nets'
   shapes, starting from what is in effect, keeps what is faster and correct, then times training
   steps with each clt_tune_set and stores the fastest (what was in effect unless another beats it
   by a margin) for this exact device (Xgemm/CLASS lines for the classes whose choice differs), and
   leaves the device running it. Returns 0, or -1 on error. */
int clt_tune(clt_device *d, const clt_tune_options *o);

/* Times the Xgemm/XgemmDirect lines of a database-format file side by side on the tuner's
   workload, or on every shape of `net` when not NULL (each line laid over what is in effect), and
   prints the best GFLOP/s per shape. For exploring by hand. */
int clt_tune_race(clt_device *d, const char *path, int repeats, size_t chunk, const char *net);

#endif
