/* openblas_gemm.h — row-major SGEMM on host arrays through OpenBLAS, for the bench's comparison. */
#ifndef CLT_OPENBLAS_GEMM_H
#define CLT_OPENBLAS_GEMM_H

#include <stdbool.h>
#include <stddef.h>

void bench_openblas_sgemm(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                          const float *b, size_t ldb, float beta, float *c, size_t ldc);
const char *bench_openblas_config(void);
int bench_openblas_threads(void);

#endif
