/* gemm.c — SGEMM through CLBlast, shaped for speed: the cheaper of the row-major call and its
   column-major mirror, one kept temporary buffer, and narrow calls (tiny C, long k) sent to the
   direct kernel on CPUs or split along k on GPUs. CLBlast's status codes are reported by name.
   Measurements behind each choice: bench/RESULTS-gemm.md. */
#include "device/gemm.h"

#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>

#include "device/clblast.h"
#include "device/tuning.h"

/* Experiment knobs (environment, read once): CLT_GEMM_LAYOUT=row|col|auto|2 (2: the plain C API),
   CLT_GEMM_TEMP=0|1, CLT_GEMM_SPLITK=0|1. */
static int knob(const char *name, int fallback) {
    const char *v = getenv(name);
    if (!v || !*v) return fallback;
    if (!strcmp(v, "row")) return 1;
    if (!strcmp(v, "col")) return 0;
    if (!strcmp(v, "auto")) return -1;
    return atoi(v);
}

/* Buffers kept per context and grown on demand: CLBlast's temporary (which it would otherwise
   create and release on every call; on a CPU driver each new buffer is fresh pages to fault in),
   the split-K partial sums, and a column of ones that sums them. */
enum { BUF_TEMP, BUF_PARTIAL, BUF_ONES, N_BUFS };
typedef struct ctx_bufs {
    cl_context context;
    cl_mem mem[N_BUFS];
    size_t bytes[N_BUFS];
} ctx_bufs;
static ctx_bufs bufs[4];

static cl_mem ctx_buffer(clt_device *d, int which, size_t bytes) {
    ctx_bufs *t = NULL;
    for (size_t i = 0; i < CLT_ARRAY_LEN(bufs) && !t; i++)
        if (bufs[i].context == d->context) t = &bufs[i];
    for (size_t i = 0; i < CLT_ARRAY_LEN(bufs) && !t; i++)
        if (!bufs[i].context) t = &bufs[i];
    if (!t) return NULL;
    t->context = d->context;
    if (t->bytes[which] < bytes) {
        if (t->mem[which]) clReleaseMemObject(t->mem[which]);
        cl_int err;
        size_t want = bytes + bytes / 4; /* headroom so slightly larger shapes do not regrow */
        t->mem[which] = clCreateBuffer(d->context, CL_MEM_READ_WRITE, want, NULL, &err);
        t->bytes[which] = err == CL_SUCCESS ? want : 0;
        if (err != CL_SUCCESS) t->mem[which] = NULL;
        if (err == CL_SUCCESS && which == BUF_ONES) {
            float one = 1.0f;
            err = clEnqueueFillBuffer(d->queue, t->mem[which], &one, sizeof one, 0, want / 4 * 4, 0, NULL, NULL);
            if (err != CL_SUCCESS) {
                clReleaseMemObject(t->mem[which]);
                t->mem[which] = NULL;
                t->bytes[which] = 0;
            }
        }
    }
    return t->mem[which];
}

int clt_gemm_layout = -3, clt_gemm_temp = -3, clt_gemm_splitk = -3;

static void read_knobs(void) {
    if (clt_gemm_layout == -3) clt_gemm_layout = knob("CLT_GEMM_LAYOUT", -1);
    if (clt_gemm_temp == -3) clt_gemm_temp = knob("CLT_GEMM_TEMP", 1);
    if (clt_gemm_splitk == -3) clt_gemm_splitk = knob("CLT_GEMM_SPLITK", 1);
}

/* Row-major C = op(A)·op(B) is also column-major Cᵀ = op(B)ᵀ·op(A)ᵀ on the same memory, and the
   two calls cost differently: CLBlast's main kernel (GEMMK=0) wants A and C in the other order
   than row-major gives, so a row-major call transposes A and C through temporary buffers, while
   the mirrored call transposes only op(A) — in a layer the small weight matrix — and leaves C in
   place. The mirror puts our n on the kernel's MWG side and our m on its NWG side, so a narrow m
   (a layer with few output channels) can waste most of an NWG tile on padding; the row-major
   call is kept where its padded area is clearly smaller. GEMMK=1 wants the row-major order. */
static bool use_row_major(clt_device *d, size_t m, size_t n) {
    if (clt_gemm_layout == 0 || clt_gemm_layout == 1) return clt_gemm_layout == 1;
    if (clt_tuning_param(d, "Xgemm", "GEMMK", 0) == 1) return true;
    size_t mwg = clt_tuning_param(d, "Xgemm", "MWG", 64), nwg = clt_tuning_param(d, "Xgemm", "NWG", 64);
    double mirror = (double)clt_round_up(n, mwg) * clt_round_up(m, nwg);
    double row = (double)clt_round_up(m, mwg) * clt_round_up(n, nwg);
    return row * 1.5 < mirror;
}

/* CLBlast's indirect GEMM copies an operand into a padded temporary unless it starts at offset 0
   (with its other conditions met), so a group's block of the im2col buffer or of the output,
   which sits at an offset, would be copied whole on every call (measured: the second group of the
   small net's conv2 forward at 62–74 GFLOP/s against 226–263 for the first). A view at an offset
   the device can start a buffer at becomes a sub-buffer starting there; *made gets it to release
   after the call (OpenCL keeps it alive until the enqueued work is done). Where no sub-buffer can
   be made (a misaligned offset, a view that is itself a sub-buffer) the view stays as it is, which
   gives the same result through CLBlast's copy. */
static clt_view at_offset_zero(clt_device *d, clt_view v, cl_mem *made) {
    *made = NULL;
    size_t start = v.off * sizeof(float), size = 0;
    if (v.off == 0 || !v.mem || start % d->mem_align_bytes || getenv("CLT_GEMM_NOSUB")) return v;
    if (clGetMemObjectInfo(v.mem, CL_MEM_SIZE, sizeof size, &size, NULL) != CL_SUCCESS || size <= start) return v;
    cl_buffer_region region = {start, size - start};
    cl_int err;
    cl_mem sub = clCreateSubBuffer(v.mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS) return v;
    *made = sub;
    return clt_at(sub, 0);
}

static int sgemm_at(clt_device *d, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha, clt_view a,
                    size_t lda, clt_view b, size_t ldb, float beta, clt_view c, size_t ldc);

/* One CLBlast GEMM call with every operand moved to offset 0 where it can be; returns CLBlast's
   status. */
static int sgemm(clt_device *d, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha, clt_view a,
                 size_t lda, clt_view b, size_t ldb, float beta, clt_view c, size_t ldc) {
    cl_mem made[3];
    clt_view a0 = at_offset_zero(d, a, &made[0]), b0 = at_offset_zero(d, b, &made[1]),
             c0 = at_offset_zero(d, c, &made[2]);
    int s = sgemm_at(d, trans_a, trans_b, m, n, k, alpha, a0, lda, b0, ldb, beta, c0, ldc);
    for (int i = 0; i < 3; i++)
        if (made[i]) clReleaseMemObject(made[i]);
    return s;
}

static int sgemm_at(clt_device *d, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha, clt_view a,
                    size_t lda, clt_view b, size_t ldb, float beta, clt_view c, size_t ldc) {
    if (clt_gemm_layout == 2)
        return CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                            trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a.mem, a.off, lda,
                            b.mem, b.off, ldb, beta, c.mem, c.off, ldc, &d->queue, NULL);
    bool row = use_row_major(d, m, n);
    bool ta = row ? trans_a : trans_b, tb = row ? trans_b : trans_a;
    size_t mm = row ? m : n, nn = row ? n : m, ld1 = row ? lda : ldb, ld2 = row ? ldb : lda;
    clt_view v1 = row ? a : b, v2 = row ? b : a;
    cl_mem temp = NULL;
    if (clt_gemm_temp) {
        size_t bytes = 0;
        int s = clt_clblast_sgemm_temp_bytes(row, ta, tb, mm, nn, k, v1.off, ld1, v2.off, ld2, c.off, ldc, &d->queue,
                                             &bytes);
        if (s == 0 && bytes > 0) temp = ctx_buffer(d, BUF_TEMP, bytes);
    }
    return clt_clblast_sgemm(row, ta, tb, mm, nn, k, alpha, v1.mem, v1.off, ld1, v2.mem, v2.off, ld2, beta, c.mem,
                             c.off, ldc, &d->queue, temp);
}

/* A GEMM parallelises over tiles of C only, so a weight gradient with a tiny C (conv1: 32×25) and
   a huge k (the batch's pixels) runs as one or two work-groups: one core of a CPU, one unit of a
   GPU. Such a call is "narrow"; *tiles gets the indirect kernel's tile count. */
static bool narrow(clt_device *d, size_t m, size_t n, size_t k, size_t *tiles) {
    size_t mwg = clt_tuning_param(d, "Xgemm", "MWG", 64), nwg = clt_tuning_param(d, "Xgemm", "NWG", 64);
    *tiles = (clt_round_up(n, mwg) / mwg) * (clt_round_up(m, nwg) / nwg);
    return k >= 4096 && *tiles * 2 < 4 * (d->compute_units ? d->compute_units : 1);
}

/* How many slices of k to compute in parallel for a narrow call; 1 when splitting does not pay. */
static size_t split_count(clt_device *d, size_t m, size_t n, size_t k, size_t ldc) {
    size_t tiles;
    if (!clt_gemm_splitk || ldc != n || !narrow(d, m, n, k, &tiles)) return 1;
    size_t want = 4 * (d->compute_units ? d->compute_units : 1);
    size_t s = (want + tiles - 1) / tiles;
    if (s > k / 1024) s = k / 1024; /* each slice keeps a k long enough to run at speed */
    if (s > 64) s = 64;
    return s < 2 ? 1 : s;
}

/* Split-K through CLBlast only: the slices as one strided-batched GEMM into partial sums, any
   remainder of k as a plain GEMM straight into C, then C += onesᵀ·partials as one more GEMM. */
static int sgemm_split(clt_device *d, size_t slices, bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                       float alpha, clt_view a, size_t lda, clt_view b, size_t ldb, float beta, clt_view c) {
    size_t kc = k / slices, rest = k - kc * slices, mn = m * n;
    cl_mem part = ctx_buffer(d, BUF_PARTIAL, slices * mn * sizeof(float));
    cl_mem ones = ctx_buffer(d, BUF_ONES, slices * sizeof(float));
    if (!part || !ones) return CLBlastTempBufferAllocFailure;
    /* slice s of op(A) is columns s·kc.. of op(A); of op(B), rows s·kc.. */
    size_t a_step = trans_a ? kc * lda : kc, b_step = trans_b ? kc : kc * ldb;
    bool row = use_row_major(d, m, n);
    int s = row ? clt_clblast_sgemm_strided(true, trans_a, trans_b, m, n, kc, alpha, a.mem, a.off, lda, a_step, b.mem,
                                            b.off, ldb, b_step, 0.0f, part, 0, n, mn, slices, &d->queue)
                : clt_clblast_sgemm_strided(false, trans_b, trans_a, n, m, kc, alpha, b.mem, b.off, ldb, b_step, a.mem,
                                            a.off, lda, a_step, 0.0f, part, 0, n, mn, slices, &d->queue);
    if (s != 0) return s;
    float beta_sum = beta;
    if (rest) {
        s = sgemm(d, trans_a, trans_b, m, n, rest, alpha, clt_shift(a, slices * a_step), lda,
                  clt_shift(b, slices * b_step), ldb, beta, c, n);
        if (s != 0) return s;
        beta_sum = 1.0f;
    }
    /* C seen as one row of m·n floats (ldc == n) is the sum of the partial rows */
    return sgemm(d, false, false, 1, mn, slices, 1.0f, clt_at(ones, 0), slices, clt_at(part, 0), mn, beta_sum, c, mn);
}

void clt_gemm(clt_device *d, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
              clt_view a, size_t lda, clt_view b, size_t ldb, float beta, clt_view c, size_t ldc,
              const char *what) {
    if (d->failed || m == 0 || n == 0) return;
    read_knobs();
    size_t tiles;
    int s;
    if (clt_gemm_layout != 2 && clt_gemm_splitk && !d->is_gpu && narrow(d, m, n, k, &tiles)) {
        /* On a CPU the indirect path first pads both long operands out to whole tiles — for
           conv1's weight gradient ~60 MB of copies for 160 MFLOP — which costs more than the
           direct kernel loses by being slower (measured 1.1 against 3.6–4.7 GFLOP/s); GPUs
           copy fast and need the parallelism, so they split k instead. */
        s = clt_tuning_force_direct(d, true) == 0 ? CLBlastSuccess : CLBlastUnexpectedError;
        if (s == CLBlastSuccess) s = sgemm(d, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (clt_tuning_force_direct(d, false) != 0 && s == CLBlastSuccess) s = CLBlastUnexpectedError;
    } else {
        size_t slices = clt_gemm_layout == 2 ? 1 : split_count(d, m, n, k, ldc);
        s = slices > 1 ? sgemm_split(d, slices, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c)
                       : sgemm(d, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
    if (s != CLBlastSuccess)
        clt_device_fail(d, "CLBlast error %s (%d) in CLBlastSgemm (%s: m=%zu n=%zu k=%zu%s%s)",
                        clt_clblast_status_name(s), (int)s, what, m, n, k, trans_a ? " A^T" : "",
                        trans_b ? " B^T" : "");
}
