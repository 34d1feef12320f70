/* gemm.h — the one door to CLBlast: row-major SGEMM on device buffers, errors recorded by name. */
#ifndef CLT_GEMM_H
#define CLT_GEMM_H

#include <stdbool.h>

#include "device/device.h"
#include "device/tuning.h"

/* C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, all row-major; lda/ldb/ldc are row strides
   in floats of the matrices as stored (before op). `what` names the caller in errors. */
void clt_gemm(clt_device *d, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
              clt_view a, size_t lda, clt_view b, size_t ldb, float beta, clt_view c, size_t ldc,
              const char *what);

/* The shape class of a call (which parameter set clt_gemm puts in effect for it): LONGK where k is
   at least 4 times either side of C (weight gradients), TN where op(A) alone is transposed
   and k is at most 96 (input gradients of narrow layers), NARROW where a side of C is 32 or less, WIDE otherwise. */
clt_gemm_class clt_gemm_class_of(bool trans_a, bool trans_b, size_t m, size_t n, size_t k);

#endif
