/* clblast_status.c — CLBlast's status codes by name, for every error message that reports one. */
#include <clblast_c.h>

#include "device/clblast.h"

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
