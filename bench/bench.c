/* bench.c — cltransfer-bench: dispatches to the benchmarks. Speed lives here, never in tests. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "util/util.h"

typedef struct bench_command {
    const char *name, *help;
    int (*run)(int argc, char **argv);
} bench_command;

static const bench_command commands[] = {
    {"gemm", "SGEMM GFLOP/s on CaffeNet's and the small net's shapes", bench_gemm},
    {"reader", "data reader images/s (decode, crop, mirror, mean)", bench_reader},
    {"tune", "search CLBlast parameters for the device; stores them in the user's tuning database", bench_tune},
    {"train", "training images/s of a whole net and the time of every layer", bench_train},
};

static void usage(FILE *out) {
    fprintf(out, "usage: cltransfer-bench COMMAND [options]   (COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < CLT_ARRAY_LEN(commands); i++) fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    clt_set_progname("cltransfer-bench");
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < CLT_ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    clt_error("unknown command '%s'", argv[1]);
    usage(stderr);
    return 2;
}
