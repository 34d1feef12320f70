/* bench.c — cltransfer-bench: dispatches to the benchmarks. Speed lives here, never in tests. */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "net/net.h"
#include "util/util.h"

int bench_arch(const char *name, const char *widths, clt_arch *a) {
    if (!strcmp(name, "caffenet")) clt_arch_caffenet(a);
    else if (!strcmp(name, "small")) {
        clt_arch_small(a);
        a->fc[2] = 5;
    } else {
        clt_error("unknown arch '%s' (caffenet or small)", name);
        return 2;
    }
    if (widths) {
        int w[7];
        char tail;
        if (sscanf(widths, "%d,%d,%d,%d,%d,%d,%d%c", &w[0], &w[1], &w[2], &w[3], &w[4], &w[5], &w[6], &tail) != 7) {
            clt_error("--widths takes 7 comma-separated numbers (conv1..conv5, fc6, fc7), not '%s'", widths);
            return 2;
        }
        for (int i = 0; i < 5; i++) a->conv[i].out = w[i];
        a->fc[0] = w[5], a->fc[1] = w[6];
    }
    return clt_arch_check(a) == 0 ? 0 : 2;
}

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
