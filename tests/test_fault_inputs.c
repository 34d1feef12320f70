/* test_fault_inputs.c — hostile files with valid checksums: every size a checkpoint, pack or mean image
   declares is bounded before it is used, so each is refused with a message saying what is wrong (under
   the sanitizer build, also without any out-of-bounds access); config lines of any length; and study
   values that must not carry a newline into the configs they generate. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "net/checkpoint.h"
#include "net/config.h"
#include "data/pack.h"
#include "study/study.h"
#include "testutil.h"
#include "util/util.h"

static char tmp[256];

static char *path_of(const char *name) { return clt_path_join(tmp, name); }

static void spit(const char *path, const void *data, size_t n) {
    if (clt_write_file_atomic(path, data, n) != 0) abort();
}

/* stderr of the calls between begin and end, as a new string */
static int saved_fd = -1;
static void capture_begin(void) {
    fflush(stderr);
    saved_fd = dup(2);
    char *p = path_of("stderr.txt");
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    close(fd);
    free(p);
}
static char *capture_end(void) {
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    char *p = path_of("stderr.txt");
    char *s = clt_read_file(p, NULL);
    free(p);
    return s ? s : clt_strdup("");
}

/* ---- a growable byte buffer for hand-made files ---- */
typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;
static void put(buf *b, const void *d, size_t n) {
    if (!n) return;
    if (b->n + n > b->cap) b->p = clt_realloc(b->p, b->cap = 2 * (b->n + n) + 64);
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put32(buf *b, uint32_t v) {
    unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    put(b, le, 4);
}
static void put64(buf *b, uint64_t v) {
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}
static void set32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* ---- checkpoints ---- */

/* A checkpoint of the given header lines and one blob "mean" with dims and `floats` values stored
   (count says what it claims), with a correct CRC and end marker. */
static void write_ckpt(const char *path, const char *header_extra, int ndims, const uint32_t *dims, uint64_t count,
                       size_t floats) {
    char header[1024];
    int hl = snprintf(header, sizeof header, "format=cltransfer-checkpoint\nversion=1\narch=small\n%s%s",
                      header_extra, strstr(header_extra, "blobs=") ? "" : "blobs=1\n");
    buf b = {0};
    put(&b, "CLTCKPT\n", 8);
    put32(&b, 1);
    put32(&b, (uint32_t)hl);
    put(&b, header, (size_t)hl);
    put32(&b, 4);
    put(&b, "mean", 4);
    put32(&b, (uint32_t)ndims);
    for (int i = 0; i < ndims; i++) put32(&b, dims[i]);
    put64(&b, count);
    for (size_t i = 0; i < floats; i++) {
        float v = (float)i;
        put(&b, &v, 4);
    }
    put32(&b, (uint32_t)crc32(0, b.p, (uInt)b.n));
    put(&b, "CLTEND\n\0", 8);
    spit(path, b.p, b.n);
    free(b.p);
}

static void ckpt_refused(const char *what, const char *path, const char *want) {
    clt_checkpoint ck;
    capture_begin();
    int rc = clt_checkpoint_load(&ck, path);
    char *err = capture_end();
    t_check(rc != 0 && strstr(err, want), "checkpoint %s: refused, saying '%s' (%s)", what, want,
            strtok(err, "\n") ? err : "no message");
    if (rc == 0) clt_checkpoint_free(&ck);
    free(err);
}

static void test_checkpoints(void) {
    char *p = path_of("h.ckpt");
    uint32_t ok_dims[3] = {1, 2, 2};
    write_ckpt(p, "iter=3\nseed=1\nbatch=2\n", 3, ok_dims, 4, 4);
    /* well formed, so refused only at the check that its header's net is its blobs' net */
    ckpt_refused("that is well formed but holds no net", p, "checkpoint has no blob conv1.weight");

    /* 2^30 · 2^30 · 2^30 · 2^30 wraps to 0 in 64 bits: it once passed as a blob of no values */
    uint32_t wrap[4] = {1u << 30, 1u << 30, 1u << 30, 1u << 30};
    write_ckpt(p, "", 4, wrap, 0, 0);
    ckpt_refused("whose blob shape's product wraps around to 0", p, "more values than the file holds");
    uint32_t wide[2] = {1u << 20, 1u << 20};
    write_ckpt(p, "", 2, wide, 1ull << 40, 4);
    ckpt_refused("with a blob of 2^40 values in a small file", p, "more values than the file holds");
    write_ckpt(p, "", 3, ok_dims, 5, 4);
    ckpt_refused("whose count disagrees with its shape", p, "claims 5 floats");
    uint32_t zero[3] = {1, 0, 2};
    write_ckpt(p, "", 3, zero, 0, 0);
    ckpt_refused("with a zero dimension", p, "dimension 0");
    uint32_t rank5[5] = {1, 1, 2, 2, 1};
    write_ckpt(p, "", 5, rank5, 4, 4);
    ckpt_refused("with a blob of rank 5", p, "5 dimensions");
    write_ckpt(p, "iter=-5\n", 3, ok_dims, 4, 4);
    ckpt_refused("with a negative iteration", p, "bad 'iter' line");
    write_ckpt(p, "iter=99999999999999999999\n", 3, ok_dims, 4, 4);
    ckpt_refused("with an iteration past int64", p, "bad 'iter' line");
    write_ckpt(p, "batch=70000\n", 3, ok_dims, 4, 4);
    ckpt_refused("with a batch over 65536", p, "bad 'batch' line");
    write_ckpt(p, "batch=12abc\n", 3, ok_dims, 4, 4);
    ckpt_refused("with a batch that is not a number", p, "bad 'batch' line");
    write_ckpt(p, "input=1,99999999,2\n", 3, ok_dims, 4, 4);
    ckpt_refused("with an input side out of bounds", p, "bad 'input' line");
    write_ckpt(p, "blobs=257\n", 3, ok_dims, 4, 4);
    ckpt_refused("claiming 257 blobs", p, "bad 'blobs' line");
    write_ckpt(p, "blobs=2\n", 3, ok_dims, 4, 4);
    ckpt_refused("claiming more blobs than it holds", p, "runs past the end");
    free(p);
}

/* ---- packs ---- */

typedef struct pack_spec {
    uint32_t encoding, c, h, w, classes;
    uint64_t count;          /* header's count; entries written: `entries` */
    uint64_t entries;
    uint32_t record_size;    /* bytes of each record written */
    uint64_t offset_shift;   /* added to the last entry's offset */
    uint32_t size_claim;     /* 0: record_size; else the last entry's size */
    int32_t label;           /* label of the last entry */
} pack_spec;

/* A pack whose header, index and records carry correct CRCs whatever their fields say. */
static void write_pack(const char *path, const pack_spec *s) {
    buf data = {0}, index = {0};
    unsigned char *rec = clt_calloc(s->record_size ? s->record_size : 1, 1);
    for (uint64_t i = 0; i < s->entries; i++) {
        int last = i + 1 == s->entries;
        put64(&index, data.n + (last ? s->offset_shift : 0));
        put32(&index, last && s->size_claim ? s->size_claim : s->record_size);
        put32(&index, (uint32_t)crc32(0, rec, s->record_size));
        put32(&index, (uint32_t)(last ? s->label : 0));
        put32(&index, 0);
        put(&data, rec, s->record_size);
    }
    unsigned char h[128] = {0};
    memcpy(h, "CLTPACK", 8);
    set32(h + 8, 1);
    set32(h + 12, 128);
    set32(h + 16, s->encoding);
    set32(h + 20, s->c);
    set32(h + 24, s->h);
    set32(h + 28, s->w);
    set32(h + 32, s->classes);
    set32(h + 36, 24);
    for (int i = 0; i < 8; i++) {
        h[40 + i] = (unsigned char)(s->count >> (8 * i));
        h[48 + i] = (unsigned char)(128ull >> (8 * i));
        h[56 + i] = (unsigned char)((uint64_t)data.n >> (8 * i));
        h[64 + i] = (unsigned char)((128ull + data.n) >> (8 * i));
    }
    set32(h + 72, (uint32_t)crc32(0, index.p, (uInt)index.n));
    set32(h + 76, (uint32_t)crc32(0, data.p, (uInt)data.n));
    set32(h + 124, (uint32_t)crc32(0, h, 124));
    buf all = {0};
    put(&all, h, 128);
    put(&all, data.p, data.n);
    put(&all, index.p, index.n);
    spit(path, all.p, all.n);
    free(all.p), free(data.p), free(index.p), free(rec);
}

static void pack_refused(const char *what, const pack_spec *s, const char *want) {
    char *p = path_of("h.pack");
    write_pack(p, s);
    clt_pack pk;
    capture_begin();
    int rc = clt_pack_open(&pk, p);
    char *err = capture_end();
    t_check(rc != 0 && strstr(err, want), "pack %s: refused, saying '%s' (%s)", what, want,
            strtok(err, "\n") ? err : "no message");
    if (rc == 0) clt_pack_close(&pk);
    free(err);
    free(p);
}

static void test_packs(void) {
    const pack_spec good = {CLT_PACK_RAW, 1, 2, 2, 3, 3, 3, 4, 0, 0, 2};
    char *p = path_of("h.pack");
    write_pack(p, &good);
    clt_pack pk;
    int rc = clt_pack_open(&pk, p);
    uint8_t rec[4];
    char err[128];
    t_check(rc == 0 && pk.count == 3 && clt_pack_read(&pk, 2, rec, err, sizeof err) == 0,
            "pack: the hand-made reference opens and reads");
    if (rc == 0) clt_pack_close(&pk);
    free(p);

    pack_spec s = good;
    s.count = 1000;
    pack_refused("claiming 1000 images (an index past the end of the file)", &s, "truncated");
    s = good, s.count = 1ull << 60;
    pack_refused("claiming 2^60 images", &s, "image count out of bounds");
    s = good, s.count = UINT64_MAX / 8;
    pack_refused("claiming an image count whose index size wraps around", &s, "image count out of bounds");
    s = good, s.offset_shift = 1ull << 40;
    pack_refused("with a record offset past the data", &s, "record 2 lies outside the data");
    s = good, s.offset_shift = UINT64_MAX - 8; /* the last record's offset becomes 2^64 - 1 */
    pack_refused("with a record offset of 2^64 - 1", &s, "record 2 lies outside the data");
    s = good, s.size_claim = 0xffffffffu;
    pack_refused("with a record of 4 GiB", &s, "bad size");
    s = good, s.encoding = CLT_PACK_JPEG, s.size_claim = 5;
    pack_refused("with a record running past the data", &s, "lies outside the data");
    s = good, s.size_claim = 3;
    pack_refused("with a raw record shorter than an image", &s, "bad size");
    s = good, s.label = 3;
    pack_refused("with a label equal to the class count", &s, "label 3, outside 0..2");
    s = good, s.label = -1;
    pack_refused("with a negative label", &s, "label -1");
    s = good, s.h = 100000, s.record_size = 0, s.entries = 0, s.count = 0;
    pack_refused("with a side of 100000", &s, "image shape out of bounds");
    s = good, s.c = 4;
    pack_refused("with 4 channels", &s, "image shape out of bounds");
    s = good, s.classes = 0;
    pack_refused("with no classes", &s, "class count out of bounds");
    s = good, s.encoding = 7;
    pack_refused("with an unknown encoding", &s, "unknown image encoding");
}

/* ---- mean images ---- */

static void test_means(void) {
    char *p = path_of("h.mean");
    float m[4] = {1, 2, 3, 4};
    t_check(clt_mean_write(p, 1, 2, 2, 7, m) == 0, "mean: writes");
    size_t n;
    unsigned char *bytes = (unsigned char *)clt_read_file(p, &n);
    const struct {
        const char *what;
        uint32_t c, h, w;
        const char *want;
    } cases[] = {{"a side of 2^31", 1, 1u << 31, 2, "shape out of bounds"},
                 {"sides whose product wraps 32 bits", 3, 65536, 65536, "shape out of bounds"},
                 {"more values than the file holds", 1, 4, 4, "truncated"},
                 {"fewer values than the file holds", 1, 1, 2, "bytes after its data"}};
    for (size_t i = 0; i < CLT_ARRAY_LEN(cases); i++) {
        set32(bytes + 12, cases[i].c);
        set32(bytes + 16, cases[i].h);
        set32(bytes + 20, cases[i].w);
        set32(bytes + 44, (uint32_t)crc32(0, bytes, 44)); /* version 2: the header crc after the pack id */
        spit(p, bytes, n);
        int c, h, w;
        uint64_t count;
        float *mean = NULL;
        capture_begin();
        int rc = clt_mean_read(p, &c, &h, &w, &count, &mean);
        char *err = capture_end();
        t_check(rc != 0 && strstr(err, cases[i].want), "mean image with %s: refused, saying '%s'", cases[i].what,
                cases[i].want);
        free(mean);
        free(err);
    }
    /* version 1 (no pack id, a 40-byte header) is still read */
    unsigned char v1[40 + 16];
    t_check(clt_mean_write(p, 1, 2, 2, 7, m) == 0, "mean: writes again");
    free(bytes);
    bytes = (unsigned char *)clt_read_file(p, &n);
    memcpy(v1, bytes, 36);
    set32(v1 + 8, 1);
    set32(v1 + 36, (uint32_t)crc32(0, v1, 36));
    memcpy(v1 + 40, bytes + 48, 16);
    spit(p, v1, sizeof v1);
    int c, h, w;
    uint64_t count;
    float *mean = NULL;
    int rc = clt_mean_read(p, &c, &h, &w, &count, &mean);
    t_check(rc == 0 && c == 1 && h == 2 && w == 2 && count == 7 && mean && mean[3] == 4,
            "mean image of version 1 (no pack id) still loads");
    free(mean);
    free(bytes);
    free(p);
}

/* ---- config lines ---- */

static void test_config(void) {
    /* inih, used before src/util/ini.c, cut lines at 200 bytes and parsed the rest as a line of its own */
    char out[1100];
    memset(out, 'x', 1000);
    memcpy(out, "/tmp/", 5);
    out[1000] = 0;
    char text[1400];
    snprintf(text, sizeof text, "[run]\noutput = %s\n   name = n1 ; an indented line is a line\r\n[data]\nbatch = 7 # a comment\n", out);
    clt_config c;
    clt_config_defaults(&c);
    int rc = clt_config_parse(&c, "long.ini", text);
    t_check(rc == 0 && !strcmp(c.output, out) && !strcmp(c.name, "n1") && c.batch == 7,
            "config: a 1000-character value, an indented key, CRLF and inline comments load as written");
    memset(out, 'y', 1030);
    out[1030] = 0;
    snprintf(text, sizeof text, "[run]\noutput = %s\n", out);
    clt_config_defaults(&c);
    capture_begin();
    rc = clt_config_parse(&c, "long.ini", text);
    char *err = capture_end();
    t_check(rc != 0 && strstr(err, "long.ini:2: run.output: value is longer than 1023 characters"),
            "config: a value over 1023 characters is refused, naming the line");
    free(err);
    clt_config_defaults(&c);
    capture_begin();
    rc = clt_config_parse(&c, "s.ini", "[ run ]\nname = a\n[data]\nbatch: 7\n");
    err = capture_end();
    t_check(rc != 0 && strstr(err, "s.ini:4: cannot parse"), "config: '[ run ]' is [run]; 'key: value' is no setting (%s)", err);
    free(err);
    clt_config_defaults(&c);
    capture_begin();
    rc = clt_config_parse(&c, "s.ini", "[run\nname = x\n");
    err = capture_end();
    t_check(rc != 0 && strstr(err, "s.ini:1: cannot parse"), "config: an unclosed section header is refused");
    free(err);
}

/* ---- study files ---- */

/* A value continued on an indented line, or an override holding a newline, once went into net.ini
   as it was: the net's config then failed to load, or gained settings of the value's choosing. */
static void test_study_values(void) {
    char *p = path_of("s.ini");
    const char *text = "[source]\nkind = fmnist\npacks = data\n  more\n[split 0]\nrandom = 0\n";
    spit(p, text, strlen(text));
    const char *sets[] = {"source.input=fm\n[transfer]\nmode = frozen"};
    clt_study_options opt = {.run_dir = tmp, .data_tool = "cltransfer-data", .sets = sets, .nsets = 1};
    clt_study s;
    capture_begin();
    int rc = clt_study_load(&s, p, &opt);
    char *err = capture_end();
    int nets = 0, loaded = 0, clean = 0;
    for (int i = 0; rc == 0 && i < s.nnodes; i++) {
        if (s.nodes[i].kind != CLT_NODE_NET) continue;
        nets++;
        clt_config c;
        clt_config_defaults(&c);
        capture_begin();
        int ok = clt_config_parse(&c, s.nodes[i].file, s.nodes[i].text) == 0;
        free(capture_end());
        loaded += ok;
        clean += ok && !strchr(c.train, '\n') && strstr(c.train, "data more") && !strcmp(c.mode, "none");
    }
    t_check(rc == 0 && nets > 0 && loaded == nets && clean == nets,
            "study: a value continued on an indented line and an override with newlines give %d of %d net "
            "configs that load, with no setting injected (%s)", loaded, nets, rc ? err : "loaded");
    if (rc == 0) clt_study_free(&s);
    free(err);
    free(p);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "%s/clt_fault_inputs.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) return 1;
    test_checkpoints();
    test_packs();
    test_means();
    test_config();
    test_study_values();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("cannot remove %s\n", tmp);
    return t_done();
}
