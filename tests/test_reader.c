/* test_reader.c — the trainer's reader: exact crops, mirroring, mean subtraction and scaling against values
   computed here; batches a pure function of (seed, iteration) whatever the threads, prefetch or resume
   point; epochs that visit every image once; validation in pack order with centre crops; JPEG packs
   decoded exactly; damaged packs and records reported without crashing. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/image.h"
#include "data/pack.h"
#include "data/reader.h"
#include "testutil.h"
#include "util/util.h"

#define N 37
#define C 3
#define H 20
#define W 24
#define K 5

static char tmp[256], raw_pack[512], mean_path[512];

static uint8_t pix(int id, int y, int x, int ch) { return (uint8_t)((id * 37 + y * 3 + x * 5 + ch * 11) & 255); }
static float mean_at(int ch, int y, int x) { return (float)ch * 7 + (float)y + (float)x * 0.5f; }

static void make_raw_pack(const char *path, int n) {
    clt_pack_writer *pw;
    uint8_t img[H * W * C];
    clt_pack_writer_open(&pw, path, CLT_PACK_RAW, C, H, W, K);
    for (int id = 0; id < n; id++) {
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                for (int ch = 0; ch < C; ch++) img[(y * W + x) * C + ch] = pix(id, y, x, ch);
        clt_pack_writer_add(pw, img, sizeof img, id % K, id % K);
    }
    clt_pack_writer_commit(pw);
}

static clt_reader *open_reader(int crop, int train, int mirror, int batch, uint64_t seed, int threads, int prefetch,
                               const char *mean, float scale) {
    clt_reader_config cfg = {.pack_path = raw_pack, .mean_path = mean, .crop = crop, .train = train, .mirror = mirror,
                             .scale = scale, .batch = batch, .seed = seed, .threads = threads, .prefetch = prefetch};
    clt_reader *r;
    return clt_reader_open(&r, &cfg) == 0 ? r : NULL;
}

/* The batch computed directly from the plan, the pattern and the mean, in the reader's float arithmetic. */
static void expected(clt_reader *r, int batch, int crop, uint64_t iter, const char *mean, float scale, float *out,
                     int *labels) {
    for (int j = 0; j < batch; j++) {
        uint64_t rec;
        int y0, x0, m;
        clt_reader_train_plan(r, iter, j, &rec, &y0, &x0, &m);
        labels[j] = (int)(rec % K);
        for (int ch = 0; ch < C; ch++)
            for (int y = 0; y < crop; y++)
                for (int x = 0; x < crop; x++) {
                    int sx = m ? crop - 1 - x : x;
                    float v = (float)pix((int)rec, y0 + y, x0 + sx, ch);
                    if (mean) v -= mean_at(ch, y0 + y, x0 + sx);
                    out[(((size_t)ch * batch + j) * crop + y) * crop + x] = v * scale;
                }
    }
}

static void test_exact_and_deterministic(void) {
    const int batch = 8, crop = 16, iters = 10;
    size_t per = (size_t)C * batch * crop * crop;
    clt_reader *a = open_reader(crop, 1, 1, batch, 42, 2, 0, mean_path, 0.5f);
    clt_reader *b = open_reader(crop, 1, 1, batch, 42, 1, 3, mean_path, 0.5f);
    if (!a || !b) {
        t_check(0, "reader opens");
        return;
    }
    int c, h, w;
    clt_reader_shape(a, &c, &h, &w);
    t_check(c == 3 && h == crop && w == crop && clt_reader_count(a) == N && clt_reader_classes(a) == K,
            "shape 3×16×16, 37 images, 5 classes");
    /* epoch 0 is a permutation of the pack */
    int seen[N] = {0}, perm_ok = 1;
    for (int p = 0; p < N; p++) {
        uint64_t rec;
        int y0, x0, m;
        clt_reader_train_plan(a, (uint64_t)(p / batch), p % batch, &rec, &y0, &x0, &m);
        seen[rec]++;
    }
    for (int i = 0; i < N; i++) perm_ok &= seen[i] == 1;
    t_check(perm_ok, "positions 0..36 visit every image once (epoch 0 is a permutation)");

    float *ga = clt_malloc(per * iters * sizeof(float)), *gb = clt_malloc(per * iters * sizeof(float));
    float *want = clt_malloc(per * sizeof(float));
    int *la = clt_malloc(sizeof(int) * batch * iters), *lb = clt_malloc(sizeof(int) * batch * iters), lw[8];
    int rc = 0, exact = 1, crops = 0, mirrors = 0;
    for (int it = 0; it < iters; it++) {
        rc |= clt_reader_train_batch(a, (uint64_t)it, ga + per * it, la + batch * it);
        rc |= clt_reader_train_batch(b, (uint64_t)it, gb + per * it, lb + batch * it);
        expected(a, batch, crop, (uint64_t)it, mean_path, 0.5f, want, lw);
        exact &= !memcmp(want, ga + per * it, per * sizeof(float)) && !memcmp(lw, la + batch * it, sizeof lw);
        for (int j = 0; j < batch; j++) {
            uint64_t rec;
            int y0, x0, m;
            clt_reader_train_plan(a, (uint64_t)it, j, &rec, &y0, &x0, &m);
            crops |= 1 << (y0 * 5 + x0 % 5), mirrors += m;
        }
    }
    t_check(rc == 0, "training batches 0..9 read (epochs wrap at 37)");
    t_check(exact, "batches equal crop + mirror + mean subtraction + scale computed independently");
    t_check(__builtin_popcount((unsigned)crops) > 5 && mirrors > 10 && mirrors < 70, "crops vary and about half mirrored (%d of 80)",
            mirrors);
    t_check(!memcmp(ga, gb, per * iters * sizeof(float)) && !memcmp(la, lb, sizeof(int) * batch * iters),
            "same seed: same bytes with 2 threads/auto prefetch and 1 thread/prefetch 3");
    t_check(memcmp(ga, ga + per, per * sizeof(float)) != 0, "batch 0 differs from batch 1");

    clt_reader *resumed = open_reader(crop, 1, 1, batch, 42, 2, 0, mean_path, 0.5f);
    float *g = clt_malloc(per * sizeof(float));
    int l[8];
    int same = resumed && clt_reader_train_batch(resumed, 7, g, l) == 0 && !memcmp(g, ga + per * 7, per * sizeof(float));
    same &= resumed && clt_reader_train_batch(resumed, 3, g, l) == 0 && !memcmp(g, ga + per * 3, per * sizeof(float));
    same &= resumed && clt_reader_train_batch(resumed, 4, g, l) == 0 && !memcmp(g, ga + per * 4, per * sizeof(float));
    t_check(same, "a fresh reader at iteration 7, then 3, 4, gives the sequential reader's batches");
    clt_reader *other = open_reader(crop, 1, 1, batch, 43, 2, 0, mean_path, 0.5f);
    t_check(other && clt_reader_train_batch(other, 0, g, l) == 0 && memcmp(g, ga, per * sizeof(float)) != 0,
            "another seed gives another batch 0");

    clt_reader_close(a), clt_reader_close(b), clt_reader_close(resumed), clt_reader_close(other);
    free(ga), free(gb), free(want), free(la), free(lb), free(g);
}

static void test_val_and_modes(void) {
    const int crop = 16, count = 10, start = 5;
    clt_reader *r = open_reader(crop, 1, 1, 4, 9, 2, 0, mean_path, 1.0f);
    float *got = clt_malloc(sizeof(float) * C * count * crop * crop), *want = clt_malloc(sizeof(float) * C * count * crop * crop);
    int labels[10], ok = r && clt_reader_val_batch(r, start, count, got, labels) == 0;
    int y0 = (H - crop) / 2, x0 = (W - crop) / 2;
    for (int j = 0; ok && j < count; j++) {
        ok &= labels[j] == (start + j) % K;
        for (int ch = 0; ch < C; ch++)
            for (int y = 0; y < crop; y++)
                for (int x = 0; x < crop; x++)
                    want[(((size_t)ch * count + j) * crop + y) * crop + x] =
                        ((float)pix(start + j, y0 + y, x0 + x, ch) - mean_at(ch, y0 + y, x0 + x)) * 1.0f;
    }
    t_check(ok && !memcmp(got, want, sizeof(float) * C * count * crop * crop),
            "validation [5, 15): pack order, centre crop, no mirror, mean subtracted");
    fprintf(stderr, "(expected error follows)\n");
    t_check(r && clt_reader_val_batch(r, 30, 10, got, labels) == -1, "validation range past the end refused");
    clt_reader_close(r);

    /* train = 0: centre crops and no mirror, still in permuted order */
    r = open_reader(crop, 0, 1, 4, 9, 1, 0, NULL, 1.0f);
    ok = r != NULL;
    for (int j = 0; ok && j < 4; j++) {
        uint64_t rec;
        int yy, xx, m;
        clt_reader_train_plan(r, 2, j, &rec, &yy, &xx, &m);
        ok &= yy == y0 && xx == x0 && !m;
    }
    t_check(ok, "train = 0: centre crop, no mirror");
    clt_reader_close(r);

    /* crop 0: whole images; a batch larger than the pack spans two epochs */
    r = open_reader(0, 1, 0, 100, 1, 2, 0, NULL, 1.0f / 255);
    int c, h, w;
    float *big = clt_malloc(sizeof(float) * C * 100 * H * W);
    int big_labels[100], seen[N] = {0};
    ok = r && (clt_reader_shape(r, &c, &h, &w), c == C && h == H && w == W) &&
         clt_reader_train_batch(r, 0, big, big_labels) == 0;
    for (int j = 0; ok && j < N; j++) {
        uint64_t rec;
        int yy, xx, m;
        clt_reader_train_plan(r, 0, j, &rec, &yy, &xx, &m);
        seen[rec]++;
        ok &= big[((size_t)0 * 100 + j) * H * W + 1] == (float)pix((int)rec, 0, 1, 0) * (1.0f / 255);
    }
    for (int i = 0; ok && i < N; i++) ok &= seen[i] == 1;
    t_check(ok, "crop 0 gives whole 20×24 images; batch 100 > 37 images spans epochs, scale 1/255 applied");
    clt_reader_close(r);
    free(got), free(want), free(big);
}

static void test_jpeg_pack(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/jpeg.pack", tmp);
    clt_pack_writer *pw;
    clt_jpeg *j = clt_jpeg_new();
    uint8_t img[32 * 32 * 3];
    clt_pack_writer_open(&pw, path, CLT_PACK_JPEG, 3, 32, 32, 3);
    uint8_t *enc_copy[12];
    size_t enc_size[12];
    for (int id = 0; id < 12; id++) {
        for (int k = 0; k < 32 * 32 * 3; k++) img[k] = (uint8_t)((k * (id + 1) / 7) & 255);
        const uint8_t *enc;
        char err[256];
        clt_jpeg_encode(j, img, 32, 32, 3, 90, 420, &enc, &enc_size[id], err, sizeof err);
        enc_copy[id] = clt_malloc(enc_size[id]);
        memcpy(enc_copy[id], enc, enc_size[id]);
        clt_pack_writer_add(pw, enc, enc_size[id], id % 3, id % 3);
    }
    clt_pack_writer_commit(pw);
    clt_reader_config cfg = {.pack_path = path, .scale = 1, .batch = 5, .seed = 1, .threads = 2};
    clt_reader *r;
    float got[3 * 12 * 32 * 32];
    int labels[12], ok = clt_reader_open(&r, &cfg) == 0 && clt_reader_val_batch(r, 0, 12, got, labels) == 0;
    for (int id = 0; ok && id < 12; id++) {
        const uint8_t *px;
        int w, h;
        char err[256];
        ok &= clt_jpeg_decode(j, enc_copy[id], enc_size[id], 3, &px, &w, &h, err, sizeof err) == 0 && labels[id] == id % 3;
        for (int ch = 0; ok && ch < 3; ch++)
            for (int k = 0; ok && k < 32 * 32; k++) ok &= got[((size_t)ch * 12 + id) * 1024 + k] == (float)px[k * 3 + ch];
    }
    t_check(ok, "JPEG pack: validation batch equals an independent TurboJPEG decode, CNHW");
    float tb[3 * 5 * 32 * 32];
    int tl[5];
    t_check(ok && clt_reader_train_batch(r, 0, tb, tl) == 0, "JPEG pack: a training batch reads");
    if (ok) clt_reader_close(r);
    for (int id = 0; id < 12; id++) free(enc_copy[id]);
    clt_jpeg_free(j);
}

static void damaged_copy(const char *from, const char *to, size_t truncate_by, long flip_at) {
    size_t n;
    char *d = clt_read_file(from, &n);
    if (flip_at >= 0) d[flip_at] ^= 0x41;
    clt_write_file_atomic(to, d, n - truncate_by);
    free(d);
}

static void test_refusals(void) {
    char bad[512], bad_mean[512];
    snprintf(bad, sizeof bad, "%s/bad.pack", tmp);
    clt_reader *r;
    clt_reader_config cfg = {.pack_path = bad, .scale = 1, .batch = 4, .seed = 1, .threads = 2};

    /* a damaged record (index intact): reported at read time, and the reader stays usable */
    damaged_copy(raw_pack, bad, 0, CLT_PACK_HEADER_SIZE + 3 * C * H * W + 17);
    int ok = clt_reader_open(&r, &cfg) == 0;
    float *img = clt_malloc(sizeof(float) * C * N * H * W);
    int labels[N];
    fprintf(stderr, "(expected errors follow)\n");
    ok = ok && clt_reader_val_batch(r, 0, N, img, labels) == -1;
    int train_failed = 0, train_ok = 0;
    for (uint64_t it = 0; ok && it < 10; it++) {
        int hit = 0;
        for (int j = 0; j < 4; j++) {
            uint64_t rec;
            int y0, x0, m;
            clt_reader_train_plan(r, it, j, &rec, &y0, &x0, &m);
            hit |= rec == 3;
        }
        int rc = clt_reader_train_batch(r, it, img, labels);
        train_failed += hit && rc == -1;
        train_ok += !hit && rc == 0;
    }
    ok = ok && train_failed >= 1 && train_ok >= 8 && clt_reader_val_batch(r, 4, 10, img, labels) == 0;
    t_check(ok, "a damaged record fails its batches (-1, message) and only those");
    if (r) clt_reader_close(r);

    damaged_copy(raw_pack, bad, 5, -1);
    t_check(clt_reader_open(&r, &cfg) == -1, "truncated pack refused");
    damaged_copy(raw_pack, bad, 0, 8);
    t_check(clt_reader_open(&r, &cfg) == -1, "wrong-version pack refused");
    cfg.pack_path = "/nonexistent/x.pack";
    t_check(clt_reader_open(&r, &cfg) == -1, "missing pack refused");
    cfg.pack_path = raw_pack;
    cfg.crop = 21;
    t_check(clt_reader_open(&r, &cfg) == -1, "crop larger than the images refused");
    cfg.crop = 0;
    snprintf(bad_mean, sizeof bad_mean, "%s/bad.mean", tmp);
    float m[C * H * (W - 1)];
    memset(m, 0, sizeof m);
    clt_mean_write(bad_mean, C, H, W - 1, 1, m);
    cfg.mean_path = bad_mean;
    t_check(clt_reader_open(&r, &cfg) == -1, "mean image of another shape refused");
    /* the trainer copies the mean it chose into the run folder; the message names where it came from */
    cfg.mean_origin = "of the base net base.ckpt";
    fflush(stderr);
    int saved = dup(2);
    FILE *err = tmpfile();
    dup2(fileno(err), 2);
    int refused = clt_reader_open(&r, &cfg) == -1;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char msg[1024] = "";
    rewind(err);
    msg[fread(msg, 1, sizeof msg - 1, err)] = 0;
    fclose(err);
    t_check(refused && strstr(msg, "the mean image of the base net base.ckpt is ") && !strstr(msg, "bad.mean"),
            "a mean of another shape is named by its origin, not by its copy (%s)", msg);
    cfg.mean_origin = NULL;
    damaged_copy(mean_path, bad_mean, 4, -1);
    t_check(clt_reader_open(&r, &cfg) == -1, "truncated mean image refused");
    free(img);
}

int main(void) {
    const char *base = getenv("TMPDIR");
    snprintf(tmp, sizeof tmp, "%s/clt_test_reader.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(raw_pack, sizeof raw_pack, "%s/raw.pack", tmp);
    snprintf(mean_path, sizeof mean_path, "%s/raw.mean", tmp);
    make_raw_pack(raw_pack, N);
    float mean[C * H * W];
    for (int ch = 0; ch < C; ch++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) mean[(ch * H + y) * W + x] = mean_at(ch, y, x);
    clt_mean_write(mean_path, C, H, W, N, mean);
    test_exact_and_deterministic();
    test_val_and_modes();
    test_jpeg_pack();
    test_refusals();
    int failed = t_done();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (!failed && system(cmd) != 0) printf("could not remove %s\n", tmp);
    return failed;
}
