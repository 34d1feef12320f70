/* main.c — the cltransfer command line: train one network (-c), run or emit a study, report a
   study, list and check devices. main decides the exit code. */
#include <getopt.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <zlib.h>

#include "net/checkpoint.h"
#include "net/config.h"
#include "device/device.h"
#include "study/report.h"
#include "study/study.h"
#include "interop/interop.h"
#include "net/train.h"

/* Prints a checkpoint's header and, per blob, its shape, CRC32 and value range, so checkpoints can
   be compared layer by layer (a frozen layer keeps its CRC). */
static int inspect(const char *path) {
    clt_checkpoint ck;
    if (clt_checkpoint_load(&ck, path) != 0) return 1;
    const clt_arch *a = &ck.arch;
    printf("checkpoint %s\nversion %d, arch %s, input %dx%dx%d, fc %d,%d,%d, iter %lld, seed %lld, batch %d\n", path,
           CLT_CKPT_VERSION, a->name, a->in_c, a->in_h, a->in_w, a->fc[0], a->fc[1], a->fc[2], (long long)ck.iter,
           (long long)ck.seed, ck.batch);
    for (int i = 0; i < ck.nblobs; i++) {
        const clt_ckpt_blob *b = &ck.blobs[i];
        char shape[64] = "";
        for (int j = 0; j < b->ndims; j++)
            snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%d", j ? "x" : "", b->dims[j]);
        float lo = INFINITY, hi = -INFINITY;
        for (size_t j = 0; j < b->count; j++) lo = fminf(lo, b->data[j]), hi = fmaxf(hi, b->data[j]);
        uLong crc = crc32(0, (const Bytef *)b->data, (uInt)(b->count * sizeof(float)));
        printf("%-24s %-14s crc32 %08lx  min %-12.6g max %.6g\n", b->name, shape, crc, lo, hi);
    }
    clt_checkpoint_free(&ck);
    return 0;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: cltransfer -c FILE.ini [-s section.key=value]... [--resume] [--device SEL] [--quiet]\n"
            "       cltransfer study -c conf/study/NAME.ini [options]   (study --help)\n"
            "       cltransfer report RUN_FOLDER                        (report --help)\n"
            "       cltransfer import-caffe MODEL.caffemodel -o BASE.ckpt   (import-caffe --help)\n"
            "       cltransfer export-onnx CHECKPOINT -o NET.onnx         (export-onnx --help)\n"
            "       cltransfer --inspect CHECKPOINT\n"
            "       cltransfer --list-devices\n"
            "       cltransfer [--device SEL] --check-device\n"
            "\n"
            "Trains one network as FILE.ini describes and writes metrics.csv, log.txt, config.ini,\n"
            "snapshots and final.ckpt into its output folder.\n"
            "\n"
            "  -c, --config FILE    the run's INI file (schema below)\n"
            "  -s KEY=VALUE         override one setting, e.g. -s solver.max_iter=100 (repeatable)\n"
            "      --resume         continue from the newest snapshot in the output folder\n"
            "                       (starts fresh when there is none)\n"
            "      --device SEL     device index or case-insensitive name substring; overrides\n"
            "                       [device] select (default: first GPU, else first device)\n"
            "      --quiet          no progress output on stderr (log.txt still written)\n"
            "      --print-config   print the effective config and exit\n"
            "      --inspect FILE   print a checkpoint's header and each blob's shape and CRC32\n"
            "      --list-devices   print every OpenCL platform and device with its index\n"
            "      --check-device   open the device and build the kernels, then exit\n"
            "  -h, --help           this help\n"
            "\n"
            "Exit status: 0 done, 1 error, 2 bad command line or config, 3 diverged (NaN loss),\n"
            "130 / 143 stopped by SIGINT / SIGTERM after writing a snapshot.\n"
            "\n"
            "Config schema ([section] key: meaning [default]):\n");
    clt_config_print_schema(out);
}

/* Name and output folder default from the config file's name: conf/a5b_plus.ini → runs/a5b_plus. */
static void fill_names(clt_config *c, const char *path) {
    if (c->name[0] && c->output[0]) return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char stem[128];
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot) *dot = 0;
    if (!c->name[0]) snprintf(c->name, sizeof c->name, "%s", stem);
    if (!c->output[0]) snprintf(c->output, sizeof c->output, "runs/%s", c->name);
}

/* A first argument that is no option: a subcommand, or a misspelt one. */
static int unknown_command(const char *word) {
    static const char *const COMMANDS[] = {"study", "report", "import-caffe", "export-onnx", NULL};
    const char *near = clt_closest_word(word, COMMANDS);
    if (near)
        clt_error("unknown command '%s'; did you mean 'cltransfer %s'?", word, near);
    else
        clt_error("unknown command '%s' (commands: study, report, import-caffe, export-onnx; or train with -c FILE.ini; see --help)", word);
    return CLT_EXIT_USAGE;
}

int main(int argc, char **argv) {
    clt_set_progname(argv[0]);
    if (argc > 1 && !strcmp(argv[1], "study")) return clt_study_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "report")) return clt_report_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "import-caffe")) return clt_import_caffe_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "export-onnx")) return clt_export_onnx_main(argc - 1, argv + 1);
    if (argc > 1 && argv[1][0] != '-') return unknown_command(argv[1]);
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {"resume", no_argument, 0, 'R'},
                                         {"device", required_argument, 0, 'd'},
                                         {"quiet", no_argument, 0, 'q'},
                                         {"print-config", no_argument, 0, 'P'},
                                         {"list-devices", no_argument, 0, 'L'},
                                         {"inspect", required_argument, 0, 'I'},
                                         {"check-device", no_argument, 0, 'C'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *config = NULL;
    const char **sets = calloc(argc, sizeof *sets);
    int nsets = 0, list = 0, check = 0, print = 0, c;
    clt_train_options topt = {0};
    while ((c = getopt_long(argc, argv, "c:s:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'R': topt.resume = true; break;
        case 'd': topt.device = optarg; break;
        case 'q': topt.quiet = true; break;
        case 'P': print = 1; break;
        case 'L': list = 1; break;
        case 'I': free(sets); return inspect(optarg);
        case 'C': check = 1; break;
        case 'h': usage(stdout); free(sets); return 0;
        default: /* getopt said what is wrong; the help would bury it */
            fprintf(stderr, "see cltransfer --help\n");
            free(sets);
            return CLT_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        clt_error("unexpected argument '%s'", argv[optind]);
        free(sets);
        return CLT_EXIT_USAGE;
    }
    if (list) {
        free(sets);
        return clt_list_devices(stdout) == 0 ? 0 : 1;
    }
    if (check) {
        free(sets);
        clt_device d;
        if (clt_device_open(&d, topt.device) != 0) return 1;
        printf("device [%d] %s: kernels from %s built\n", d.index, d.name, d.kernel_dir);
        clt_device_close(&d);
        return 0;
    }
    if (!config) {
        clt_error("no config: pass -c FILE.ini (see --help)");
        free(sets);
        return CLT_EXIT_USAGE;
    }
    clt_config cfg;
    clt_config_defaults(&cfg);
    int rc = clt_config_load(&cfg, config);
    for (int i = 0; rc == 0 && i < nsets; i++) rc = clt_config_set(&cfg, sets[i]);
    free(sets);
    if (rc == 0) rc = clt_config_validate(&cfg);
    if (rc != 0) return CLT_EXIT_USAGE;
    fill_names(&cfg, config);
    if (print) {
        clt_config_write(&cfg, stdout);
        return 0;
    }
    return clt_train(&cfg, &topt);
}
