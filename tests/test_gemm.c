/* test_gemm.c — clt_gemm against a float64 reference on every path it can take: the row-major call
   and its column-major mirror, all four transpose forms, strided and offset C with beta, operands
   at aligned and misaligned offsets (sub-buffers), every shape class in turn (per-class parameter
   sets), and split-K (a tiny C with a long k, with and without a remainder slice). */
#include <math.h>
#include <stdlib.h>

#include "device/gemm.h"
#include "testutil.h"
#include "tune/tune.h"

/* a_off/b_off/c_off: where each operand starts in its buffer, in floats (an aligned offset takes
   gemm.c's sub-buffer path, a misaligned one CLBlast's own offset) */
static void check_at(bool ta, bool tb, size_t m, size_t n, size_t k, size_t ldc_extra, size_t a_off, size_t b_off,
                     size_t c_off, float beta, uint64_t seed) {
    clt_device *d = t_device();
    size_t lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 1, ldc = n + ldc_extra;
    size_t na = a_off + (ta ? k : m) * lda, nb = b_off + (tb ? n : k) * ldb, nc = c_off + m * ldc;
    float *a = clt_malloc(na * sizeof(float)), *b = clt_malloc(nb * sizeof(float)), *c = clt_malloc(nc * sizeof(float));
    t_fill(a, na, seed, -1, 1);
    t_fill(b, nb, seed + 1, -1, 1);
    t_fill(c, nc, seed + 2, -1, 1);
    double *want = clt_malloc(nc * sizeof(double));
    for (size_t x = 0; x < nc; x++) want[x] = c[x];
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < k; p++)
                s += (double)(ta ? a[a_off + p * lda + i] : a[a_off + i * lda + p]) *
                     (tb ? b[b_off + j * ldb + p] : b[b_off + p * ldb + j]);
            want[c_off + i * ldc + j] = 0.5 * s + beta * (double)c[c_off + i * ldc + j];
        }
    cl_mem ba = t_upload(a, na), bb = t_upload(b, nb), bc = t_upload(c, nc);
    clt_gemm(d, ta, tb, m, n, k, 0.5f, clt_at(ba, a_off), lda, clt_at(bb, b_off), ldb, beta, clt_at(bc, c_off), ldc,
             "test");
    float *got = t_download(bc, nc);
    char name[160];
    snprintf(name, sizeof name, "gemm %c%c m=%zu n=%zu k=%zu ldc=%zu offsets a=%zu b=%zu c=%zu beta=%g layout=%d%s",
             ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, ldc, a_off, b_off, c_off, beta, (int)d->gemm.layout,
             d->is_gpu ? " (GPU paths)" : "");
    t_close(name, got, want, nc, 1e-5, 2e-5 * sqrt((double)k));
    clt_free(ba), clt_free(bb), clt_free(bc);
    free(a), free(b), free(c), free(want), free(got);
}

static void check(bool ta, bool tb, size_t m, size_t n, size_t k, size_t ldc_extra, size_t c_off, float beta,
                  uint64_t seed) {
    check_at(ta, tb, m, n, k, ldc_extra, 0, 0, c_off, beta, seed);
}

int main(void) {
    uint64_t seed = 1;
    /* chosen by shape, the row-major call, the mirror */
    for (int layout = CLT_GEMM_AUTO; layout <= CLT_GEMM_MIRROR; layout++) {
        t_device()->gemm.layout = (clt_gemm_layout)layout;
        for (int t = 0; t < 4; t++) {
            bool ta = t & 1, tb = t & 2;
            check(ta, tb, 37, 45, 29, 0, 0, 0.0f, seed++);
            check(ta, tb, 20, 70, 53, 11, 7, 1.0f, seed++); /* a strided, offset block of C */
            /* a group's blocks: every operand at an offset, aligned (sub-buffers) and not */
            size_t aligned = t_device()->mem_align_bytes / sizeof(float) * 3;
            check_at(ta, tb, 33, 64, 48, 0, aligned, 2 * aligned, aligned, 1.0f, seed++);
            check_at(ta, tb, 33, 64, 48, 5, aligned + 1, aligned, 2 * aligned + 3, 0.0f, seed++);
        }
    }
    t_device()->gemm.layout = CLT_GEMM_AUTO;
    /* A C of 6×9 cannot fill a device and k is long: CPUs take the direct kernel, GPUs split k
       (4099 leaves a remainder slice). Both paths run here whatever the device is. */
    clt_device *d = t_device();
    /* The shape classes of the nets' products, as src/device/tuning.h defines them */
    t_check(clt_gemm_class_of(false, false, 32, 400, 25088) == CLT_GEMM_LONGK, "a weight gradient is longk");
    t_check(clt_gemm_class_of(false, true, 256, 4096, 9216) == CLT_GEMM_WIDE, "CaffeNet's fc6 forward is wide");
    t_check(clt_gemm_class_of(true, false, 400, 25088, 32) == CLT_GEMM_TN, "a narrow layer's input gradient is tn");
    t_check(clt_gemm_class_of(true, false, 2304, 2704, 384) == CLT_GEMM_WIDE, "CaffeNet's conv3 input gradient is wide");
    t_check(clt_gemm_class_of(false, false, 32, 25088, 400) == CLT_GEMM_NARROW, "a 32-channel forward is narrow");
    t_check(clt_gemm_class_of(false, false, 384, 2704, 2304) == CLT_GEMM_WIDE, "CaffeNet's conv3 forward is wide");
    /* Calls of every class in turn, so the door switches parameter sets (where the database has
       class lines for this device) back and forth; each result against the reference, with the
       classes followed and with the kernel-wide set only. */
    for (int classes = 1; classes >= 0; classes--) {
        d->gemm.classes = classes;
        for (int round = 0; round < 2; round++) {
            check_at(false, false, 24, 40, 2400, 0, 0, 0, 0, 0.0f, seed++);              /* longk */
            check_at(true, false, 200, 96, 24, 0, 0, 0, 0, 0.0f, seed++);                /* tn */
            check_at(false, false, 24, 520, 72, 3, 0, 0, 0, 1.0f, seed++);               /* narrow */
            check_at(false, true, 130, 150, 90, 0, 0, 0, 0, 0.0f, seed++);               /* wide */
            check_at(true, false, 72, 64, 48, 0, d->mem_align_bytes / 4, 0, 0, 1.0f, seed++); /* tn, offset */
        }
        t_check(clt_device_ok(d), "no device error with the shape classes %s", classes ? "followed" : "off");
    }
    d->gemm.classes = true;
    bool gpu = d->is_gpu;
    for (int pass = 0; pass < 2; pass++) {
        d->is_gpu = pass == 1;
        check(false, true, 6, 9, 8192, 0, 0, 1.0f, seed++);
        check(false, true, 6, 9, 4099, 0, 5, 0.5f, seed++);
        check(true, false, 9, 6, 5000, 0, 0, 0.0f, seed++);
        /* ldc > n cannot be summed as one row: the unsplit path */
        check(false, true, 6, 9, 4099, 4, 0, 1.0f, seed++);
    }
    d->is_gpu = gpu;
    return t_done();
}
