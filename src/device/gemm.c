/* gemm.c — SGEMM through CLBlast, shaped for speed: per-call parameters by shape class, operands
   at offset 0 (sub-buffers), the cheaper of the row-major call and its column-major mirror, one
   kept temporary buffer, and narrow calls (tiny C, long k) sent to the direct kernel on CPUs or
   split along k on GPUs. CLBlast's status codes are reported by name.
   Measurements behind each choice: bench/RESULTS-gemm.md and bench/RESULTS.md. */
#include "device/gemm.h"

#include <clblast_c.h>
#include <stdlib.h>
#include <string.h>

#include "device/clblast.h"
#include "device/tuning.h"

/* A side of C at most this wide is "narrow": an output tile made for wide products pads it. 32, not
   64: the small net's 48-channel conv4 forward ran at 114 GFLOP/s with the wide tiles and 76 with
   the narrow ones, its 32-channel layers at the same speed or (conv1) 3× faster with the narrow. */
enum { NARROW_SIDE = 32 };
/* A call can be narrow (too few tiles of C to occupy the device) only when k is at least this
   long: below it the call is short whatever its parallelism. */
enum { NARROW_MIN_K = 4096 };
/* Work-groups per compute unit a call needs to keep the device busy (and balanced). */
enum { GROUPS_PER_UNIT = 4 };
/* Each split-k slice keeps at least this much of k, so its kernel runs at speed; at most this
   many slices. */
enum { SPLIT_MIN_K = 1024, SPLIT_MAX_SLICES = 64 };
/* The row-major call is taken over the mirror only where its padded area is this much smaller. */
static const double ROW_MAJOR_PAD_ADVANTAGE = 1.5;

/* A k at least this many times either side of C is "long": a weight gradient over a batch's
   pixels (k over the wider side: the small net's 11–3100 at batch 128, CaffeNet's 4.7–530 at
   batch 64), not an fc layer's forward product (2.25). */
enum { LONGK_RATIO = 4 };
/* A TN product with k at most this is an input gradient of a layer with few output channels (the
   small net's 32–96): a huge C from a short k, where a tile that does not divide C's sides makes
   CLBlast write all of C through a temporary. CaffeNet's input gradients
   (k = 128–384 per group) and fc weight gradients (k = the batch) stay WIDE. */
enum { TN_MAX_K = 96 };

clt_gemm_class clt_gemm_class_of(bool trans_a, bool trans_b, size_t m, size_t n, size_t k) {
    if (k >= LONGK_RATIO * m && k >= LONGK_RATIO * n) return CLT_GEMM_LONGK;
    if (trans_a && !trans_b && k <= TN_MAX_K) return CLT_GEMM_TN;
    if (m <= NARROW_SIDE || n <= NARROW_SIDE) return CLT_GEMM_NARROW;
    return CLT_GEMM_WIDE;
}

/* Buffers kept per context and grown on demand: CLBlast's temporary (which it would otherwise
   create and release on every call; on a CPU driver each new buffer is fresh pages to fault in),
   the split-K partial sums, and a column of ones that sums them. One entry per context ever
   used, grown as needed. */
enum { BUF_TEMP, BUF_PARTIAL, BUF_ONES, N_BUFS };
typedef struct ctx_bufs {
    cl_context context;
    cl_mem mem[N_BUFS];
    size_t bytes[N_BUFS];
} ctx_bufs;
static ctx_bufs *bufs;
static size_t n_bufs;

static cl_mem ctx_buffer(clt_device *d, int which, size_t bytes) {
    ctx_bufs *t = NULL;
    for (size_t i = 0; i < n_bufs && !t; i++)
        if (bufs[i].context == d->context) t = &bufs[i];
    if (!t) {
        bufs = clt_realloc(bufs, (n_bufs + 1) * sizeof *bufs);
        t = &bufs[n_bufs++];
        memset(t, 0, sizeof *t);
        t->context = d->context;
    }
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

/* The output tile of the indirect kernel now in effect; false (device failed) if CLBlast does not
   report it. */
static bool xgemm_tile(clt_device *d, size_t *mwg, size_t *nwg, size_t *gemmk) {
    return clt_tuning_param(d, "Xgemm", "MWG", mwg) == 0 && clt_tuning_param(d, "Xgemm", "NWG", nwg) == 0 &&
           clt_tuning_param(d, "Xgemm", "GEMMK", gemmk) == 0;
}

/* Row-major C = op(A)·op(B) is also column-major Cᵀ = op(B)ᵀ·op(A)ᵀ on the same memory, and the
   two calls cost differently: CLBlast's main kernel (GEMMK=0) wants A and C in the other order
   than row-major gives, so a row-major call transposes A and C through temporary buffers, while
   the mirrored call transposes only op(A) — in a layer the small weight matrix — and leaves C in
   place. The mirror puts our n on the kernel's MWG side and our m on its NWG side, so a narrow m
   (a layer with few output channels) can waste most of an NWG tile on padding; the row-major
   call is kept where its padded area is clearly smaller. GEMMK=1 wants the row-major order. */
static bool use_row_major(clt_device *d, size_t m, size_t n) {
    if (d->gemm.layout == CLT_GEMM_ROW || d->gemm.layout == CLT_GEMM_MIRROR) return d->gemm.layout == CLT_GEMM_ROW;
    size_t mwg = 1, nwg = 1, gemmk = 0;
    if (!xgemm_tile(d, &mwg, &nwg, &gemmk)) return true;
    if (gemmk == 1) return true;
    double mirror = (double)clt_round_up(n, mwg) * clt_round_up(m, nwg);
    double row = (double)clt_round_up(m, mwg) * clt_round_up(n, nwg);
    return row * ROW_MAJOR_PAD_ADVANTAGE < mirror;
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
    if (!d->gemm.sub_buffers || v.off == 0 || !v.mem || start % d->mem_align_bytes) return v;
    if (clGetMemObjectInfo(v.mem, CL_MEM_SIZE, sizeof size, &size, NULL) != CL_SUCCESS || size <= start) return v;
    cl_buffer_region region = {start, size - start};
    cl_int err;
    cl_mem sub = clCreateSubBuffer(v.mem, CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, &region, &err);
    if (err != CL_SUCCESS) return v;
    *made = sub;
    return clt_at(sub, 0);
}

/* One CLBlast GEMM call on operands as given; returns CLBlast's status. */
static int sgemm_at(clt_device *d, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha, clt_view a,
                    size_t lda, clt_view b, size_t ldb, float beta, clt_view c, size_t ldc) {
    if (d->gemm.layout == CLT_GEMM_PLAIN)
        return CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                            trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a.mem, a.off, lda,
                            b.mem, b.off, ldb, beta, c.mem, c.off, ldc, &d->queue, NULL);
    bool row = use_row_major(d, m, n);
    bool ta = row ? trans_a : trans_b, tb = row ? trans_b : trans_a;
    size_t mm = row ? m : n, nn = row ? n : m, ld1 = row ? lda : ldb, ld2 = row ? ldb : lda;
    clt_view v1 = row ? a : b, v2 = row ? b : a;
    cl_mem temp = NULL;
    if (d->gemm.keep_temp) {
        size_t bytes = 0;
        int s = clt_clblast_sgemm_temp_bytes(row, ta, tb, mm, nn, k, v1.off, ld1, v2.off, ld2, c.off, ldc, &d->queue,
                                             &bytes);
        if (s == 0 && bytes > 0) temp = ctx_buffer(d, BUF_TEMP, bytes);
    }
    return clt_clblast_sgemm(row, ta, tb, mm, nn, k, alpha, v1.mem, v1.off, ld1, v2.mem, v2.off, ld2, beta, c.mem,
                             c.off, ldc, &d->queue, temp);
}

/* One CLBlast GEMM call with every operand moved to offset 0 where it can be. */
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

static size_t compute_units(const clt_device *d) { return d->compute_units ? d->compute_units : 1; }

/* A GEMM parallelises over tiles of C only, so a weight gradient with a tiny C (conv1: 32×25) and
   a huge k (the batch's pixels) runs as one or two work-groups: one core of a CPU, one unit of a
   GPU. Such a call is "narrow"; *tiles gets the indirect kernel's tile count. */
static bool narrow(clt_device *d, size_t m, size_t n, size_t k, size_t *tiles) {
    size_t mwg = 1, nwg = 1, gemmk = 0;
    *tiles = 1;
    if (!xgemm_tile(d, &mwg, &nwg, &gemmk)) return false;
    *tiles = (clt_round_up(n, mwg) / mwg) * (clt_round_up(m, nwg) / nwg);
    return k >= NARROW_MIN_K && *tiles * 2 < GROUPS_PER_UNIT * compute_units(d);
}

/* How many slices of k to compute in parallel for a narrow call; 1 when splitting does not pay. */
static size_t split_count(clt_device *d, size_t m, size_t n, size_t k, size_t ldc) {
    size_t tiles;
    if (!d->gemm.split_k || ldc != n || !narrow(d, m, n, k, &tiles)) return 1;
    size_t want = GROUPS_PER_UNIT * compute_units(d);
    size_t s = (want + tiles - 1) / tiles;
    if (s > k / SPLIT_MIN_K) s = k / SPLIT_MIN_K;
    if (s > SPLIT_MAX_SLICES) s = SPLIT_MAX_SLICES;
    return s < 2 ? 1 : s;
}

/* Split-K through CLBlast only: the slices as one strided-batched GEMM into partial sums, any
   remainder of k as a plain GEMM straight into C, then C += onesᵀ·partials as one more GEMM (a
   fixed order of summation, so results are the same on every run). */
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
    clt_gemm_class cls = clt_gemm_class_of(trans_a, trans_b, m, n, k);
    if (d->gemm.classes && d->gemm.layout != CLT_GEMM_PLAIN && clt_tuning_use_class(d, cls) != 0) {
        clt_device_fail(d, "cannot put the %s parameters in effect for %s", clt_gemm_class_names[cls], what);
        return;
    }
    size_t tiles;
    int s;
    bool plain = d->gemm.layout == CLT_GEMM_PLAIN;
    if (!plain && d->gemm.split_k && !d->is_gpu && narrow(d, m, n, k, &tiles)) {
        /* On a CPU the indirect path first pads both long operands out to whole tiles — for
           conv1's weight gradient ~60 MB of copies for 160 MFLOP — which costs more than the
           direct kernel loses by being slower (measured 1.1 against 3.6–4.7 GFLOP/s); GPUs
           copy fast and need the parallelism, so they split k instead. */
        s = clt_tuning_force_direct(d, true) == 0 ? CLBlastSuccess : CLBlastUnexpectedError;
        if (s == CLBlastSuccess) s = sgemm(d, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    } else if (clt_tuning_force_direct(d, false) != 0) {
        s = CLBlastUnexpectedError;
    } else {
        size_t slices = plain ? 1 : split_count(d, m, n, k, ldc);
        s = slices > 1 ? sgemm_split(d, slices, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c)
                       : sgemm(d, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
    if (d->failed) return; /* a parameter CLBlast could not report, named already */
    if (s != CLBlastSuccess)
        clt_device_fail(d, "CLBlast error %s (%d) in CLBlastSgemm (%s: m=%zu n=%zu k=%zu%s%s)",
                        clt_clblast_status_name(s), (int)s, what, m, n, k, trans_a ? " A^T" : "",
                        trans_b ? " B^T" : "");
}
