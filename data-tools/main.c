/* main.c — cltransfer-data: splits, packs and inspects the study's datasets (see FORMAT.md for the files). */
#include <stdio.h>
#include <string.h>

#include "data_tools.h"
#include "util/util.h"

typedef struct command {
    const char *name, *help;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"split", "class lists of a split (random halves, man-made/natural) and per-class reductions", cmd_split},
    {"pack", "pack a folder tree or list file of JPEGs (warped, re-encoded) with labels", cmd_pack},
    {"fmnist", "pack Fashion-MNIST's train and test sets (raw pixels)", cmd_fmnist},
    {"mean", "compute the mean image of a pack", cmd_mean},
    {"info", "what a pack (or mean image) holds, with its checksums verified", cmd_info},
};

static void usage(FILE *out) {
    fprintf(out, "usage: cltransfer-data COMMAND [options]   (COMMAND --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < CLT_ARRAY_LEN(commands); i++) fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    clt_set_progname("cltransfer-data");
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? DT_USAGE : 0;
    }
    for (size_t i = 0; i < CLT_ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    const char *names[CLT_ARRAY_LEN(commands) + 1];
    for (size_t i = 0; i < CLT_ARRAY_LEN(commands); i++) names[i] = commands[i].name;
    names[CLT_ARRAY_LEN(commands)] = NULL;
    const char *near = clt_closest_word(argv[1], names);
    if (near)
        clt_error("unknown command '%s'; did you mean 'cltransfer-data %s'?", argv[1], near);
    else
        clt_error("unknown command '%s' (commands: split, pack, fmnist, mean, info; see --help)", argv[1]);
    return DT_USAGE;
}
