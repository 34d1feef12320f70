/* bench_gemm.c — placeholder until this benchmark lands. */
#include "bench.h"
#include "util.h"

int bench_gemm(int argc, char **argv) {
    (void)argc;
    (void)argv;
    clt_error("bench gemm is not written yet");
    return 1;
}
