/* fuzz_jpeg.c — libFuzzer target for src/data/image.c's JPEG path as the pack builder uses it: sniff the
   format, decode to RGB and to grey, warp to a small size, re-encode, decode that into caller memory.
   TurboJPEG is not instrumented, so caller buffers carry a canary checked after each decode. */
#include <string.h>
#include <turbojpeg.h>

#include "fuzz_common.h"
#include "data/image.h"

#define MAX_PIXELS (1u << 22) /* larger images are valid but only cost time; the bound itself is
                                 CLT_IMAGE_MAX_PIXELS, reached by headers that claim more */

static void canary_set(uint8_t *p) { memset(p, 0xa5, 64); }
static void canary_check(const uint8_t *p) {
    for (int k = 0; k < 64; k++)
        if (p[k] != 0xa5) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static clt_jpeg *j;
    static tjhandle head;
    if (!j) j = clt_jpeg_new(), head = tjInitDecompress();
    if (!j || !head) abort();
    clt_sniff_format(data, size);
    int w, h, subsamp, cs;
    if (size >= 2 && tjDecompressHeader3(head, data, (unsigned long)size, &w, &h, &subsamp, &cs) == 0 && w > 0 &&
        h > 0 && (uint64_t)w * (uint64_t)h > MAX_PIXELS && (uint64_t)w * (uint64_t)h <= CLT_IMAGE_MAX_PIXELS)
        return 0;
    char err[256];
    for (int channels = 3; channels >= 1; channels -= 2) {
        const uint8_t *pix;
        int pw, ph;
        if (clt_jpeg_decode(j, data, size, channels, &pix, &pw, &ph, err, sizeof err) < 0) continue;
        size_t n = (size_t)pw * ph * channels;
        uint8_t *copy = malloc(n + 64);
        memcpy(copy, pix, n);
        canary_set(copy + n);
        if (clt_jpeg_decode_into(j, data, size, channels, copy, pw, ph, err, sizeof err) < 0) abort();
        canary_check(copy + n);
        uint8_t small[13 * 11 * 3 + 64];
        canary_set(small + 13 * 11 * channels);
        clt_resize_bilinear(copy, pw, ph, small, 13, 11, channels);
        canary_check(small + 13 * 11 * channels);
        const uint8_t *enc;
        size_t enc_size;
        if (clt_jpeg_encode(j, small, 13, 11, channels, 90, channels == 3 ? 420 : 444, &enc, &enc_size, err,
                            sizeof err) != 0)
            abort();
        uint8_t *again = malloc(enc_size), back[13 * 11 * 3 + 64];
        memcpy(again, enc, enc_size);
        canary_set(back + 13 * 11 * channels);
        /* what we encode we must decode: the pack builder relies on it */
        if (clt_jpeg_decode_into(j, again, enc_size, channels, back, 13, 11, err, sizeof err) != 0) abort();
        canary_check(back + 13 * 11 * channels);
        free(again);
        free(copy);
    }
    return 0;
}
