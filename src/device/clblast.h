/* clblast.h — C declarations for the parts of CLBlast that only its C++ API offers: reading the
   parameters in effect, GEMM with a caller-owned temporary buffer, strided-batched GEMM. */
#ifndef CLT_TUNE_CLBLAST_H
#define CLT_TUNE_CLBLAST_H

#include <CL/cl.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLT_PARAM_NAME 32

/* "CLBlastInvalidLeadDimA" for CLBlastInvalidLeadDimA, for error messages. */
const char *clt_clblast_status_name(int status);

/* Single-precision parameters CLBlast uses now for `kernel` on `device` (its database, or the last
   override). Fills up to `max` names/values, sets *count; returns a CLBlast status code. */
int clt_clblast_params(cl_device_id device, const char *kernel, char (*names)[CLT_PARAM_NAME],
                       size_t *values, int max, int *count);

/* clblast::Gemm<float> with the column-major/row-major choice left to the caller and an optional
   temporary buffer (NULL: CLBlast allocates one per call). Returns a CLBlast status code. */
int clt_clblast_sgemm(bool row_major, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                      cl_mem a, size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta,
                      cl_mem c, size_t c_off, size_t ldc, cl_command_queue *queue, cl_mem temp);

/* clblast::GemmStridedBatched<float>: `batch` GEMMs whose A, B and C start `*_stride` floats apart. */
int clt_clblast_sgemm_strided(bool row_major, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
                              cl_mem a, size_t a_off, size_t lda, size_t a_stride, cl_mem b, size_t b_off, size_t ldb,
                              size_t b_stride, float beta, cl_mem c, size_t c_off, size_t ldc, size_t c_stride,
                              size_t batch, cl_command_queue *queue);

/* Bytes of temporary buffer clt_clblast_sgemm needs with the parameters in effect. */
int clt_clblast_sgemm_temp_bytes(bool row_major, bool trans_a, bool trans_b, size_t m, size_t n, size_t k,
                                 size_t a_off, size_t lda, size_t b_off, size_t ldb, size_t c_off, size_t ldc,
                                 cl_command_queue *queue, size_t *bytes);

#ifdef __cplusplus
}
#endif

#endif
