/* cmd_info.c — `cltransfer-data info`: what a pack or mean image holds, with every checksum verified. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data_tools.h"
#include "data/pack.h"
#include "util/progress.h"
#include "util/util.h"

static const char *help =
    "usage: cltransfer-data info FILE [--quick] [--no-progress]\n"
    "\n"
    "For a pack: format, image shape and encoding, image and class counts, per-class counts with the class\n"
    "map, size, and checksums: header and index always, every record's data unless --quick. Exits 1 if the\n"
    "file is damaged. For a mean image (.mean): its shape, image count and per-channel means.\n";

static int info_mean(const char *path) {
    int c, h, w;
    uint64_t count;
    float *m;
    if (clt_mean_read(path, &c, &h, &w, &count, &m)) return 1;
    printf("mean image:  %s\nshape:       %d×%d×%d float32\nimages:      %llu\nchecksums:   ok\nper channel:", path,
           c, h, w, (unsigned long long)count);
    for (int ch = 0; ch < c; ch++) printf(" %.3f", clt_mean_channel_average(m, ch, h, w));
    printf("\n");
    free(m);
    return 0;
}

int cmd_info(int argc, char **argv) {
    static const struct option opts[] = {{"quick", no_argument, 0, 'q'}, {"no-progress", no_argument, 0, 'P'},
                                         {"help", no_argument, 0, 'h'},  {0, 0, 0, 0}};
    int quick = 0, progress = -1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'q': quick = 1; break;
        case 'P': progress = 0; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return DT_USAGE;
        }
    }
    if (optind != argc - 1) {
        clt_error("info: give one file (see info --help)");
        return DT_USAGE;
    }
    const char *path = argv[optind];
    FILE *f = fopen(path, "rb");
    char magic[8] = {0};
    if (f) {
        size_t got = fread(magic, 1, 8, f);
        (void)got;
        fclose(f);
    }
    if (!memcmp(magic, "CLTMEAN", 8)) return info_mean(path);
    clt_pack p;
    if (clt_pack_open(&p, path)) return 1;
    printf("pack:        %s\nformat:      version %d, %s, %d×%d×%d (c×h×w, pixels interleaved)\n", path, CLT_PACK_VERSION,
           clt_pack_encoding_name(p.encoding), p.c, p.h, p.w);
    printf("images:      %llu\nclasses:     %d\nsize:        %.1f MB (data %.1f MB, %.1f KB per image)\n",
           (unsigned long long)p.count, p.classes, p.file_size / 1e6, p.data_size / 1e6, p.data_size / 1e3 / p.count);
    int rc = 0;
    if (quick) {
        printf("checksums:   header ok, index ok, data not checked (--quick)\n");
    } else {
        uint8_t *buf = clt_malloc(p.max_record);
        char err[384];
        uint64_t bad = 0;
        uint32_t whole = 0;
        clt_progress prog;
        clt_progress_start(&prog, "verifying", p.count, progress);
        for (uint64_t i = 0; i < p.count; i++) {
            if (clt_pack_read(&p, i, buf, err, sizeof err)) {
                if (bad++ < 10) clt_error("pack %s: %s", path, err);
            }
            clt_progress_update(&prog, i + 1);
        }
        clt_progress_end(&prog, p.count);
        /* the whole-data crc, from the per-record ones (records are stored back to back in index order) */
        int contiguous = 1;
        for (uint64_t i = 0; i < p.count; i++) {
            contiguous &= i == 0 ? p.index[i].offset == 0 : p.index[i].offset == p.index[i - 1].offset + p.index[i - 1].size;
            whole = (uint32_t)crc32_combine(whole, p.index[i].crc, (z_off_t)p.index[i].size);
        }
        int whole_ok = contiguous && whole == p.data_crc &&
                       p.index[p.count - 1].offset + p.index[p.count - 1].size == p.data_size;
        if (!bad && whole_ok)
            printf("checksums:   header ok, index ok, data ok (%llu records)\n", (unsigned long long)p.count);
        else {
            printf("checksums:   header ok, index ok, DATA DAMAGED (%llu bad records%s)\n", (unsigned long long)bad,
                   whole_ok ? "" : ", data checksum mismatch");
            rc = 1;
        }
        free(buf);
    }
    uint64_t *per = clt_calloc((size_t)p.classes, sizeof *per);
    for (uint64_t i = 0; i < p.count; i++) per[p.index[i].label]++;
    int *orig = clt_malloc((size_t)p.classes * sizeof *orig);
    char **names = clt_malloc((size_t)p.classes * sizeof *names);
    char *map_path = clt_pack_side_path(path, ".classes.txt");
    bool map_exists = clt_file_exists(map_path);
    free(map_path);
    /* an info that printed an error does not exit 0 */
    bool companions_ok = clt_pack_check_companions(path) == 0;
    int have_map = companions_ok && clt_pack_read_classes(path, p.classes, orig, names, 1) == 0;
    if (!companions_ok || (map_exists && !have_map)) rc = 1;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int k = 0; k < p.classes; k++) lo = CLT_MIN(lo, per[k]), hi = CLT_MAX(hi, per[k]);
    printf("per class:   %llu..%llu images%s\n  label  original  images  name\n", (unsigned long long)lo,
           (unsigned long long)hi,
           have_map ? "" : map_exists ? " (its .classes.txt is not usable: see the error)" : " (no .classes.txt map beside the pack)");
    for (int k = 0; k < p.classes; k++) {
        printf("  %5d  %8d  %6llu  %s\n", k, have_map ? orig[k] : k, (unsigned long long)per[k], have_map ? names[k] : "-");
        if (have_map) free(names[k]);
    }
    char *mean = clt_pack_side_path(path, ".mean");
    if (clt_file_exists(mean)) printf("mean image:  %s\n", mean);
    free(mean);
    free(orig);
    free(names);
    free(per);
    clt_pack_close(&p);
    return rc;
}
