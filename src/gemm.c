/* gemm.c — SGEMM through CLBlast with CLBlast's status codes reported by name. */
#include "gemm.h"

#include <clblast_c.h>

const char *clt_clblast_status_name(int status) {
    switch (status) {
#define E(x) case CLBlast##x: return "CLBlast" #x;
        E(Success) E(OpenCLCompilerNotAvailable) E(TempBufferAllocFailure) E(OpenCLOutOfResources)
        E(OpenCLOutOfHostMemory) E(OpenCLBuildProgramFailure) E(InvalidValue) E(InvalidCommandQueue)
        E(InvalidMemObject) E(InvalidBinary) E(InvalidBuildOptions) E(InvalidProgram)
        E(InvalidProgramExecutable) E(InvalidKernelName) E(InvalidKernelDefinition) E(InvalidKernel)
        E(InvalidArgIndex) E(InvalidArgValue) E(InvalidArgSize) E(InvalidKernelArgs)
        E(InvalidLocalNumDimensions) E(InvalidLocalThreadsTotal) E(InvalidLocalThreadsDim)
        E(InvalidGlobalOffset) E(InvalidEventWaitList) E(InvalidEvent) E(InvalidOperation)
        E(InvalidBufferSize) E(InvalidGlobalWorkSize) E(NotImplemented) E(InvalidMatrixA) E(InvalidMatrixB)
        E(InvalidMatrixC) E(InvalidVectorX) E(InvalidVectorY) E(InvalidDimension) E(InvalidLeadDimA)
        E(InvalidLeadDimB) E(InvalidLeadDimC) E(InvalidIncrementX) E(InvalidIncrementY)
        E(InsufficientMemoryA) E(InsufficientMemoryB) E(InsufficientMemoryC) E(InsufficientMemoryX)
        E(InsufficientMemoryY) E(InsufficientMemoryTemp) E(InvalidBatchCount) E(InvalidOverrideKernel)
        E(MissingOverrideParameter) E(InvalidLocalMemUsage) E(NoHalfPrecision) E(NoDoublePrecision)
        E(InvalidVectorScalar) E(InsufficientMemoryScalar) E(DatabaseError) E(UnknownError)
        E(UnexpectedError)
#undef E
    default: return "unknown CLBlast status";
    }
}

void clt_gemm(clt_device *d, bool trans_a, bool trans_b, size_t m, size_t n, size_t k, float alpha,
              clt_view a, size_t lda, clt_view b, size_t ldb, float beta, clt_view c, size_t ldc,
              const char *what) {
    if (d->failed || m == 0 || n == 0) return;
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, trans_a ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       trans_b ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha,
                                       a.mem, a.off, lda, b.mem, b.off, ldb, beta, c.mem, c.off, ldc,
                                       &d->queue, NULL);
    if (s != CLBlastSuccess)
        clt_device_fail(d, "CLBlast error %s (%d) in CLBlastSgemm (%s: m=%zu n=%zu k=%zu%s%s)",
                        clt_clblast_status_name(s), (int)s, what, m, n, k, trans_a ? " A^T" : "",
                        trans_b ? " B^T" : "");
}
