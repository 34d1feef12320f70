/* openblas_gemm.c — the bench's OpenBLAS reference column; built only when OpenBLAS is found, and
   linked only into cltransfer-bench, never into the trainer. */
#include <cblas.h>

#include "openblas_gemm.h"

void bench_openblas_sgemm(bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                          const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (blasint)m,
                (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
}

const char *bench_openblas_config(void) { return openblas_get_config(); }
int bench_openblas_threads(void) { return openblas_get_num_threads(); }
