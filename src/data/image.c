/* image.c — TurboJPEG decoding and encoding with colour-space normalisation, and the bilinear warp. */
#include "data/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <turbojpeg.h>

#include "util/util.h"

struct clt_jpeg {
    tjhandle dec, enc;
    uint8_t *pix, *cmyk, *enc_buf;
    size_t pix_cap, cmyk_cap, enc_cap;
};

clt_jpeg *clt_jpeg_new(void) {
    clt_jpeg *j = clt_calloc(1, sizeof *j);
    j->dec = tjInitDecompress();
    j->enc = tjInitCompress();
    if (!j->dec || !j->enc) {
        clt_error("TurboJPEG cannot start: %s", tjGetErrorStr2(NULL));
        clt_jpeg_free(j);
        return NULL;
    }
    return j;
}

void clt_jpeg_free(clt_jpeg *j) {
    if (!j) return;
    if (j->dec) tjDestroy(j->dec);
    if (j->enc) tjDestroy(j->enc);
    free(j->pix);
    free(j->cmyk);
    free(j->enc_buf);
    free(j);
}

static uint8_t *grow(uint8_t **buf, size_t *cap, size_t need) {
    if (need > *cap) {
        free(*buf);
        *buf = clt_malloc(need);
        *cap = need;
    }
    return *buf;
}

const char *clt_sniff_format(const uint8_t *d, size_t n) {
    if (n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return "PNG";
    if (n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6))) return "GIF";
    if (n >= 2 && !memcmp(d, "BM", 2)) return "BMP";
    if (n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4)) return "WebP";
    if (n >= 4 && (!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) return "TIFF";
    if (n == 0) return "an empty file";
    size_t text = 0, look = n < 512 ? n : 512;
    for (size_t i = 0; i < look; i++) text += (d[i] >= 32 && d[i] < 127) || d[i] == '\n' || d[i] == '\r' || d[i] == '\t';
    if (text == look) return "text";
    return NULL;
}

/* libjpeg says "Premature end of JPEG file" (and "premature end of data segment") when data runs out:
   the missing rows are grey fill, so such an image must not be packed as if whole. */
static int is_truncation(const char *msg) { return strcasestr(msg, "premature end") != NULL; }

static int decode(clt_jpeg *j, const uint8_t *data, size_t size, int channels, uint8_t *out, int *width,
                  int *height, int want_w, int want_h, char *err, size_t errlen) {
    int w, h, subsamp, cs;
    if (size < 4 || data[0] != 0xff || data[1] != 0xd8) {
        const char *what = clt_sniff_format(data, size);
        snprintf(err, errlen, "not a JPEG%s%s", what ? " (" : "", what ? what : "");
        if (what) strncat(err, ")", errlen - strlen(err) - 1);
        return -1;
    }
    if (size > 0x7fffffffUL) {
        snprintf(err, errlen, "JPEG of %zu bytes is too large", size);
        return -1;
    }
    if (tjDecompressHeader3(j->dec, data, (unsigned long)size, &w, &h, &subsamp, &cs) != 0) {
        snprintf(err, errlen, "bad JPEG header: %s", tjGetErrorStr2(j->dec));
        return -1;
    }
    if (w <= 0 || h <= 0 || w > CLT_IMAGE_MAX_SIDE || h > CLT_IMAGE_MAX_SIDE ||
        (uint64_t)w * (uint64_t)h > CLT_IMAGE_MAX_PIXELS) {
        snprintf(err, errlen, "JPEG of %d×%d pixels is out of bounds", w, h);
        return -1;
    }
    if (want_w && (w != want_w || h != want_h)) {
        snprintf(err, errlen, "JPEG is %d×%d, expected %d×%d", w, h, want_w, want_h);
        return -1;
    }
    size_t npix = (size_t)w * (size_t)h;
    if (!out) out = grow(&j->pix, &j->pix_cap, npix * 3);
    int cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    uint8_t *target = out;
    int format = channels == 1 ? TJPF_GRAY : TJPF_RGB;
    if (cmyk) {
        target = grow(&j->cmyk, &j->cmyk_cap, npix * 4);
        format = TJPF_CMYK;
    }
    int rc = 0;
    if (tjDecompress2(j->dec, data, (unsigned long)size, target, w, 0, h, format, TJFLAG_LIMITSCANS) != 0) {
        const char *msg = tjGetErrorStr2(j->dec);
        if (tjGetErrorCode(j->dec) != TJERR_WARNING || is_truncation(msg)) {
            snprintf(err, errlen, "%s: %s", is_truncation(msg) ? "truncated JPEG" : "corrupt JPEG", msg);
            return -1;
        }
        snprintf(err, errlen, "%s", msg);
        rc = 1;
    }
    if (cmyk) {
        const uint8_t *s = j->cmyk;
        for (size_t i = 0; i < npix; i++, s += 4) {
            unsigned k = s[3];
            uint8_t r = (uint8_t)((s[0] * k + 127) / 255), g = (uint8_t)((s[1] * k + 127) / 255),
                    b = (uint8_t)((s[2] * k + 127) / 255);
            if (channels == 1) {
                uint8_t rgb[3] = {r, g, b};
                clt_rgb_to_gray(rgb, out + i, 1);
            } else {
                out[3 * i] = r, out[3 * i + 1] = g, out[3 * i + 2] = b;
            }
        }
    }
    *width = w;
    *height = h;
    return rc;
}

int clt_jpeg_decode(clt_jpeg *j, const uint8_t *data, size_t size, int channels, const uint8_t **pixels,
                    int *width, int *height, char *err, size_t errlen) {
    int rc = decode(j, data, size, channels, NULL, width, height, 0, 0, err, errlen);
    *pixels = j->pix;
    return rc;
}

int clt_jpeg_decode_into(clt_jpeg *j, const uint8_t *data, size_t size, int channels, uint8_t *pixels,
                         int want_w, int want_h, char *err, size_t errlen) {
    int w, h;
    return decode(j, data, size, channels, pixels, &w, &h, want_w, want_h, err, errlen);
}

int clt_jpeg_encode(clt_jpeg *j, const uint8_t *pixels, int width, int height, int channels, int quality,
                    int subsampling, const uint8_t **out, size_t *out_size, char *err, size_t errlen) {
    int samp = channels == 1 ? TJSAMP_GRAY : subsampling == 444 ? TJSAMP_444 : subsampling == 422 ? TJSAMP_422 : TJSAMP_420;
    /* a worst-case buffer with NOREALLOC: TurboJPEG would otherwise replace (and lose) a buffer it outgrows */
    unsigned long len = tjBufSize(width, height, samp);
    grow(&j->enc_buf, &j->enc_cap, len);
    if (tjCompress2(j->enc, pixels, width, 0, height, channels == 1 ? TJPF_GRAY : TJPF_RGB, &j->enc_buf, &len,
                    samp, quality, TJFLAG_NOREALLOC) != 0) {
        snprintf(err, errlen, "JPEG encoding failed: %s", tjGetErrorStr2(j->enc));
        return -1;
    }
    *out = j->enc_buf;
    *out_size = len;
    return 0;
}

void clt_rgb_to_gray(const uint8_t *rgb, uint8_t *gray, size_t pixels) {
    for (size_t i = 0; i < pixels; i++, rgb += 3)
        gray[i] = (uint8_t)((19595u * rgb[0] + 38470u * rgb[1] + 7471u * rgb[2] + 32768u) >> 16);
}

void clt_resize_bilinear(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh, int c) {
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * (size_t)sh * (size_t)c);
        return;
    }
    int *x0 = clt_malloc((size_t)dw * sizeof *x0), *x1 = clt_malloc((size_t)dw * sizeof *x1);
    float *fx = clt_malloc((size_t)dw * sizeof *fx);
    double scale_x = (double)sw / dw, scale_y = (double)sh / dh;
    for (int x = 0; x < dw; x++) {
        double s = (x + 0.5) * scale_x - 0.5;
        int i = (int)floor(s);
        double f = s - i;
        if (i < 0) i = 0, f = 0;
        if (i >= sw - 1) i = sw - 1, f = 0;
        x0[x] = i * c;
        x1[x] = (i + 1 < sw ? i + 1 : i) * c;
        fx[x] = (float)f;
    }
    for (int y = 0; y < dh; y++) {
        double s = (y + 0.5) * scale_y - 0.5;
        int i = (int)floor(s);
        float fy = (float)(s - i);
        if (i < 0) i = 0, fy = 0;
        if (i >= sh - 1) i = sh - 1, fy = 0;
        const uint8_t *r0 = src + (size_t)i * sw * c, *r1 = src + (size_t)(i + 1 < sh ? i + 1 : i) * sw * c;
        uint8_t *out = dst + (size_t)y * dw * c;
        for (int x = 0; x < dw; x++) {
            float a = fx[x];
            for (int k = 0; k < c; k++) {
                float top = r0[x0[x] + k] + a * (r0[x1[x] + k] - r0[x0[x] + k]);
                float bot = r1[x0[x] + k] + a * (r1[x1[x] + k] - r1[x0[x] + k]);
                *out++ = (uint8_t)(top + fy * (bot - top) + 0.5f);
            }
        }
    }
    free(x0);
    free(x1);
    free(fx);
}
