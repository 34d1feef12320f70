/* fuzz_pack.c — libFuzzer target for packs: clt_pack_open, clt_pack_read of every record (and the JPEG
   decode of each), the prefetching reader over the pack, and clt_mean_read of the same bytes.
   First byte: bit 0 repairs the pack's checksums (header, index and every record it can find) so
   mutations reach the field checks behind them; bit 1 also runs clt_reader; bit 2 repairs a mean
   image's checksums; the other bits pick the reader's crop, mirror and seed. */
#include <string.h>

#include "fuzz_common.h"
#include "data/image.h"
#include "data/pack.h"
#include "data/reader.h"

#define HEADER CLT_PACK_HEADER_SIZE
#define ENTRY CLT_PACK_ENTRY_SIZE
#define MAX_PIXELS (1u << 20) /* decode and reader work beyond this costs time, not coverage */

static void repair_pack(uint8_t *b, size_t n) {
    if (n < HEADER || memcmp(b, CLT_PACK_MAGIC, 8) != 0) return;
    uint64_t count = fuzz_get64(b + 40), data = fuzz_get64(b + 48), index = fuzz_get64(b + 64);
    if (index <= n && count <= (n - index) / ENTRY) {
        for (uint64_t i = 0; i < count; i++) {
            uint8_t *e = b + index + i * ENTRY;
            uint64_t off = fuzz_get64(e), size = fuzz_get32(e + 8);
            if (data <= n && off <= n - data && size <= n - data - off) fuzz_put32(e + 12, fuzz_crc(b + data + off, size));
        }
        fuzz_put32(b + 72, fuzz_crc(b + index, count * ENTRY));
    }
    fuzz_put32(b + 124, fuzz_crc(b, 124));
}

static void repair_mean(uint8_t *b, size_t n) {
    if (n < 40 || memcmp(b, "CLTMEAN", 8) != 0) return;
    fuzz_put32(b + 32, fuzz_crc(b + 40, n - 40));
    fuzz_put32(b + 36, fuzz_crc(b, 36));
}

static void read_records(const clt_pack *p) {
    char err[256];
    uint8_t *rec = malloc(p->max_record);
    size_t pixels = (size_t)p->c * p->h * p->w;
    uint8_t *pix = pixels <= MAX_PIXELS ? malloc(pixels + 64) : NULL;
    clt_jpeg *j = p->encoding == CLT_PACK_JPEG && pix ? clt_jpeg_new() : NULL;
    for (uint64_t i = 0; i < p->count && i < 64; i++) {
        if (clt_pack_read(p, i, rec, err, sizeof err) != 0 || !j) continue;
        memset(pix + pixels, 0xa5, 64); /* TurboJPEG is not instrumented: a canary catches an overrun */
        clt_jpeg_decode_into(j, rec, p->index[i].size, p->c, pix, p->w, p->h, err, sizeof err);
        for (int k = 0; k < 64; k++)
            if (pix[pixels + k] != 0xa5) abort();
    }
    clt_jpeg_free(j);
    free(pix);
    free(rec);
}

static void run_reader(const char *path, const clt_pack *p, uint8_t mode) {
    int side = p->h < p->w ? p->h : p->w;
    int crop = mode & 8 ? side / 2 + 1 : 0;
    int oh = crop ? crop : p->h, ow = crop ? crop : p->w;
    int batch = p->count < 3 ? (int)p->count : 3, val = p->count < 4 ? (int)p->count : 4;
    if ((size_t)p->c * oh * ow * 4 > MAX_PIXELS) return;
    clt_reader_config cfg = {.pack_path = path, .crop = crop, .train = 1, .mirror = (mode >> 4) & 1, .scale = 1,
                             .batch = batch, .seed = mode >> 5, .threads = 1, .prefetch = 2};
    clt_reader *r;
    if (clt_reader_open(&r, &cfg) != 0) return;
    float *images = malloc(sizeof(float) * (size_t)p->c * oh * ow * (batch > val ? batch : val));
    int labels[4];
    clt_reader_train_batch(r, 0, images, labels);
    clt_reader_train_batch(r, 7, images, labels);
    clt_reader_close(r);
    cfg.train = 0;
    cfg.batch = val;
    if (clt_reader_open(&r, &cfg) == 0) {
        clt_reader_val_batch(r, 0, val, images, labels);
        clt_reader_close(r);
    }
    free(images);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uint8_t mode = data[0];
    data++, size--;
    uint8_t *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    if (mode & 1) repair_pack(buf, size);
    if (mode & 4) repair_mean(buf, size);
    const char *path = fuzz_file(buf, size);
    clt_pack p;
    if (clt_pack_open(&p, path) == 0) {
        for (uint64_t i = 0; i < p.count; i++)
            if (p.index[i].label < 0 || p.index[i].label >= p.classes || p.index[i].size > p.max_record ||
                p.index[i].offset + p.index[i].size > p.data_size)
                abort();
        read_records(&p);
        if (mode & 2) run_reader(path, &p, mode);
        clt_pack_close(&p);
    }
    int c, h, w;
    uint64_t count;
    float *mean;
    if (clt_mean_read(path, &c, &h, &w, &count, &mean) == 0) {
        volatile float sink = 0;
        for (size_t i = 0; i < (size_t)c * h * w; i++) sink += mean[i];
        (void)sink;
        free(mean);
    }
    free(buf);
    return 0;
}
