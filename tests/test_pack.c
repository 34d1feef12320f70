/* test_pack.c — cltransfer-data pack/fmnist/info end to end: a JPEG tree written here (colour, grey, CMYK,
   truncated, text and PNG posing as JPEG, an empty class folder) is packed; bad inputs must be reported
   and skipped, the rest stored intact and labelled; damaged packs must be refused with a clear message. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zlib.h>

#include "data/image.h"
#include "data/pack.h"
#include "testutil.h"
#include "util/util.h"

static char tmp[256];
static char tool[4096];

/* Runs a shell command with stdout+stderr into tmp/out.txt; returns its exit status. */
static int run(const char *fmt, ...) CLT_PRINTF(1, 2);
static int run(const char *fmt, ...) {
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(cmd + n, sizeof cmd - (size_t)n, " >%s/out.txt 2>&1", tmp);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char *output(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    char *s = clt_read_file(path, NULL);
    return s ? s : clt_strdup("");
}

static int output_has(const char *needle) {
    char *s = output();
    int ok = strstr(s, needle) != NULL;
    if (!ok) printf("  (output lacks '%s'; it was:)\n%s", needle, s);
    free(s);
    return ok;
}

static void pattern(uint8_t *px, int w, int h, int seed) {
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + ((size_t)y * w + x) * 3;
            p[0] = (uint8_t)((x * 255 / (w - 1) + seed * 40) % 256 * 3 / 4);
            p[1] = (uint8_t)(y * 255 / (h - 1));
            p[2] = (uint8_t)((x + y) * 200 / (w + h - 2) + 20);
        }
}

static void write_bytes(const char *rel, const void *data, size_t n) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

/* Encodes pixels of `format` (TJPF_RGB, TJPF_GRAY, TJPF_CMYK) to a JPEG file; keep < 1 writes only that
   fraction of its bytes (a truncated file). */
static void write_jpeg(const char *rel, const uint8_t *px, int w, int h, int format, double keep) {
    tjhandle tj = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long size = 0;
    int samp = format == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_444;
    if (tjCompress2(tj, px, w, 0, h, format, &buf, &size, samp, 95, 0) != 0) printf("tjCompress2: %s\n", tjGetErrorStr2(tj));
    write_bytes(rel, buf, (size_t)(size * keep));
    tjFree(buf);
    tjDestroy(tj);
}

/* A valid 64×64 JPEG whose frame header claims 60000×60000: must be refused before any allocation. */
static void write_huge(const char *rel, const uint8_t *px) {
    tjhandle tj = tjInitCompress();
    unsigned char *buf = NULL;
    unsigned long size = 0;
    tjCompress2(tj, px, 64, 0, 64, TJPF_RGB, &buf, &size, TJSAMP_444, 95, 0);
    for (unsigned long i = 0; i + 9 < size; i++)
        if (buf[i] == 0xff && buf[i + 1] == 0xc0) { /* SOF0: length, precision, height, width */
            buf[i + 5] = buf[i + 7] = 0xea;
            buf[i + 6] = buf[i + 8] = 0x60;
            break;
        }
    write_bytes(rel, buf, size);
    tjFree(buf);
    tjDestroy(tj);
}

static void mkdir_in(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, rel);
    mkdir(path, 0777);
}

/* Mean absolute difference of a decoded pack record (3×S×S) from the expected warped pixels. */
static double record_error(clt_pack *p, uint64_t i, const uint8_t *want) {
    uint8_t *rec = clt_malloc(p->max_record), *pix = clt_malloc((size_t)p->c * p->h * p->w);
    char err[256];
    clt_jpeg *j = clt_jpeg_new();
    double e = 1e9;
    if (clt_pack_read(p, i, rec, err, sizeof err) == 0 &&
        (p->encoding == CLT_PACK_RAW
             ? (memcpy(pix, rec, (size_t)p->c * p->h * p->w), 0)
             : clt_jpeg_decode_into(j, rec, p->index[i].size, p->c, pix, p->w, p->h, err, sizeof err)) == 0) {
        e = 0;
        size_t n = (size_t)p->c * p->h * p->w;
        for (size_t k = 0; k < n; k++) e += abs((int)pix[k] - (int)want[k]);
        e /= (double)n;
    } else {
        printf("  record %llu: %s\n", (unsigned long long)i, err);
    }
    clt_jpeg_free(j);
    free(rec), free(pix);
    return e;
}

static uint8_t *warped(const uint8_t *src, int w, int h, int c, int size) {
    uint8_t *out = clt_malloc((size_t)size * size * c);
    clt_resize_bilinear(src, w, h, out, size, size, c);
    return out;
}

static void test_tree(void) {
    mkdir_in("tree");
    mkdir_in("tree/apple");
    mkdir_in("tree/bear");
    mkdir_in("tree/cat");
    mkdir_in("tree/dog");
    mkdir_in("out");
    int sizes[5][2] = {{320, 240}, {100, 300}, {64, 64}, {200, 150}, {180, 120}};
    uint8_t *src[5];
    for (int i = 0; i < 5; i++) {
        src[i] = clt_malloc((size_t)sizes[i][0] * sizes[i][1] * 4);
        pattern(src[i], sizes[i][0], sizes[i][1], i);
    }
    write_jpeg("tree/apple/a1.jpg", src[0], 320, 240, TJPF_RGB, 1);
    write_jpeg("tree/apple/a2.JPEG", src[1], 100, 300, TJPF_RGB, 1);
    write_jpeg("tree/apple/a3.jpeg", src[2], 64, 64, TJPF_RGB, 1);
    write_bytes("tree/apple/notes.txt", "not an image\n", 13);
    /* grey: the green plane of pattern 3 */
    uint8_t *grey = clt_malloc(200 * 150), *grey_rgb = clt_malloc(200 * 150 * 3);
    for (int k = 0; k < 200 * 150; k++) grey[k] = src[3][3 * k + 1], memset(grey_rgb + 3 * k, grey[k], 3);
    write_jpeg("tree/bear/b1.JPEG", grey, 200, 150, TJPF_GRAY, 1);
    /* CMYK with K = 200: R = C·K/255 under the Adobe convention */
    uint8_t *cmyk = clt_malloc(180 * 120 * 4), *cmyk_rgb = clt_malloc(180 * 120 * 3);
    for (int k = 0; k < 180 * 120; k++) {
        for (int ch = 0; ch < 3; ch++) {
            cmyk[4 * k + ch] = src[4][3 * k + ch];
            cmyk_rgb[3 * k + ch] = (uint8_t)((src[4][3 * k + ch] * 200 + 127) / 255);
        }
        cmyk[4 * k + 3] = 200;
    }
    write_jpeg("tree/bear/b2.JPEG", cmyk, 180, 120, TJPF_CMYK, 1);
    write_jpeg("tree/bear/b3.JPEG", src[0], 320, 240, TJPF_RGB, 0.6);
    write_bytes("tree/bear/b4.JPEG", "hello, I am text\n", 17);
    write_bytes("tree/bear/b5.JPEG", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    write_huge("tree/bear/b6.JPEG", src[2]);
    write_jpeg("tree/dog/d1.jpg", src[2], 64, 64, TJPF_RGB, 1);
    write_jpeg("tree/dog/d2.jpg", src[1], 100, 300, TJPF_RGB, 1);

    int rc = run("%s pack --folders %s/tree -o %s/out/all.pack --size 48 --no-progress --threads 2", tool, tmp, tmp);
    t_check(rc == 0, "pack of a tree with bad files exits 0 (got %d)", rc);
    t_check(output_has("packed 7 of 11 images"), "summary counts 7 packed of 11");
    t_check(output_has("b6.JPEG") && output_has("60000×60000 pixels is out of bounds"), "a JPEG claiming 60000×60000 is refused");
    t_check(output_has("truncated JPEG") && output_has("b3.JPEG"), "truncated JPEG reported by name");
    t_check(output_has("not a JPEG") && output_has("b4.JPEG") && output_has("(text)"), "text file named .JPEG reported");
    t_check(output_has("b5.JPEG") && output_has("(PNG)"), "PNG named .JPEG reported");
    t_check(output_has("empty class folder") && output_has("tree/cat"), "empty class folder reported");
    t_check(output_has("notes.txt"), "a non-JPEG name in a class folder is noted");
    char path[512];
    snprintf(path, sizeof path, "%s/out/all.report.txt", tmp);
    char *report = clt_read_file(path, NULL);
    t_check(report && strstr(report, "skipped\ttruncated JPEG") && strstr(report, "b5.JPEG"),
            "report file lists the skipped inputs");
    free(report);

    clt_pack p;
    snprintf(path, sizeof path, "%s/out/all.pack", tmp);
    if (clt_pack_open(&p, path) != 0) {
        t_check(0, "pack opens");
        return;
    }
    static const int want_labels[7] = {0, 0, 0, 1, 1, 3, 3};
    int labels_ok = p.count == 7 && p.classes == 4 && p.c == 3 && p.h == 48 && p.w == 48 && p.encoding == CLT_PACK_JPEG;
    for (uint64_t i = 0; labels_ok && i < 7; i++) labels_ok = p.index[i].label == want_labels[i];
    t_check(labels_ok, "pack holds 7 images 3×48×48 jpeg, 4 classes, labels by sorted folder (empty class kept)");
    const uint8_t *want[7];
    uint8_t *w0 = warped(src[0], 320, 240, 3, 48), *w1 = warped(src[1], 100, 300, 3, 48), *w2 = warped(src[2], 64, 64, 3, 48);
    uint8_t *wg = warped(grey_rgb, 200, 150, 3, 48), *wc = warped(cmyk_rgb, 180, 120, 3, 48);
    want[0] = w0, want[1] = w1, want[2] = w2, want[3] = wg, want[4] = wc, want[5] = w2, want[6] = w1;
    static const char *what[7] = {"colour 320×240", "colour 100×300", "colour 64×64", "greyscale", "CMYK", "colour 64×64",
                                  "colour 100×300"};
    for (uint64_t i = 0; i < p.count && i < 7; i++) {
        double e = record_error(&p, i, want[i]);
        t_check(e < 3.0, "record %llu (%s) decodes to the warped source (mean abs error %.2f levels)",
                (unsigned long long)i, what[i], e);
    }
    clt_pack_close(&p);

    /* the mean written at pack time against the mean of the stored pixels */
    snprintf(path, sizeof path, "%s/out/all.mean", tmp);
    int c, h, w;
    uint64_t count;
    float *m1 = NULL, *m2 = NULL;
    int ok1 = clt_mean_read(path, &c, &h, &w, &count, &m1) == 0 && c == 3 && h == 48 && w == 48 && count == 7;
    rc = run("%s mean %s/out/all.pack -o %s/out/recomputed.mean --no-progress", tool, tmp, tmp);
    snprintf(path, sizeof path, "%s/out/recomputed.mean", tmp);
    int ok2 = rc == 0 && clt_mean_read(path, &c, &h, &w, &count, &m2) == 0;
    t_check(ok1 && ok2 && !memcmp(m1, m2, sizeof(float) * 3 * 48 * 48), "pack-time mean equals the mean of the stored pixels");
    free(m1), free(m2);

    /* restricted to classes 1 and 3, remapped to 0 and 1 */
    snprintf(path, sizeof path, "%s/classes.txt", tmp);
    clt_write_file_atomic(path, "3\n1\n", 4);
    rc = run("%s pack --folders %s/tree -o %s/out/sub.pack --split %s --size 32 --no-progress", tool, tmp, tmp, path);
    snprintf(path, sizeof path, "%s/out/sub.pack", tmp);
    int sub_ok = rc == 0 && clt_pack_open(&p, path) == 0;
    if (sub_ok) {
        static const int lab[4] = {0, 0, 1, 1}, orig[4] = {1, 1, 3, 3};
        sub_ok = p.count == 4 && p.classes == 2;
        for (uint64_t i = 0; sub_ok && i < 4; i++) sub_ok = p.index[i].label == lab[i] && p.index[i].orig_label == orig[i];
        clt_pack_close(&p);
    }
    t_check(sub_ok, "class list keeps classes 1 and 3, labels remapped to 0 and 1, originals kept");
    snprintf(path, sizeof path, "%s/out/sub.classes.txt", tmp);
    char *map = clt_read_file(path, NULL);
    t_check(map && strstr(map, "0\t1\tbear\n") && strstr(map, "1\t3\tdog\n"), "class map written beside the pack");
    free(map);

    /* grey raw storage, one class per folder, and --per-class */
    rc = run("%s pack --folders %s/tree -o %s/out/grey.pack --size 16 --gray --raw --per-class 1 --seed 3 --no-progress",
             tool, tmp, tmp);
    snprintf(path, sizeof path, "%s/out/grey.pack", tmp);
    int grey_ok = rc == 0 && clt_pack_open(&p, path) == 0;
    if (grey_ok) {
        grey_ok = p.c == 1 && p.encoding == CLT_PACK_RAW && p.h == 16 && p.count <= 3 && p.classes == 4;
        int per[4] = {0};
        for (uint64_t i = 0; i < p.count; i++) per[p.index[i].label]++;
        grey_ok &= per[0] == 1 && per[3] == 1 && per[1] <= 1 && per[2] == 0;
        clt_pack_close(&p);
    }
    t_check(grey_ok, "--gray --raw --per-class 1: one channel, raw, at most one image per class");

    /* a Caffe-style list with a missing file, a label out of range and a malformed line */
    snprintf(path, sizeof path, "%s/list.txt", tmp);
    const char *list = "apple/a1.jpg 0\nbear/b1.JPEG 1\nbear/missing.JPEG 1\ndog/d1.jpg 7\njust-a-path\nbear/b3.JPEG 1\n";
    clt_write_file_atomic(path, list, strlen(list));
    rc = run("%s pack --list %s --root %s/tree --num-classes 4 -o %s/out/list.pack --size 32 --no-progress", tool, path,
             tmp, tmp);
    t_check(rc == 0 && output_has("packed 2 of 4 images") && output_has("missing file") && output_has("missing.JPEG") &&
                output_has("label out of range") && output_has("list.txt:4") && output_has("bad list line") &&
                output_has("truncated JPEG"),
            "list file: missing file, label out of range, bad line and truncated JPEG reported; 2 packed");
    rc = run("%s pack --list %s --root %s/tree --num-classes 4 -o %s/out/strict.pack --size 32 --no-progress --strict",
             tool, path, tmp, tmp);
    t_check(rc == 1, "--strict makes skipped inputs an error (exit %d)", rc);

    for (int i = 0; i < 5; i++) free(src[i]);
    free(grey), free(grey_rgb), free(cmyk), free(cmyk_rgb), free(w0), free(w1), free(w2), free(wg), free(wc);
}

static void copy_file(const char *from, const char *to, long truncate_by, long flip_at) {
    size_t n;
    char *d = clt_read_file(from, &n);
    if (!d) return;
    if (flip_at >= 0 && (size_t)flip_at < n) d[flip_at] ^= 0x5a;
    if (flip_at < -1) d[n + (size_t)flip_at] ^= 0x5a; /* counted from the end */
    clt_write_file_atomic(to, d, n - (size_t)truncate_by);
    free(d);
}

static void test_damaged(void) {
    char good[512], bad[512];
    snprintf(good, sizeof good, "%s/out/all.pack", tmp);
    snprintf(bad, sizeof bad, "%s/out/bad.pack", tmp);
    clt_pack p;
    copy_file(good, bad, 10, -1);
    int rc = run("%s info %s", tool, bad);
    t_check(rc == 1 && output_has("bad.pack is truncated"), "truncated pack refused, naming the file");
    fprintf(stderr, "(expected error follows)\n");
    t_check(clt_pack_open(&p, bad) != 0, "truncated pack refused by clt_pack_open");
    copy_file(good, bad, 0, 8);
    rc = run("%s info %s", tool, bad);
    t_check(rc == 1 && output_has("format version"), "wrong-version pack refused");
    copy_file(good, bad, 0, -3);
    rc = run("%s info %s", tool, bad);
    t_check(rc == 1 && output_has("index checksum mismatch"), "damaged index refused");
    copy_file(good, bad, 0, 40);
    rc = run("%s info %s", tool, bad);
    t_check(rc == 1 && output_has("header checksum mismatch"), "damaged header refused");
    copy_file(good, bad, 0, CLT_PACK_HEADER_SIZE + 100);
    rc = run("%s info %s", tool, bad);
    t_check(rc == 1 && output_has("record 0 is damaged") && output_has("DATA DAMAGED"), "damaged image data found by info");
    snprintf(bad, sizeof bad, "%s/tree/apple/notes.txt", tmp);
    rc = run("%s info %s", tool, bad);
    t_check(rc == 1 && output_has("is not a cltransfer pack"), "a text file is not taken for a pack");
    rc = run("%s info %s", tool, good);
    t_check(rc == 0 && output_has("data ok (7 records)") && output_has("bear"), "info on a good pack: checksums ok, class names");
}

static uint8_t *gz_bytes(const char *path, size_t skip, size_t n) {
    gzFile f = gzopen(path, "rb");
    if (!f) return NULL;
    uint8_t *d = clt_malloc(skip + n);
    int got = gzread(f, d, (unsigned)(skip + n));
    gzclose(f);
    if (got != (int)(skip + n)) {
        free(d);
        return NULL;
    }
    memmove(d, d + skip, n);
    return d;
}

static void test_fmnist(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char path[512];
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    if (!clt_file_exists(path)) {
        printf("SKIP fmnist: %s not installed (Debian package dataset-fashion-mnist)\n", path);
        return;
    }
    double t0 = clt_now();
    int rc = run("%s fmnist -o %s/out/fm", tool, tmp);
    double took = clt_now() - t0;
    t_check(rc == 0 && took < 20, "fmnist packs train and test (%.1f s)", took);
    const char *sets[2] = {"train", "test"};
    int per_want[2] = {6000, 1000};
    for (int s = 0; s < 2; s++) {
        clt_pack p;
        snprintf(path, sizeof path, "%s/out/fm_%s.pack", tmp, sets[s]);
        if (clt_pack_open(&p, path) != 0) {
            t_check(0, "fmnist %s pack opens", sets[s]);
            continue;
        }
        int per[10] = {0}, ok = p.classes == 10 && p.c == 1 && p.h == 28 && p.w == 28 && p.encoding == CLT_PACK_RAW;
        for (uint64_t i = 0; i < p.count; i++) per[p.index[i].label]++;
        for (int k = 0; k < 10; k++) ok &= per[k] == per_want[s];
        t_check(ok, "fmnist %s: %llu images, %d per class, 1×28×28 raw", sets[s], (unsigned long long)p.count, per_want[s]);
        clt_pack_close(&p);
    }
    /* record 0 of the train pack is image 0 of the idx file */
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    uint8_t *img0 = gz_bytes(path, 16, 784), rec[784];
    clt_pack p;
    snprintf(path, sizeof path, "%s/out/fm_train.pack", tmp);
    char err[256];
    int same = img0 && clt_pack_open(&p, path) == 0 && clt_pack_read(&p, 0, rec, err, sizeof err) == 0 &&
               !memcmp(rec, img0, 784);
    if (p.fd >= 0) clt_pack_close(&p);
    t_check(same, "fmnist record 0 holds the idx file's first image byte for byte");
    free(img0);

    rc = run("%s fmnist -o %s/out/fm3 --classes 0,2,3 --per-class 100 --seed 5", tool, tmp);
    snprintf(path, sizeof path, "%s/out/fm3_train.pack", tmp);
    int ok = rc == 0 && clt_pack_open(&p, path) == 0;
    if (ok) {
        int per[3] = {0};
        ok = p.count == 300 && p.classes == 3;
        for (uint64_t i = 0; ok && i < p.count; i++) {
            per[p.index[i].label]++;
            ok = (p.index[i].label == 0 && p.index[i].orig_label == 0) || (p.index[i].label == 1 && p.index[i].orig_label == 2) ||
                 (p.index[i].label == 2 && p.index[i].orig_label == 3);
        }
        ok &= per[0] == 100 && per[1] == 100 && per[2] == 100;
        clt_pack_close(&p);
    }
    snprintf(path, sizeof path, "%s/out/fm3_test.pack", tmp);
    ok = ok && clt_pack_open(&p, path) == 0;
    if (ok) {
        ok = p.count == 3000;
        clt_pack_close(&p);
    }
    t_check(ok, "fmnist --classes 0,2,3 --per-class 100: 300 train (100 each, labels 0,1,2), 3000 test");
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/clt_test_pack.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    const char *build = getenv("CLT_BUILD_DIR");
    snprintf(tool, sizeof tool, "%s/cltransfer-data", build ? build : ".");
    if (access(tool, X_OK) != 0) {
        t_check(0, "cltransfer-data is built at %s (set CLT_BUILD_DIR)", tool);
        return t_done();
    }
    test_tree();
    test_damaged();
    test_fmnist();
    int failed = t_done();
    if (!failed) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
        if (system(cmd) != 0) printf("could not remove %s\n", tmp);
    } else {
        printf("files kept in %s\n", tmp);
    }
    return failed;
}
