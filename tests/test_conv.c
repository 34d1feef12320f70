/* test_conv.c — convolution on the device against the float64 NCHW reference: forward values; backward
   (din, dweight, dbias) against finite differences of the reference; the reference's own analytic
   backward against the same finite differences; chunked batches against whole ones; bit-identical
   reruns; a skipped input gradient; and CLBlast's indirect GEMM path, which real CaffeNet shapes take.

   Tolerances (|got − want| ≤ atol + rtol·|want|, values O(1..10)):
     device vs reference or finite differences   atol 2e-5, rtol 2e-5 (float32 sums of ≤ 400 terms;
                                                  the worst seen on PoCL is 3.5e-6, at k 11)
     reference analytic backward vs finite diff  atol 1e-9, rtol 1e-9 (the forward is linear in each
                                                  argument, so central differences are exact up to
                                                  float64 rounding)
     chunked vs whole batch                      atol 2e-5, rtol 2e-5 (dweight sums in another order) */
#include <clblast_c.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "ref.h"
#include "testutil.h"

#define DEV_ATOL 2e-5
#define DEV_RTOL 2e-5
#define REF_TOL 1e-9
#define FD_EPS 1e-3

typedef struct conv_case {
    int n, c, h, w, m, k, stride, pad, group;
} conv_case;

static const conv_case CASES[] = {
    {2, 3, 8, 8, 4, 3, 1, 1, 1},    /* 3×3, same padding */
    {3, 4, 9, 7, 6, 3, 2, 1, 2},    /* stride 2, two groups, odd sizes */
    {2, 3, 23, 23, 4, 11, 4, 0, 1}, /* conv1-like: k 11, stride 4 */
    {3, 4, 7, 7, 4, 5, 1, 2, 2},    /* conv2-like: k 5, pad 2, two groups */
    {1, 2, 5, 6, 3, 1, 1, 0, 1},    /* 1×1 kernel, one image */
    {2, 2, 10, 13, 4, 4, 3, 1, 2},  /* windows leave the last input row and column unused */
};

/* Inputs of one case as the reference sees them: NCHW floats (the device gets the same values). */
typedef struct conv_inputs {
    clt_conv l;
    size_t nx, nw, ny;
    float *x, *weight, *bias, *dy;
} conv_inputs;

/* One device run's results, converted to NCHW. dx is NULL when the input gradient was skipped. */
typedef struct conv_outputs {
    float *y, *dx, *dweight, *dbias;
} conv_outputs;

static void case_name(char *buf, size_t size, const char *what, const conv_case *s) {
    snprintf(buf, size, "conv %s n=%d c=%d h=%d w=%d m=%d k=%d s=%d p=%d g=%d", what, s->n, s->c, s->h, s->w, s->m,
             s->k, s->stride, s->pad, s->group);
}

static conv_inputs make_inputs(const conv_case *s, uint64_t seed) {
    conv_inputs in;
    clt_conv_init(&in.l, s->c, s->h, s->w, s->m, s->k, s->stride, s->pad, s->group);
    in.nx = (size_t)s->n * s->c * s->h * s->w;
    in.nw = clt_conv_weight_count(&in.l);
    in.ny = (size_t)s->n * s->m * in.l.ho * in.l.wo;
    in.x = clt_malloc(in.nx * sizeof(float));
    in.weight = clt_malloc(in.nw * sizeof(float));
    in.bias = clt_malloc(s->m * sizeof(float));
    in.dy = clt_malloc(in.ny * sizeof(float));
    t_fill(in.x, in.nx, seed, -1, 1);
    t_fill(in.weight, in.nw, seed + 1, -1, 1);
    t_fill(in.bias, s->m, seed + 2, -1, 1);
    t_fill(in.dy, in.ny, seed + 3, -1, 1);
    return in;
}

static void free_inputs(conv_inputs *in) { free(in->x), free(in->weight), free(in->bias), free(in->dy); }
static void free_outputs(conv_outputs *o) { free(o->y), free(o->dx), free(o->dweight), free(o->dbias); }

static float *to_cnhw(const float *x, int n, int c, int hw) {
    float *y = clt_malloc((size_t)n * c * hw * sizeof(float));
    t_nchw_to_cnhw(y, x, n, c, hw);
    return y;
}

static void to_nchw_in_place(float *x, int n, int c, int hw) {
    float *tmp = clt_malloc((size_t)n * c * hw * sizeof(float));
    t_cnhw_to_nchw(tmp, x, n, c, hw);
    memcpy(x, tmp, (size_t)n * c * hw * sizeof(float));
    free(tmp);
}

/* Forward and backward on the device with a workspace for `chunk` images. */
static conv_outputs run_device(const conv_case *s, const conv_inputs *in, int chunk, bool with_din) {
    clt_device *d = t_device();
    const clt_conv *l = &in->l;
    int hw_in = s->h * s->w, hw_out = l->ho * l->wo;
    float *x_cnhw = to_cnhw(in->x, s->n, s->c, hw_in), *dy_cnhw = to_cnhw(in->dy, s->n, s->m, hw_out);
    size_t col_floats = clt_conv_col_floats(l, chunk);
    cl_mem bx = t_guarded_upload(x_cnhw, in->nx), bw = t_guarded_upload(in->weight, in->nw);
    cl_mem bb = t_guarded_upload(in->bias, s->m), bdy = t_guarded_upload(dy_cnhw, in->ny);
    cl_mem by = t_guarded_upload(NULL, in->ny), bcol = t_guarded_upload(NULL, col_floats);
    cl_mem bdw = t_guarded_upload(NULL, in->nw), bdb = t_guarded_upload(NULL, s->m);
    cl_mem bdx = with_din ? t_guarded_upload(NULL, in->nx) : NULL;

    clt_conv_forward(d, l, s->n, clt_at(by, T_GUARD), clt_at(bx, T_GUARD), clt_at(bw, T_GUARD), clt_at(bb, T_GUARD),
                     clt_at(bcol, T_GUARD), col_floats);
    clt_conv_backward(d, l, s->n, clt_at(bdx, T_GUARD), clt_at(bdw, T_GUARD), clt_at(bdb, T_GUARD), clt_at(bdy, T_GUARD),
                      clt_at(bx, T_GUARD), clt_at(bw, T_GUARD), clt_at(bcol, T_GUARD), col_floats);

    bool intact = true;
    conv_outputs o = {0};
    o.y = t_guarded_download(by, in->ny, &intact);
    o.dweight = t_guarded_download(bdw, in->nw, &intact);
    o.dbias = t_guarded_download(bdb, s->m, &intact);
    if (with_din) o.dx = t_guarded_download(bdx, in->nx, &intact);
    float *x_after = t_guarded_download(bx, in->nx, &intact), *dy_after = t_guarded_download(bdy, in->ny, &intact);
    free(t_guarded_download(bw, in->nw, &intact));
    free(t_guarded_download(bb, s->m, &intact));
    free(t_guarded_download(bcol, col_floats, &intact));
    char name[200], what[120];
    snprintf(what, sizeof what, "run, chunks of %d%s: inputs unchanged, nothing written outside the views", chunk,
             with_din ? "" : ", no din");
    case_name(name, sizeof name, what, s);
    t_check(intact && !memcmp(x_after, x_cnhw, in->nx * sizeof(float)) &&
                !memcmp(dy_after, dy_cnhw, in->ny * sizeof(float)),
            "%s", name);
    to_nchw_in_place(o.y, s->n, s->m, hw_out);
    if (with_din) to_nchw_in_place(o.dx, s->n, s->c, hw_in);

    clt_free(bx), clt_free(bw), clt_free(bb), clt_free(bdy), clt_free(by), clt_free(bcol), clt_free(bdw),
        clt_free(bdb), clt_free(bdx);
    free(x_cnhw), free(dy_cnhw), free(x_after), free(dy_after);
    return o;
}

/* The fused forward (clt_conv_relu_forward) alone, with a workspace for `chunk` images; out NCHW. */
static float *run_relu_forward(const conv_case *s, const conv_inputs *in, int chunk) {
    clt_device *d = t_device();
    const clt_conv *l = &in->l;
    int hw_in = s->h * s->w, hw_out = l->ho * l->wo;
    float *x_cnhw = to_cnhw(in->x, s->n, s->c, hw_in);
    size_t col_floats = clt_conv_col_floats(l, chunk);
    cl_mem bx = t_guarded_upload(x_cnhw, in->nx), bw = t_guarded_upload(in->weight, in->nw);
    cl_mem bb = t_guarded_upload(in->bias, s->m), by = t_guarded_upload(NULL, in->ny);
    cl_mem bcol = t_guarded_upload(NULL, col_floats);
    clt_conv_relu_forward(d, l, s->n, clt_at(by, T_GUARD), clt_at(bx, T_GUARD), clt_at(bw, T_GUARD),
                          clt_at(bb, T_GUARD), clt_at(bcol, T_GUARD), col_floats);
    bool intact = true;
    float *y = t_guarded_download(by, in->ny, &intact);
    free(t_guarded_download(bcol, col_floats, &intact));
    char name[200], what[96];
    snprintf(what, sizeof what, "forward with ReLU, chunks of %d: nothing written outside the views", chunk);
    case_name(name, sizeof name, what, s);
    t_check(intact, "%s", name);
    to_nchw_in_place(y, s->n, s->m, hw_out);
    clt_free(bx), clt_free(bw), clt_free(bb), clt_free(by), clt_free(bcol);
    free(x_cnhw);
    return y;
}

/* The reference forward as a function of one of its arguments, for t_numeric_grad. */
typedef struct fd_ctx {
    const conv_case *s;
    const double *x, *weight, *bias;
    enum { WRT_X, WRT_WEIGHT, WRT_BIAS } wrt;
} fd_ctx;

static void conv_fn(void *ctx, const double *p, double *y) {
    const fd_ctx *f = ctx;
    const conv_case *s = f->s;
    ref_conv_forward(y, f->wrt == WRT_X ? p : f->x, f->wrt == WRT_WEIGHT ? p : f->weight,
                     f->wrt == WRT_BIAS ? p : f->bias, s->n, s->c, s->h, s->w, s->m, s->k, s->stride, s->pad,
                     s->group);
}

/* what_out names what the forward output is compared with, what_grad the gradients. */
static bool close_all(const char *what_out, const char *what_grad, const conv_case *s, const conv_outputs *got,
                      const double *y, const double *dx, const double *dweight, const double *dbias,
                      const conv_inputs *in, double atol, double rtol) {
    char name[200];
    char label[120];
    bool ok = true;
    const char *what = what_grad;
    snprintf(label, sizeof label, "forward%s", what_out);
    case_name(name, sizeof name, label, s);
    ok &= t_close(name, got->y, y, in->ny, atol, rtol);
    if (got->dx) {
        snprintf(label, sizeof label, "backward din%s", what);
        case_name(name, sizeof name, label, s);
        ok &= t_close(name, got->dx, dx, in->nx, atol, rtol);
    }
    snprintf(label, sizeof label, "backward dweight%s", what);
    case_name(name, sizeof name, label, s);
    ok &= t_close(name, got->dweight, dweight, in->nw, atol, rtol);
    snprintf(label, sizeof label, "backward dbias%s", what);
    case_name(name, sizeof name, label, s);
    ok &= t_close(name, got->dbias, dbias, s->m, atol, rtol);
    return ok;
}

static void same_bits_all(const char *what, const conv_case *s, const conv_outputs *a, const conv_outputs *b,
                          const conv_inputs *in) {
    char name[200];
    case_name(name, sizeof name, what, s);
    bool both_dx = a->dx && b->dx;
    bool ok = !memcmp(a->y, b->y, in->ny * sizeof(float)) && !memcmp(a->dweight, b->dweight, in->nw * sizeof(float)) &&
              !memcmp(a->dbias, b->dbias, s->m * sizeof(float)) &&
              (!both_dx || !memcmp(a->dx, b->dx, in->nx * sizeof(float)));
    t_check(ok, "%s (out, %sdweight, dbias bit-identical)", name, both_dx ? "din, " : "");
}

static void check_case(const conv_case *s, uint64_t seed) {
    conv_inputs in = make_inputs(s, seed);
    double *x = t_to_double(in.x, in.nx), *weight = t_to_double(in.weight, in.nw), *bias = t_to_double(in.bias, s->m);
    double *dy = t_to_double(in.dy, in.ny);
    double *y = clt_malloc(in.ny * sizeof(double));
    ref_conv_forward(y, x, weight, bias, s->n, s->c, s->h, s->w, s->m, s->k, s->stride, s->pad, s->group);

    /* finite differences of L = Σ dy · conv(x, weight, bias) */
    double *fd_dx = clt_malloc(in.nx * sizeof(double)), *fd_dw = clt_malloc(in.nw * sizeof(double));
    double *fd_db = clt_malloc(s->m * sizeof(double));
    fd_ctx f = {s, x, weight, bias, WRT_X};
    t_numeric_grad(conv_fn, &f, x, in.nx, dy, in.ny, FD_EPS, fd_dx);
    f.wrt = WRT_WEIGHT;
    t_numeric_grad(conv_fn, &f, weight, in.nw, dy, in.ny, FD_EPS, fd_dw);
    f.wrt = WRT_BIAS;
    t_numeric_grad(conv_fn, &f, bias, s->m, dy, in.ny, FD_EPS, fd_db);

    /* the analytic reference backward, which the network test relies on */
    double *ref_dx = clt_malloc(in.nx * sizeof(double)), *ref_dw = clt_malloc(in.nw * sizeof(double));
    double *ref_db = clt_malloc(s->m * sizeof(double));
    ref_conv_backward(ref_dx, ref_dw, ref_db, dy, x, weight, s->n, s->c, s->h, s->w, s->m, s->k, s->stride, s->pad,
                      s->group);
    char name[200];
    struct { const char *what; const double *ref, *fd; size_t n; } grads[] = {
        {"reference backward din vs finite differences", ref_dx, fd_dx, in.nx},
        {"reference backward dweight vs finite differences", ref_dw, fd_dw, in.nw},
        {"reference backward dbias vs finite differences", ref_db, fd_db, (size_t)s->m},
    };
    for (size_t g = 0; g < CLT_ARRAY_LEN(grads); g++) {
        /* compared in float64: t_close's float input would hide the reference's own error */
        double worst = 0;
        size_t bad = 0;
        for (size_t i = 0; i < grads[g].n; i++) {
            double err = fabs(grads[g].ref[i] - grads[g].fd[i]);
            if (err > REF_TOL + REF_TOL * fabs(grads[g].fd[i])) bad++;
            if (err > worst) worst = err;
        }
        case_name(name, sizeof name, grads[g].what, s);
        t_check(bad == 0, "%s (%zu values, atol %.0e rtol %.0e; %zu off, largest difference %.1e)", name,
                grads[g].n, REF_TOL, REF_TOL, bad, worst);
    }

    /* the whole batch in one chunk, twice: values, and the same bits */
    conv_outputs whole = run_device(s, &in, s->n, true);
    close_all(" vs reference", " vs finite differences", s, &whole, y, fd_dx, fd_dw, fd_db, &in, DEV_ATOL, DEV_RTOL);
    conv_outputs again = run_device(s, &in, s->n, true);
    same_bits_all("determinism, two runs", s, &whole, &again, &in);
    free_outputs(&again);

    /* the forward with its ReLU fused into the bias's pass: max(reference, 0), whole batch and chunks
       of 1, and the bits of max(clt_conv_forward, 0) */
    double *y_relu = clt_malloc(in.ny * sizeof(double));
    for (size_t i = 0; i < in.ny; i++) y_relu[i] = y[i] > 0 ? y[i] : 0;
    for (int chunk = s->n; chunk >= 1; chunk = chunk > 1 ? 1 : 0) {
        float *got = run_relu_forward(s, &in, chunk);
        char what[96];
        snprintf(what, sizeof what, "forward with ReLU, chunks of %d, vs max(reference, 0)", chunk);
        case_name(name, sizeof name, what, s);
        t_close(name, got, y_relu, in.ny, DEV_ATOL, DEV_RTOL);
        if (chunk == s->n) {
            bool same = true;
            for (size_t i = 0; i < in.ny; i++) {
                float want = whole.y[i] > 0 ? whole.y[i] : 0.0f;
                same &= !memcmp(&got[i], &want, sizeof want);
            }
            case_name(name, sizeof name, "forward with ReLU is max(forward, 0) bit for bit", s);
            t_check(same, "%s", name);
        }
        free(got);
    }
    free(y_relu);

    /* chunks of 1 and 2 images must agree with the whole batch */
    double *whole_y = t_to_double(whole.y, in.ny), *whole_dx = t_to_double(whole.dx, in.nx);
    double *whole_dw = t_to_double(whole.dweight, in.nw), *whole_db = t_to_double(whole.dbias, s->m);
    for (int chunk = 1; chunk < s->n && chunk <= 2; chunk++) {
        char what[64];
        snprintf(what, sizeof what, ", chunks of %d image%s, vs whole batch", chunk, chunk > 1 ? "s" : "");
        conv_outputs part = run_device(s, &in, chunk, true);
        close_all(what, what, s, &part, whole_y, whole_dx, whole_dw, whole_db, &in, DEV_ATOL, DEV_RTOL);
        conv_outputs part_again = run_device(s, &in, chunk, true);
        snprintf(what, sizeof what, "determinism, chunks of %d, two runs", chunk);
        same_bits_all(what, s, &part, &part_again, &in);
        free_outputs(&part), free_outputs(&part_again);
    }

    /* the weight-gradient layout this device does not use by default (transposed im2col and a plain
       product on CPUs, im2col and a product with colᵀ on GPUs), whole batch and chunks of 1 */
    clt_device *d = t_device();
    d->conv_dweight_nn = !d->conv_dweight_nn;
    for (int chunk = s->n; chunk >= 1; chunk = chunk > 1 ? 1 : 0) {
        char what[96];
        snprintf(what, sizeof what, ", dweight %s, chunks of %d, vs reference",
                 d->conv_dweight_nn ? "from transposed im2col" : "from im2col", chunk);
        conv_outputs other = run_device(s, &in, chunk, true);
        close_all(what, what, s, &other, y, ref_dx, ref_dw, ref_db, &in, DEV_ATOL, DEV_RTOL);
        free_outputs(&other);
    }
    d->conv_dweight_nn = !d->conv_dweight_nn;

    /* din.mem == NULL skips the input gradient and changes nothing else */
    conv_outputs no_din = run_device(s, &in, s->n, false);
    same_bits_all("backward without din, same dweight and dbias", s, &whole, &no_din, &in);
    free_outputs(&no_din);

    free_outputs(&whole);
    free(whole_y), free(whole_dx), free(whole_dw), free(whole_db);
    free(x), free(weight), free(bias), free(dy), free(y), free(fd_dx), free(fd_dw), free(fd_db), free(ref_dx),
        free(ref_dw), free(ref_db);
    free_inputs(&in);
}

/* CLBlast picks a direct GEMM kernel below XGEMM_MIN_INDIRECT_SIZE³ multiply-adds and an indirect one
   (padding and transposing copies around a tiled kernel) above; CaffeNet's convolutions at training
   batch sizes are above on PoCL, every shape here below. Forcing the threshold to 0 runs the indirect path with the same small
   shapes, against the analytic reference (itself checked against finite differences above). */
static void check_indirect_gemm(const conv_case *s, uint64_t seed) {
    conv_inputs in = make_inputs(s, seed);
    double *x = t_to_double(in.x, in.nx), *weight = t_to_double(in.weight, in.nw), *bias = t_to_double(in.bias, s->m);
    double *dy = t_to_double(in.dy, in.ny), *y = clt_malloc(in.ny * sizeof(double));
    double *dx = clt_malloc(in.nx * sizeof(double)), *dw = clt_malloc(in.nw * sizeof(double));
    double *db = clt_malloc(s->m * sizeof(double));
    ref_conv_forward(y, x, weight, bias, s->n, s->c, s->h, s->w, s->m, s->k, s->stride, s->pad, s->group);
    ref_conv_backward(dx, dw, db, dy, x, weight, s->n, s->c, s->h, s->w, s->m, s->k, s->stride, s->pad, s->group);
    int chunks[] = {s->n, 1};
    clt_device *d = t_device();
    for (int layout = 0; layout < 2; layout++, d->conv_dweight_nn = !d->conv_dweight_nn)
        for (size_t c = 0; c < CLT_ARRAY_LEN(chunks); c++) {
            int chunk = chunks[c];
            char what[120];
            snprintf(what, sizeof what, " (CLBlast indirect GEMM, dweight %s, chunks of %d) vs reference",
                     d->conv_dweight_nn ? "from transposed im2col" : "from im2col", chunk);
            conv_outputs o = run_device(s, &in, chunk, true);
            close_all(what, what, s, &o, y, dx, dw, db, &in, DEV_ATOL, DEV_RTOL);
            free_outputs(&o);
        }
    free(x), free(weight), free(bias), free(dy), free(y), free(dx), free(dw), free(db);
    free_inputs(&in);
}

static void check_bad_workspace(void) {
    clt_device *d = t_device();
    clt_conv l;
    clt_conv_init(&l, 2, 5, 5, 2, 3, 1, 1, 1);
    size_t need = clt_conv_col_floats(&l, 1);
    cl_mem buf = t_zeros(need);
    clt_view v = clt_at(buf, 0);
    clt_conv_forward(d, &l, 1, v, v, v, v, v, need - 1);
    t_check(!clt_device_ok(d) && strstr(d->error, "workspace") != NULL,
            "conv forward with a workspace smaller than one image is a recorded error (%s)", d->error);
    d->failed = 0; /* the error was the point; later checks need a working device */
    d->error[0] = 0;
    clt_free(buf);
}

int main(void) {
    for (size_t i = 0; i < CLT_ARRAY_LEN(CASES); i++) check_case(&CASES[i], 100 + 10 * i);
    check_bad_workspace();

    clt_device *d = t_device();
    const char *names[] = {"XGEMM_MIN_INDIRECT_SIZE"};
    const size_t values[] = {0};
    CLBlastStatusCode st = CLBlastOverrideParameters(d->id, "GemmRoutine", CLBlastPrecisionSingle, 1, names, values);
    t_check(st == CLBlastSuccess, "CLBlast accepts forcing the indirect GEMM path (status %d)", (int)st);
    if (st == CLBlastSuccess) {
        check_indirect_gemm(&CASES[1], 900);
        check_indirect_gemm(&CASES[2], 910);
    }
    return t_done();
}
