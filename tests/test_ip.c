/* test_ip.c — inner product on the device against the float64 reference: forward values; backward
   (din, dweight, dbias) against finite differences of the reference; the reference's analytic
   backward against the same finite differences; bit-identical reruns; a skipped input gradient; and
   CLBlast's indirect GEMM path, which fc6..fc8 take.

   Tolerances (|got − want| ≤ atol + rtol·|want|):
     device vs reference or finite differences   atol 2e-5, rtol 2e-5 (float32 sums of ≤ 300 terms)
     reference analytic backward vs finite diff  atol 1e-9, rtol 1e-9 (linear in each argument, so
                                                  central differences are exact up to rounding) */
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

typedef struct ip_case {
    int n, in, out;
} ip_case;

static const ip_case CASES[] = {
    {1, 1, 1},     /* degenerate */
    {3, 7, 5},     /* odd sizes */
    {4, 37, 19},   /* sizes that fit no tile */
    {2, 300, 10},  /* long dot products */
    {5, 64, 130},  /* wide output */
};

typedef struct ip_tensors {
    float *y, *dx, *dweight, *dbias;
} ip_tensors;

static void free_tensors(ip_tensors *t) { free(t->y), free(t->dx), free(t->dweight), free(t->dbias); }

static void case_name(char *buf, size_t size, const char *what, const ip_case *s) {
    snprintf(buf, size, "ip %s n=%d in=%d out=%d", what, s->n, s->in, s->out);
}

/* Forward and backward on the device. */
static ip_tensors run_device(const ip_case *s, const float *x, const float *weight, const float *bias,
                             const float *dy, bool with_din) {
    clt_device *d = t_device();
    clt_ip l = {.in = s->in, .out = s->out};
    size_t nx = (size_t)s->n * s->in, nw = (size_t)s->out * s->in, ny = (size_t)s->n * s->out;
    cl_mem bx = t_guarded_upload(x, nx), bw = t_guarded_upload(weight, nw), bb = t_guarded_upload(bias, s->out);
    cl_mem bdy = t_guarded_upload(dy, ny), by = t_guarded_upload(NULL, ny), bdw = t_guarded_upload(NULL, nw);
    cl_mem bdb = t_guarded_upload(NULL, s->out), bdx = with_din ? t_guarded_upload(NULL, nx) : NULL;
    clt_ip_forward(d, &l, s->n, clt_at(by, T_GUARD), clt_at(bx, T_GUARD), clt_at(bw, T_GUARD), clt_at(bb, T_GUARD));
    clt_ip_backward(d, &l, s->n, clt_at(bdx, T_GUARD), clt_at(bdw, T_GUARD), clt_at(bdb, T_GUARD), clt_at(bdy, T_GUARD),
                    clt_at(bx, T_GUARD), clt_at(bw, T_GUARD));
    bool intact = true;
    ip_tensors t = {0};
    t.y = t_guarded_download(by, ny, &intact);
    t.dweight = t_guarded_download(bdw, nw, &intact);
    t.dbias = t_guarded_download(bdb, s->out, &intact);
    if (with_din) t.dx = t_guarded_download(bdx, nx, &intact);
    float *x_after = t_guarded_download(bx, nx, &intact), *dy_after = t_guarded_download(bdy, ny, &intact);
    free(t_guarded_download(bw, nw, &intact));
    free(t_guarded_download(bb, s->out, &intact));
    char name[160];
    case_name(name, sizeof name, "run", s);
    t_check(intact && !memcmp(x_after, x, nx * sizeof(float)) && !memcmp(dy_after, dy, ny * sizeof(float)),
            "%s: inputs unchanged, nothing written outside the views", name);
    clt_free(bx), clt_free(bw), clt_free(bb), clt_free(bdy), clt_free(by), clt_free(bdw), clt_free(bdb),
        clt_free(bdx);
    free(x_after), free(dy_after);
    return t;
}

typedef struct fd_ctx {
    const ip_case *s;
    const double *x, *weight, *bias;
    enum { WRT_X, WRT_WEIGHT, WRT_BIAS } wrt;
} fd_ctx;

static void ip_fn(void *ctx, const double *p, double *y) {
    const fd_ctx *f = ctx;
    ref_ip_forward(y, f->wrt == WRT_X ? p : f->x, f->wrt == WRT_WEIGHT ? p : f->weight,
                   f->wrt == WRT_BIAS ? p : f->bias, f->s->n, f->s->in, f->s->out);
}

/* Checks the analytic reference in float64 (t_close takes a float `got`, which would hide its error). */
static void check_reference(const char *what, const ip_case *s, const double *ref, const double *fd, size_t n) {
    size_t bad = 0;
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs(ref[i] - fd[i]);
        if (err > REF_TOL + REF_TOL * fabs(fd[i])) bad++;
        if (err > worst) worst = err;
    }
    char name[160];
    case_name(name, sizeof name, what, s);
    t_check(bad == 0, "%s (%zu values, atol %.0e rtol %.0e; %zu off, largest difference %.1e)", name, n, REF_TOL,
            REF_TOL, bad, worst);
}

static void check_case(const ip_case *s, uint64_t seed, bool indirect) {
    size_t nx = (size_t)s->n * s->in, nw = (size_t)s->out * s->in, ny = (size_t)s->n * s->out;
    float *x = clt_malloc(nx * sizeof(float)), *weight = clt_malloc(nw * sizeof(float));
    float *bias = clt_malloc(s->out * sizeof(float)), *dy = clt_malloc(ny * sizeof(float));
    t_fill(x, nx, seed, -1, 1);
    t_fill(weight, nw, seed + 1, -1, 1);
    t_fill(bias, s->out, seed + 2, -1, 1);
    t_fill(dy, ny, seed + 3, -1, 1);
    double *xd = t_to_double(x, nx), *wd = t_to_double(weight, nw), *bd = t_to_double(bias, s->out);
    double *dyd = t_to_double(dy, ny), *y = clt_malloc(ny * sizeof(double));
    double *dx = clt_malloc(nx * sizeof(double)), *dw = clt_malloc(nw * sizeof(double));
    double *db = clt_malloc(s->out * sizeof(double));
    ref_ip_forward(y, xd, wd, bd, s->n, s->in, s->out);
    const char *against = indirect ? "(CLBlast indirect GEMM) vs reference" : "vs finite differences";
    if (indirect) {
        /* the analytic reference, already checked against finite differences for the small cases */
        ref_ip_backward(dx, dw, db, dyd, xd, wd, s->n, s->in, s->out);
    } else {
        fd_ctx f = {s, xd, wd, bd, WRT_X};
        t_numeric_grad(ip_fn, &f, xd, nx, dyd, ny, FD_EPS, dx);
        f.wrt = WRT_WEIGHT;
        t_numeric_grad(ip_fn, &f, wd, nw, dyd, ny, FD_EPS, dw);
        f.wrt = WRT_BIAS;
        t_numeric_grad(ip_fn, &f, bd, s->out, dyd, ny, FD_EPS, db);
        double *ref_dx = clt_malloc(nx * sizeof(double)), *ref_dw = clt_malloc(nw * sizeof(double));
        double *ref_db = clt_malloc(s->out * sizeof(double));
        ref_ip_backward(ref_dx, ref_dw, ref_db, dyd, xd, wd, s->n, s->in, s->out);
        check_reference("reference backward din vs finite differences", s, ref_dx, dx, nx);
        check_reference("reference backward dweight vs finite differences", s, ref_dw, dw, nw);
        check_reference("reference backward dbias vs finite differences", s, ref_db, db, s->out);
        free(ref_dx), free(ref_dw), free(ref_db);
    }

    ip_tensors got = run_device(s, x, weight, bias, dy, true);
    char name[200], what[120];
    snprintf(what, sizeof what, "forward %s", indirect ? "(CLBlast indirect GEMM) vs reference" : "vs reference");
    case_name(name, sizeof name, what, s);
    t_close(name, got.y, y, ny, DEV_ATOL, DEV_RTOL);
    snprintf(what, sizeof what, "backward din %s", against);
    case_name(name, sizeof name, what, s);
    t_close(name, got.dx, dx, nx, DEV_ATOL, DEV_RTOL);
    snprintf(what, sizeof what, "backward dweight %s", against);
    case_name(name, sizeof name, what, s);
    t_close(name, got.dweight, dw, nw, DEV_ATOL, DEV_RTOL);
    snprintf(what, sizeof what, "backward dbias %s", against);
    case_name(name, sizeof name, what, s);
    t_close(name, got.dbias, db, s->out, DEV_ATOL, DEV_RTOL);

    if (!indirect) {
        ip_tensors again = run_device(s, x, weight, bias, dy, true);
        case_name(name, sizeof name, "determinism, two runs", s);
        t_check(!memcmp(got.y, again.y, ny * sizeof(float)) && !memcmp(got.dx, again.dx, nx * sizeof(float)) &&
                    !memcmp(got.dweight, again.dweight, nw * sizeof(float)) &&
                    !memcmp(got.dbias, again.dbias, s->out * sizeof(float)),
                "%s (out, din, dweight, dbias bit-identical)", name);
        free_tensors(&again);
        ip_tensors no_din = run_device(s, x, weight, bias, dy, false);
        case_name(name, sizeof name, "backward without din, same dweight and dbias", s);
        t_check(!memcmp(got.dweight, no_din.dweight, nw * sizeof(float)) &&
                    !memcmp(got.dbias, no_din.dbias, s->out * sizeof(float)),
                "%s (bit-identical)", name);
        free_tensors(&no_din);
    }
    free_tensors(&got);
    free(x), free(weight), free(bias), free(dy), free(xd), free(wd), free(bd), free(dyd), free(y), free(dx), free(dw),
        free(db);
}

int main(void) {
    for (size_t i = 0; i < CLT_ARRAY_LEN(CASES); i++) check_case(&CASES[i], 500 + 10 * i, false);

    /* CLBlast switches from its direct GEMM kernel to the indirect one (padding and transposing copies
       around a tiled kernel) above XGEMM_MIN_INDIRECT_SIZE³ multiply-adds; forcing the threshold to 0
       runs that path with small shapes. */
    clt_device *d = t_device();
    const char *names[] = {"XGEMM_MIN_INDIRECT_SIZE"};
    const size_t values[] = {0};
    CLBlastStatusCode st = CLBlastOverrideParameters(d->id, "GemmRoutine", CLBlastPrecisionSingle, 1, names, values);
    t_check(st == CLBlastSuccess, "CLBlast accepts forcing the indirect GEMM path (status %d)", (int)st);
    if (st == CLBlastSuccess) {
        check_case(&CASES[2], 900, true);
        check_case(&CASES[4], 910, true);
    }
    return t_done();
}
