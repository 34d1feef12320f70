/* cmd_fmnist.c — `cltransfer-data fmnist`: Fashion-MNIST's idx files (gzip) to raw-pixel packs. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data_tools.h"
#include "data/pack.h"
#include "data/packbuild.h"
#include "data/split.h"
#include "util/util.h"

#define FMNIST_CLASSES 10
#define IDX_MAX_COUNT 10000000u
#define IDX_MAX_SIDE 1024u

static const char *help =
    "usage: cltransfer-data fmnist -o PREFIX [--dir DIR] [--classes 0,2,3 | --split FILE] [--per-class N]\n"
    "                              [--test-per-class N] [--seed S]\n"
    "\n"
    "Packs Fashion-MNIST as raw 1×28×28 pixels: PREFIX_train.pack (60000 images) and PREFIX_test.pack (10000),\n"
    "each with its .mean, .classes.txt and .report.txt.\n"
    "  --dir DIR        folder of {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz\n"
    "                   (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)\n"
    "  --classes LIST   keep these classes (comma-separated 0..9), labels remapped to their rank\n"
    "  --split FILE     the same from a class-list file (from `split --random --classes 10`)\n"
    "  --per-class N    keep at most N training images per class, chosen as\n"
    "                   `split --per-class` does, with --seed S\n"
    "  --test-per-class N  the same for the test set (a smaller validation set for quick studies)\n"
    "  -o, --output     prefix of the output files\n";

static const char *class_names[FMNIST_CLASSES] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                  "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Reads an idx file: magic 0x801 (labels) or 0x803 (images), sizes bounded before allocating. */
static uint8_t *read_idx(const char *path, int images, uint32_t *count, uint32_t *rows, uint32_t *cols) {
    gzFile f = gzopen(path, "rb");
    if (!f) {
        clt_error("cannot open %s (is Debian's dataset-fashion-mnist installed, or --dir right?)", path);
        return NULL;
    }
    uint8_t h[16];
    int head = images ? 16 : 8;
    uint8_t *data = NULL;
    if (gzread(f, h, (unsigned)head) != head) {
        clt_error("%s: truncated idx header", path);
        goto fail;
    }
    if (be32(h) != (images ? 0x803u : 0x801u)) {
        clt_error("%s: not an idx %s file (magic 0x%08x)", path, images ? "image" : "label", be32(h));
        goto fail;
    }
    *count = be32(h + 4);
    *rows = images ? be32(h + 8) : 1;
    *cols = images ? be32(h + 12) : 1;
    if (*count < 1 || *count > IDX_MAX_COUNT || *rows < 1 || *rows > IDX_MAX_SIDE || *cols < 1 || *cols > IDX_MAX_SIDE ||
        (uint64_t)*count * *rows * *cols > (1ull << 31)) {
        clt_error("%s: sizes out of bounds (%u items of %u×%u)", path, *count, *rows, *cols);
        goto fail;
    }
    size_t n = (size_t)*count * *rows * *cols;
    /* the buffer grows with what arrives, so a header claiming more than the file holds costs no more
       than the file */
    size_t cap = CLT_MIN(n, (size_t)16 << 20), got = 0;
    data = clt_malloc(cap);
    while (got < n) {
        if (got == cap) data = clt_realloc(data, cap = CLT_MIN(n, 2 * cap));
        int r = gzread(f, data + got, (unsigned)CLT_MIN(cap - got, (size_t)1 << 30));
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got != n) {
        int errnum;
        const char *msg = gzerror(f, &errnum);
        clt_error("%s: truncated or damaged (%zu of %zu bytes%s%s)", path, got, n, errnum ? ": " : "", errnum ? msg : "");
        goto fail;
    }
    gzclose(f);
    return data;
fail:
    free(data);
    gzclose(f);
    return NULL;
}

static int pack_set(const char *dir, const char *set, const char *prefix, const int *new_label, const int *orig, int classes,
                    long per_class, uint32_t seed) {
    char img_path[4096], lab_path[4096], out[4096];
    snprintf(img_path, sizeof img_path, "%s/%s-images-idx3-ubyte.gz", dir, set);
    snprintf(lab_path, sizeof lab_path, "%s/%s-labels-idx1-ubyte.gz", dir, set);
    snprintf(out, sizeof out, "%s_%s.pack", prefix, !strcmp(set, "t10k") ? "test" : set);
    double t0 = clt_now();
    uint32_t n, rows, cols, n_lab, one;
    uint8_t *img = read_idx(img_path, 1, &n, &rows, &cols);
    uint8_t *lab = img ? read_idx(lab_path, 0, &n_lab, &one, &one) : NULL;
    if (!lab) {
        free(img);
        return 1;
    }
    int rc = 1;
    clt_pack_report rep = {0};
    int *labels = clt_malloc((size_t)n * sizeof *labels);
    unsigned char *keep = clt_malloc(n);
    clt_pack_writer *pw = NULL;
    if (n_lab != n) {
        clt_error("%s holds %u images but %s %u labels", img_path, n, lab_path, n_lab);
        goto done;
    }
    for (uint32_t i = 0; i < n; i++) {
        labels[i] = lab[i] < FMNIST_CLASSES && new_label[lab[i]] >= 0 ? lab[i] : -1;
        if (lab[i] >= FMNIST_CLASSES) {
            char what[64];
            snprintf(what, sizeof what, "%s image %u", set, i);
            clt_pack_report_add(&rep, 1, "label out of range", what, "label %d outside 0..%d", lab[i], FMNIST_CLASSES - 1);
        }
    }
    if (per_class > 0)
        clt_select_per_class(labels, n, (int)per_class, seed, keep);
    else
        for (uint32_t i = 0; i < n; i++) keep[i] = labels[i] >= 0;
    clt_mean_acc acc;
    clt_mean_acc_init(&acc, 1, (int)rows, (int)cols);
    if (clt_pack_writer_open(&pw, out, CLT_PACK_RAW, 1, (int)rows, (int)cols, classes)) {
        clt_mean_acc_free(&acc);
        goto done;
    }
    size_t px = (size_t)rows * cols;
    for (uint32_t i = 0; i < n; i++) {
        if (!keep[i]) continue;
        if (clt_pack_writer_add(pw, img + i * px, px, new_label[labels[i]], labels[i])) {
            clt_pack_writer_abort(pw);
            clt_mean_acc_free(&acc);
            goto done;
        }
        clt_mean_acc_add(&acc, img + i * px);
    }
    uint64_t packed = clt_pack_writer_count(pw), bytes = clt_pack_writer_bytes(pw);
    if (clt_pack_writer_commit(pw)) {
        clt_mean_acc_free(&acc);
        goto done;
    }
    float *mean = clt_malloc(px * sizeof *mean);
    clt_mean_acc_result(&acc, mean);
    clt_mean_acc_free(&acc);
    char *mean_path = clt_pack_side_path(out, ".mean"), *report_path = clt_pack_side_path(out, ".report.txt");
    const char *names[FMNIST_CLASSES];
    for (int k = 0; k < classes; k++) names[k] = class_names[orig[k]];
    char summary[4096 + 512];
    snprintf(summary, sizeof summary, "# packed %llu of %u images into %s: %.1f MB, 1×%u×%u raw, %d classes, %.2f s\n",
             (unsigned long long)packed, n, out, bytes / 1e6, rows, cols, classes, clt_now() - t0);
    if (!clt_pack_write_mean(out, NULL, 1, (int)rows, (int)cols, packed, mean) && !clt_pack_write_classes(out, classes, orig, names) &&
        !clt_pack_report_write(&rep, out, summary))
        rc = 0;
    fputs(summary + 2, stderr);
    clt_pack_report_print(&rep, 10);
    free(mean);
    free(mean_path);
    free(report_path);
done:
    clt_pack_report_free(&rep);
    free(labels);
    free(keep);
    free(img);
    free(lab);
    return rc;
}

int cmd_fmnist(int argc, char **argv) {
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},       {"classes", required_argument, 0, 'c'},
        {"split", required_argument, 0, 'C'},     {"per-class", required_argument, 0, 'N'},
        {"seed", required_argument, 0, 'e'},      {"output", required_argument, 0, 'o'},
        {"test-per-class", required_argument, 0, 'T'},
        {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    const char *dir = "/usr/share/datasets/fashion-mnist", *classes_arg = NULL, *split = NULL, *output = NULL;
    long per_class = 0, test_per_class = 0, seed = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'c': classes_arg = optarg; break;
        case 'C': split = optarg; break;
        case 'N': if (clt_option_int("per-class", optarg, 1, 1000000000, &per_class)) return DT_USAGE; break;
        case 'e': if (clt_option_int("seed", optarg, 0, 0xffffffffL, &seed)) return DT_USAGE; break;
        case 'T': if (clt_option_int("test-per-class", optarg, 1, 1000000000, &test_per_class)) return DT_USAGE; break;
        case 'o': output = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return DT_USAGE;
        }
    }
    if (dt_no_extra(argc, argv, optind, "fmnist")) return DT_USAGE;
    if (!output) {
        clt_error("fmnist: -o PREFIX is required");
        return DT_USAGE;
    }
    if (classes_arg && split) {
        clt_error("fmnist: give --classes or --split, not both");
        return DT_USAGE;
    }
    if ((per_class || test_per_class) && seed < 0) {
        clt_error("fmnist: --per-class and --test-per-class need --seed");
        return DT_USAGE;
    }
    int sel[FMNIST_CLASSES], n_sel = 0;
    unsigned char chosen[FMNIST_CLASSES] = {0};
    if (split) {
        int *list;
        if (clt_read_class_list(split, FMNIST_CLASSES, &list, &n_sel)) return 1;
        for (int i = 0; i < n_sel; i++) chosen[list[i]] = 1;
        free(list);
    } else if (classes_arg) {
        for (const char *s = classes_arg; *s;) {
            char *end;
            long v = strtol(s, &end, 10);
            if (end == s || v < 0 || v >= FMNIST_CLASSES || (*end && *end != ',') || chosen[v]) {
                clt_error("--classes wants distinct classes 0..9 separated by commas, got '%s'", classes_arg);
                return DT_USAGE;
            }
            chosen[v] = 1;
            s = *end ? end + 1 : end;
        }
    } else {
        memset(chosen, 1, sizeof chosen);
    }
    int new_label[FMNIST_CLASSES];
    n_sel = 0;
    for (int k = 0; k < FMNIST_CLASSES; k++) {
        new_label[k] = chosen[k] ? n_sel : -1;
        if (chosen[k]) sel[n_sel++] = k;
    }
    if (!n_sel) {
        clt_error("fmnist: no classes selected");
        return DT_USAGE;
    }
    if (pack_set(dir, "train", output, new_label, sel, n_sel, per_class, (uint32_t)seed)) return 1;
    return pack_set(dir, "t10k", output, new_label, sel, n_sel, test_per_class, (uint32_t)seed);
}
