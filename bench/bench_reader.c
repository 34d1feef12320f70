/* bench_reader.c — placeholder until this benchmark lands. */
#include "bench.h"
#include "util.h"

int bench_reader(int argc, char **argv) {
    (void)argc;
    (void)argv;
    clt_error("bench reader is not written yet");
    return 1;
}
