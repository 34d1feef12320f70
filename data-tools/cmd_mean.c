/* cmd_mean.c — `cltransfer-data mean`: the mean image of a pack, decoded on all cores. */
#include <stdlib.h>
#include <string.h>

#include "data_tools.h"
#include "data/pack.h"
#include "data/packbuild.h"
#include "util/util.h"

static const char *help =
    "usage: cltransfer-data mean PACK [-o OUT.mean] [--threads N] [--no-progress]\n"
    "\n"
    "Computes the mean image of PACK from its stored pixels (every image decoded) and writes it as float32\n"
    "[c][h][w] (format in FORMAT.md), by default beside the pack as PACK's name with .mean. `pack` and\n"
    "`fmnist` already write the same mean (of the stored pixels); use this for packs made otherwise or to check.\n";

int cmd_mean(int argc, char **argv) {
    static const struct option opts[] = {{"output", required_argument, 0, 'o'}, {"threads", required_argument, 0, 't'},
                                         {"no-progress", no_argument, 0, 'P'},  {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *output = NULL;
    long threads = 0;
    int progress = -1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case 't': if (clt_option_int("threads", optarg, 0, 1024, &threads)) return DT_USAGE; break;
        case 'P': progress = 0; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return DT_USAGE;
        }
    }
    if (optind != argc - 1) {
        clt_error("mean: give one pack (see mean --help)");
        return DT_USAGE;
    }
    const char *pack = argv[optind];
    clt_mean_acc acc;
    if (clt_pack_mean(pack, (int)threads, progress, &acc)) return 1;
    size_t plane = (size_t)acc.h * acc.w;
    float *m = clt_malloc((size_t)acc.c * plane * sizeof *m);
    clt_mean_acc_result(&acc, m);
    char *path = output ? clt_strdup(output) : clt_pack_side_path(pack, ".mean");
    int rc = clt_pack_write_mean(pack, path, acc.c, acc.h, acc.w, acc.count, m) ? 1 : 0;
    if (!rc) {
        printf("mean of %llu images of %s written to %s; per channel:", (unsigned long long)acc.count, pack, path);
        for (int ch = 0; ch < acc.c; ch++) printf(" %.3f", clt_mean_channel_average(m, ch, acc.h, acc.w));
        printf("\n");
    }
    free(path);
    free(m);
    clt_mean_acc_free(&acc);
    return rc;
}
