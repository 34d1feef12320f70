/* test_softmax_loss.c — softmax with cross-entropy: probabilities and per-image losses against the
   reference, backward (scale 1/n, the batch mean) against finite differences of the reference mean
   loss and the analytic reference too, huge logits, the FLT_MIN floor, a bad label, in-place backward,
   views at offsets, determinism.
   Tolerances: prob atol 1e-7 rtol 2e-5; loss atol 2e-6 rtol 2e-5; device backward vs finite
   differences atol 1e-6 rtol 1e-4; reference backward vs finite differences atol 1e-9 rtol 1e-6. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "ref.h"
#include "testutil.h"

typedef struct sm_ctx {
    const int *labels;
    int n, classes;
    double *prob;
} sm_ctx;

static void sm_fn(void *ctx, const double *x, double *y) {
    sm_ctx *c = ctx;
    y[0] = ref_softmax_loss_forward(c->prob, x, c->labels, c->n, c->classes);
}

enum { OFF_LOGITS = 1, OFF_PROB = 2, OFF_LOSS = 3, OFF_D = 4 };

typedef struct sm_run {
    float *prob, *loss, *dlogits, *dlogits_in_place;
} sm_run;

static float *download_at(cl_mem m, size_t n, size_t off) {
    float *pad = t_download(m, n + off), *x = clt_malloc(n * sizeof(float));
    memcpy(x, pad + off, n * sizeof(float));
    free(pad);
    return x;
}

static sm_run run_device(const float *logits, const int *labels, int n, int classes) {
    clt_device *d = t_device();
    size_t count = (size_t)n * classes;
    float *pad = clt_calloc(count + OFF_LOGITS, sizeof(float));
    memcpy(pad + OFF_LOGITS, logits, count * sizeof(float));
    cl_mem bx = t_upload(pad, count + OFF_LOGITS), bl = t_upload_int(labels, n);
    cl_mem bp = t_zeros(count + OFF_PROB), bloss = t_zeros(n + OFF_LOSS), bd = t_zeros(count + OFF_D);
    clt_softmax_loss_forward(d, n, classes, clt_at(bp, OFF_PROB), clt_at(bloss, OFF_LOSS), clt_at(bx, OFF_LOGITS), bl);
    clt_softmax_loss_backward(d, n, classes, clt_at(bd, OFF_D), clt_at(bp, OFF_PROB), bl, 1.0f / n);
    sm_run r;
    r.prob = download_at(bp, count, OFF_PROB);
    r.loss = download_at(bloss, n, OFF_LOSS);
    r.dlogits = download_at(bd, count, OFF_D);
    /* in place, as a net that reuses the prob buffer for the gradient would */
    clt_softmax_loss_backward(d, n, classes, clt_at(bp, OFF_PROB), clt_at(bp, OFF_PROB), bl, 1.0f / n);
    r.dlogits_in_place = download_at(bp, count, OFF_PROB);
    clt_free(bx), clt_free(bl), clt_free(bp), clt_free(bloss), clt_free(bd);
    free(pad);
    return r;
}

static void free_run(sm_run r) { free(r.prob), free(r.loss), free(r.dlogits), free(r.dlogits_in_place); }

static void check(int n, int classes, int label_classes, float lo, float hi, uint64_t seed) {
    size_t count = (size_t)n * classes;
    char shape[128], name[256];
    snprintf(shape, sizeof shape, "n=%d classes=%d labels<%d logits in [%g,%g)", n, classes, label_classes, lo, hi);
    float *x = clt_malloc(count * sizeof(float));
    int *labels = clt_malloc(n * sizeof(int));
    t_fill(x, count, seed, lo, hi);
    for (int i = 0; i < n; i++) labels[i] = (int)((uint64_t)(i * 7919 + seed * 104729) % label_classes);
    sm_run r = run_device(x, labels, n, classes);

    double *xd = t_to_double(x, count), *prob = clt_malloc(count * sizeof(double));
    double *loss = clt_malloc(n * sizeof(double)), *grad = clt_malloc(count * sizeof(double));
    double *ref_d = clt_malloc(count * sizeof(double));
    double mean = ref_softmax_loss_forward(prob, xd, labels, n, classes);
    for (int i = 0; i < n; i++) {
        double q = prob[(size_t)i * classes + labels[i]];
        loss[i] = -log(q > FLT_MIN ? q : FLT_MIN);
    }
    ref_softmax_loss_backward(ref_d, prob, labels, n, classes);
    sm_ctx ctx = {labels, n, classes, clt_malloc(count * sizeof(double))};
    double one = 1;
    t_numeric_grad(sm_fn, &ctx, xd, count, &one, 1, 1e-4, grad);

    snprintf(name, sizeof name, "softmax prob %s", shape);
    t_close(name, r.prob, prob, count, 1e-7, 2e-5);
    snprintf(name, sizeof name, "softmax loss per image %s", shape);
    t_close(name, r.loss, loss, n, 2e-6, 2e-5);
    double dev_mean = 0;
    for (int i = 0; i < n; i++) dev_mean += r.loss[i];
    dev_mean /= n;
    t_check(fabs(dev_mean - mean) <= 2e-6 + 2e-5 * fabs(mean), "softmax mean loss %s: %.7f want %.7f", shape, dev_mean,
            mean);
    snprintf(name, sizeof name, "softmax backward vs finite differences %s", shape);
    t_close(name, r.dlogits, grad, count, 1e-6, 1e-4);
    snprintf(name, sizeof name, "softmax reference backward vs finite differences %s", shape);
    t_close_d(name, ref_d, grad, count, 1e-9, 1e-6);
    snprintf(name, sizeof name, "softmax backward in place %s", shape);
    t_same_bits(name, r.dlogits_in_place, r.dlogits, count);

    sm_run r2 = run_device(x, labels, n, classes);
    snprintf(name, sizeof name, "softmax prob deterministic %s", shape);
    t_same_bits(name, r2.prob, r.prob, count);
    snprintf(name, sizeof name, "softmax loss deterministic %s", shape);
    t_same_bits(name, r2.loss, r.loss, n);
    snprintf(name, sizeof name, "softmax backward deterministic %s", shape);
    t_same_bits(name, r2.dlogits, r.dlogits, count);

    free_run(r), free_run(r2);
    free(x), free(labels), free(xd), free(prob), free(loss), free(grad), free(ref_d), free(ctx.prob);
}

/* Huge logits must not overflow (the max is subtracted); a hopeless label costs −log(FLT_MIN) as in
   Caffe; a label outside the classes gives a NaN loss. */
static void check_extremes(void) {
    enum { C = 10 };
    float x[3 * C];
    int labels[3] = {3, 0, C};
    for (int j = 0; j < C; j++) {
        x[j] = j == 3 ? 3e4f : -3e4f;      /* image 0: certain and right */
        x[C + j] = j == 0 ? 0.0f : 200.0f; /* image 1: certain and wrong: prob[label] = e^−200/9 */
        x[2 * C + j] = (float)j;           /* image 2: bad label */
    }
    sm_run r = run_device(x, labels, 3, C);
    bool finite = true;
    for (int i = 0; i < 2 * C; i++) finite = finite && isfinite(r.prob[i]) && isfinite(r.dlogits[i]);
    t_check(finite, "softmax huge logits give finite prob and gradient");
    t_check(r.loss[0] == 0 && r.prob[3] == 1, "softmax certain right answer: loss %g prob %g", r.loss[0], r.prob[3]);
    double floor_loss = -log(FLT_MIN);
    t_check(fabs(r.loss[1] - floor_loss) < 1e-4, "softmax loss floored at -log(FLT_MIN): %.6f want %.6f", r.loss[1],
            floor_loss);
    t_check(isnan(r.loss[2]), "softmax label outside the classes gives a NaN loss (got %g)", r.loss[2]);
    free_run(r);
}

int main(void) {
    check(1, 1, 1, -1, 1, 1);   /* one class: prob 1, loss 0, gradient 0 */
    check(3, 10, 10, -3, 3, 2);  /* the small net */
    check(5, 7, 7, -5, 5, 3);
    check(2, 300, 300, -4, 4, 4); /* more classes than work-items */
    check(4, 1000, 500, -5, 5, 5); /* CaffeNet exact replication: fc8 of 1000, 500 classes */
    check_extremes();
    return t_done();
}
