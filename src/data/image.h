/* image.h — JPEG decoding of any colour space to RGB or grey, JPEG encoding, and the warp resize, for the
   pack builder and the reader. A clt_jpeg holds one thread's TurboJPEG handles and scratch memory. */
#ifndef CLT_IMAGE_H
#define CLT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Source images larger than this in either side, or in pixel count, are refused before any allocation. */
#define CLT_IMAGE_MAX_SIDE 32768
#define CLT_IMAGE_MAX_PIXELS (64u * 1000 * 1000) /* 8000×8000: caps each thread's decode buffer near 256 MB */

typedef struct clt_jpeg clt_jpeg;

clt_jpeg *clt_jpeg_new(void); /* NULL (error printed) if TurboJPEG cannot start */
void clt_jpeg_free(clt_jpeg *j);

/* Decodes a JPEG to interleaved 8-bit pixels with `channels` (3: RGB, 1: grey) per pixel. Greyscale
   sources are expanded to RGB; CMYK/YCCK sources are converted with the Adobe (inverted) convention
   that Photoshop writes, R = C·K/255. *pixels points into the clt_jpeg's scratch (valid until its next
   call). Returns 0; 1 if decoded with a libjpeg warning (message in err, pixels usable); -1 if it
   cannot be decoded (not a JPEG, truncated, corrupt, too large; reason in err). */
int clt_jpeg_decode(clt_jpeg *j, const uint8_t *data, size_t size, int channels, const uint8_t **pixels,
                    int *width, int *height, char *err, size_t errlen);

/* The same, into caller memory of exactly want_w × want_h × channels; a JPEG of another size is an error. */
int clt_jpeg_decode_into(clt_jpeg *j, const uint8_t *data, size_t size, int channels, uint8_t *pixels,
                         int want_w, int want_h, char *err, size_t errlen);

/* Encodes interleaved pixels (channels 1 or 3). subsampling: 444, 422 or 420 (ignored for grey).
   *out is the clt_jpeg's scratch, valid until its next call. Returns 0 or -1 (reason in err). */
int clt_jpeg_encode(clt_jpeg *j, const uint8_t *pixels, int width, int height, int channels, int quality,
                    int subsampling, const uint8_t **out, size_t *out_size, char *err, size_t errlen);

/* Warps src (sw × sh) to dst (dw × dh), ignoring the aspect ratio, by bilinear interpolation with
   pixel centres aligned (OpenCV's INTER_LINEAR, which Caffe's convert_imageset used for ImageNet). */
void clt_resize_bilinear(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh, int channels);

/* RGB to grey by ITU-R BT.601 luma (what libjpeg uses), rounding. */
void clt_rgb_to_gray(const uint8_t *rgb, uint8_t *gray, size_t pixels);

/* Names the format of a file that is not a JPEG, from its first bytes ("PNG", "GIF", "text"…), or NULL. */
const char *clt_sniff_format(const uint8_t *data, size_t size);

#endif
