/* bench_reader.c — images/s of the data reader: 256×256 JPEG → 227 crop + mirror + mean (CaffeNet's input),
   and Fashion-MNIST-shaped raw 28×28 → mean + scale, on one worker thread and on all cores. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"
#include "data/image.h"
#include "util/mt19937.h"
#include "data/pack.h"
#include "data/packbuild.h"
#include "data/reader.h"
#include "util/util.h"

static const char *help =
    "usage: cltransfer-bench reader [options]\n"
    "\n"
    "Measures the reader's throughput (images/s delivered to the caller as CNHW floats) with 1 decode thread\n"
    "and with all cores, on a JPEG pack (CaffeNet input: crop 227, mirror, mean) and on a Fashion-MNIST-shaped\n"
    "raw pack (28×28, mean, ×1/255). Packs are synthetic (textured noise images, ~23 KB at q90, about what warped photos take)\n"
    "unless given; they are read from the page cache, so disk speed is not measured.\n"
    "  --pack FILE        a JPEG (or raw) pack to use instead of the synthetic one; --mean FILE its mean\n"
    "  --fmnist-pack FILE a Fashion-MNIST pack (e.g. from `cltransfer-data fmnist`) instead of the synthetic one\n"
    "  --images N         synthetic JPEG images (default 256)\n"
    "  --batch N          JPEG batch (default 64; the small-net batch is 128)\n"
    "  --crop N           JPEG crop side (default 227)\n"
    "  --seconds S        time per measurement (default 2)\n"
    "  --repeat R         measurements per setting; the median is reported (default 3)\n"
    "  --threads N        the all-cores setting (default: the number of cores)\n"
    "  --only jpeg|fmnist measure one of the two packs\n"
    "  --json             also print the results as one JSON object\n";

/* Photo-like texture: octaves of bilinearly interpolated random grids (value noise), plus grain. */
static void photo_like(uint8_t *px, int side, uint64_t seed) {
    float *acc = clt_calloc((size_t)side * side * 3, sizeof *acc);
    uint64_t s = seed;
    for (int cell = side / 2, oct = 0; cell >= 2; cell /= 2, oct++) {
        int g = side / cell + 2;
        float amp = 90.0f * powf(0.8f, (float)oct); /* tuned so q90 files average ~23 KB, like warped photos */
        float *grid = clt_malloc((size_t)g * g * 3 * sizeof *grid);
        for (int i = 0; i < g * g * 3; i++) grid[i] = ((float)(clt_mix64(s++) >> 40) / (float)(1 << 24) - 0.5f) * amp;
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) {
                float fy = (float)y / cell, fx = (float)x / cell;
                int iy = (int)fy, ix = (int)fx;
                fy -= iy, fx -= ix;
                for (int c = 0; c < 3; c++) {
                    /* channels share most of the luminance, as photos do */
                    float v00 = grid[((iy * g + ix) * 3 + c)] * 0.4f + grid[(iy * g + ix) * 3] * 0.6f;
                    float v01 = grid[((iy * g + ix + 1) * 3 + c)] * 0.4f + grid[(iy * g + ix + 1) * 3] * 0.6f;
                    float v10 = grid[(((iy + 1) * g + ix) * 3 + c)] * 0.4f + grid[((iy + 1) * g + ix) * 3] * 0.6f;
                    float v11 = grid[(((iy + 1) * g + ix + 1) * 3 + c)] * 0.4f + grid[((iy + 1) * g + ix + 1) * 3] * 0.6f;
                    acc[((size_t)y * side + x) * 3 + c] += (v00 * (1 - fx) + v01 * fx) * (1 - fy) + (v10 * (1 - fx) + v11 * fx) * fy;
                }
            }
        free(grid);
    }
    for (int i = 0; i < side * side * 3; i++) {
        float noise = ((float)(clt_mix64(s++) >> 40) / (float)(1 << 24) - 0.5f) * 30.0f; /* sensor-like grain */
        float v = 118.0f + acc[i] + noise;
        px[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    free(acc);
}

static int make_jpeg_pack(const char *path, int n, double *kb) {
    clt_pack_writer *pw;
    clt_jpeg *j = clt_jpeg_new();
    uint8_t *px = clt_malloc(256 * 256 * 3);
    clt_mean_acc acc;
    clt_mean_acc_init(&acc, 3, 256, 256);
    if (!j || clt_pack_writer_open(&pw, path, CLT_PACK_JPEG, 3, 256, 256, 1000)) return -1;
    double bytes = 0;
    for (int i = 0; i < n; i++) {
        photo_like(px, 256, 1000003ull * (uint64_t)i + 1);
        const uint8_t *enc;
        size_t size;
        char err[256];
        if (clt_jpeg_encode(j, px, 256, 256, 3, 90, 420, &enc, &size, err, sizeof err) ||
            clt_pack_writer_add(pw, enc, size, i % 1000, i % 1000)) {
            clt_pack_writer_abort(pw);
            return -1;
        }
        clt_mean_acc_add(&acc, px);
        bytes += (double)size;
    }
    *kb = bytes / n / 1000;
    float *mean = clt_malloc(256 * 256 * 3 * sizeof *mean);
    clt_mean_acc_result(&acc, mean);
    char *mean_path = clt_pack_side_path(path, ".mean");
    int rc = clt_pack_writer_commit(pw) || clt_mean_write(mean_path, 3, 256, 256, (uint64_t)n, mean) ? -1 : 0;
    free(mean_path), free(mean), free(px);
    clt_mean_acc_free(&acc);
    clt_jpeg_free(j);
    return rc;
}

static int make_fmnist_pack(const char *path) {
    clt_pack_writer *pw;
    uint8_t px[784];
    if (clt_pack_writer_open(&pw, path, CLT_PACK_RAW, 1, 28, 28, 10)) return -1;
    uint64_t s = 7;
    float mean[784] = {0};
    for (int i = 0; i < 60000; i++) {
        for (int k = 0; k < 784; k++) px[k] = (uint8_t)(clt_mix64(s++) >> 56);
        if (clt_pack_writer_add(pw, px, sizeof px, i % 10, i % 10)) {
            clt_pack_writer_abort(pw);
            return -1;
        }
    }
    for (int k = 0; k < 784; k++) mean[k] = 127.5f;
    char *mean_path = clt_pack_side_path(path, ".mean");
    int rc = clt_pack_writer_commit(pw) || clt_mean_write(mean_path, 1, 28, 28, 60000, mean) ? -1 : 0;
    free(mean_path);
    return rc;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* Median (and range) of images/s over `repeat` fresh readers, each timed over `seconds` after its first batch;
   *per_cpu gets the median images per CPU-second of the whole process (workers and caller), which a shared,
   busy machine disturbs much less than wall-clock rates. */
static double measure(clt_reader_config cfg, double seconds, int repeat, double *lo, double *hi, double *per_cpu) {
    double rates[32], cpu_rates[32];
    int got = 0;
    for (int r = 0; r < repeat && r < 32; r++) {
        clt_reader *rd;
        if (clt_reader_open(&rd, &cfg)) return -1;
        int c, h, w;
        clt_reader_shape(rd, &c, &h, &w);
        float *img = clt_malloc((size_t)c * h * w * cfg.batch * sizeof *img);
        int *lab = clt_malloc((size_t)cfg.batch * sizeof *lab);
        int bad = clt_reader_train_batch(rd, 0, img, lab); /* fills the pipeline: not timed */
        double t0 = clt_now(), t = t0, c0 = cpu_seconds();
        uint64_t it = 1;
        while (!bad && (t - t0 < seconds || it < 6)) {
            bad = clt_reader_train_batch(rd, it++, img, lab);
            t = clt_now();
        }
        double cpu = cpu_seconds() - c0;
        if (!bad) {
            cpu_rates[got] = (double)(it - 1) * cfg.batch / (cpu > 0 ? cpu : 1e-9);
            rates[got++] = (double)(it - 1) * cfg.batch / (t - t0);
        }
        clt_reader_close(rd);
        free(img), free(lab);
        if (bad) return -1;
    }
    qsort(rates, (size_t)got, sizeof *rates, cmp_double);
    qsort(cpu_rates, (size_t)got, sizeof *cpu_rates, cmp_double);
    if (!got) return -1;
    *per_cpu = got % 2 ? cpu_rates[got / 2] : (cpu_rates[got / 2 - 1] + cpu_rates[got / 2]) / 2;
    *lo = rates[0], *hi = rates[got - 1];
    return got % 2 ? rates[got / 2] : (rates[got / 2 - 1] + rates[got / 2]) / 2;
}

typedef struct result {
    const char *name;
    int threads;
    double rate, lo, hi, per_cpu;
} result;

int bench_reader(int argc, char **argv) {
    static const struct option opts[] = {
        {"pack", required_argument, 0, 'p'},    {"mean", required_argument, 0, 'm'},
        {"fmnist-pack", required_argument, 0, 'f'}, {"images", required_argument, 0, 'n'},
        {"batch", required_argument, 0, 'b'},   {"crop", required_argument, 0, 'c'},
        {"seconds", required_argument, 0, 's'}, {"repeat", required_argument, 0, 'r'},
        {"threads", required_argument, 0, 't'}, {"json", no_argument, 0, 'j'},
        {"only", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
    const char *pack = NULL, *mean = NULL, *fm_pack = NULL, *only = NULL;
    int images = 256, batch = 64, crop = 227, repeat = 3, threads = clt_cpu_count(), json = 0, c;
    double seconds = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pack = optarg; break;
        case 'm': mean = optarg; break;
        case 'f': fm_pack = optarg; break;
        case 'n': images = atoi(optarg); break;
        case 'b': batch = atoi(optarg); break;
        case 'c': crop = atoi(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'r': repeat = atoi(optarg); break;
        case 't': threads = atoi(optarg); break;
        case 'j': json = 1; break;
        case 'o': only = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return 2;
        }
    }
    if (images < 1 || batch < 1 || crop < 0 || repeat < 1 || repeat > 31 || threads < 1 || !(seconds > 0) ||
        (only && strcmp(only, "jpeg") && strcmp(only, "fmnist"))) {
        clt_error("bench reader: --images, --batch, --repeat (1..31), --threads must be positive, --seconds > 0, "
                  "--only jpeg or fmnist");
        return 2;
    }
    char dir[] = "/tmp/clt_bench_reader.XXXXXX", jpeg_path[256], fm_path[256], jpeg_mean[256], fm_mean[256];
    if (!mkdtemp(dir)) {
        clt_error("cannot create a temporary folder");
        return 1;
    }
    snprintf(jpeg_path, sizeof jpeg_path, "%s/jpeg.pack", dir);
    snprintf(jpeg_mean, sizeof jpeg_mean, "%s/jpeg.mean", dir);
    snprintf(fm_path, sizeof fm_path, "%s/fmnist.pack", dir);
    snprintf(fm_mean, sizeof fm_mean, "%s/fmnist.mean", dir);
    double kb = 0;
    int rc = 1, want_jpeg = !only || !strcmp(only, "jpeg"), want_fm = !only || !strcmp(only, "fmnist");
    char jpeg_name[160] = "", fm_name[160] = "raw 1×28×28 (fmnist) → mean, ×1/255, batch 128";
    if (want_jpeg) {
        if (!pack) {
            fprintf(stderr, "making %d synthetic 256×256 JPEGs…\n", images);
            if (make_jpeg_pack(jpeg_path, images, &kb)) goto done;
            pack = jpeg_path, mean = jpeg_mean;
        }
        clt_pack p;
        if (clt_pack_open(&p, pack)) goto done;
        if (!kb) kb = p.data_size / 1e3 / p.count;
        snprintf(jpeg_name, sizeof jpeg_name, "%s %d×%d×%d (%.1f KB/img) → crop %d + mirror + mean, batch %d",
                 clt_pack_encoding_name(p.encoding), p.c, p.h, p.w, kb, crop, batch);
        clt_pack_close(&p);
    }
    if (want_fm && !fm_pack) {
        if (make_fmnist_pack(fm_path)) goto done;
        fm_pack = fm_path;
    } else if (want_fm) {
        char *m = clt_pack_side_path(fm_pack, ".mean");
        snprintf(fm_mean, sizeof fm_mean, "%s", m);
        free(m);
    }

    int settings[2] = {1, threads};
    result res[4];
    int nres = 0;
    for (int k = 0; k < 2; k++) {
        if (!(k == 0 ? want_jpeg : want_fm)) continue;
        for (int s = 0; s < 2; s++) {
            if (s == 1 && threads == 1) continue;
            clt_reader_config cfg = {.scale = 1, .train = 1, .seed = 1, .threads = settings[s]};
            if (k == 0) {
                cfg.pack_path = pack, cfg.mean_path = mean, cfg.crop = crop, cfg.mirror = 1, cfg.batch = batch;
            } else {
                cfg.pack_path = fm_pack, cfg.mean_path = clt_file_exists(fm_mean) ? fm_mean : NULL;
                cfg.scale = 1.0f / 255, cfg.batch = 128;
            }
            double lo, hi, per_cpu, rate = measure(cfg, seconds, repeat, &lo, &hi, &per_cpu);
            if (rate < 0) goto done;
            res[nres++] = (result){k == 0 ? jpeg_name : fm_name, settings[s], rate, lo, hi, per_cpu};
        }
    }
    printf("reader: images/s delivered (median of %d runs of %g s each), %d cores online, libjpeg-turbo TurboJPEG API\n",
           repeat, seconds, clt_cpu_count());
    printf("%-76s %7s %10s %19s %12s\n", "pack → batch", "threads", "images/s", "range", "per CPU-s");
    for (int i = 0; i < nres; i++)
        printf("%-76s %7d %10.0f %9.0f..%-9.0f %12.0f\n", res[i].name, res[i].threads, res[i].rate, res[i].lo, res[i].hi,
               res[i].per_cpu);
    printf("images/s: wall clock, median; per CPU-s: images per second of CPU time the process used (all its threads),\n"
           "the per-core rate, which other load on the machine barely changes.\n");
    if (json) {
        printf("{\"bench\": \"reader\", \"repeat\": %d, \"seconds\": %g, \"results\": [", repeat, seconds);
        for (int i = 0; i < nres; i++)
            printf("%s{\"setting\": \"%s\", \"threads\": %d, \"images_per_s\": %.1f, \"min\": %.1f, \"max\": %.1f, "
                   "\"images_per_cpu_s\": %.1f}",
                   i ? ", " : "", res[i].name, res[i].threads, res[i].rate, res[i].lo, res[i].hi, res[i].per_cpu);
        printf("]}\n");
    }
    rc = 0;
done:
    unlink(jpeg_path), unlink(jpeg_mean), unlink(fm_path), unlink(fm_mean);
    rmdir(dir);
    return rc;
}
