/* fuzz_checkpoint.c — libFuzzer target for clt_checkpoint_load. An odd first byte makes the harness
   append a valid CRC footer to the rest, so mutations get past the checksum into the header and blob
   parsers; an even one hands the bytes over as they are. Every blob of a loaded checkpoint is read
   in full, so a size that disagrees with the data shows up as an ASan report. */
#include <string.h>

#include "net/checkpoint.h"
#include "fuzz_common.h"

static const uint8_t END_MAGIC[8] = {'C', 'L', 'T', 'E', 'N', 'D', '\n', 0};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int repair = data[0] & 1;
    data++, size--;
    uint8_t *buf = malloc(size + 12);
    memcpy(buf, data, size);
    size_t n = size;
    if (repair) {
        fuzz_put32(buf + n, fuzz_crc(buf, n));
        memcpy(buf + n + 4, END_MAGIC, 8);
        n += 12;
    }
    clt_checkpoint ck;
    if (clt_checkpoint_load(&ck, fuzz_file(buf, n)) == 0) {
        volatile float sink = 0;
        for (int i = 0; i < ck.nblobs; i++) {
            const clt_ckpt_blob *b = &ck.blobs[i];
            /* a shape whose product wraps around once passed as a blob of 0 values */
            size_t product = 1;
            int wrapped = 0;
            for (int d = 0; d < b->ndims; d++) wrapped |= __builtin_mul_overflow(product, (size_t)b->dims[d], &product);
            if (b->ndims < 1 || b->ndims > 4 || wrapped || product != b->count || !memchr(b->name, 0, sizeof b->name))
                abort();
            for (size_t k = 0; k < b->count; k++) sink += b->data[k];
            if (clt_checkpoint_find(&ck, b->name) == NULL) abort();
        }
        (void)sink;
        clt_checkpoint_free(&ck);
    }
    free(buf);
    return 0;
}
