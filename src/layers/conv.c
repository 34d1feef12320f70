/* conv.c — convolution on CNHW activations: im2col + one CLBlast SGEMM per group and chunk of images,
   written straight into the strided output; backward recomputes im2col (transposed per group where
   the device prefers the weight gradient as a plain product) and gathers with col2im. */
#include <limits.h>

#include "device/gemm.h"
#include "layers/layers.h"

void clt_conv_init(clt_conv *l, int c, int h, int w, int m, int k, int stride, int pad, int group) {
    *l = (clt_conv){.c = c, .h = h, .w = w, .m = m, .k = k, .stride = stride, .pad = pad, .group = group};
    if (stride > 0) {
        l->ho = (h + 2 * pad - k) / stride + 1;
        l->wo = (w + 2 * pad - k) / stride + 1;
    }
}

/* The kernels index with 32-bit ints (cheaper on GPUs), so every buffer extent must fit in one;
   bad shapes and a workspace smaller than one image become sticky errors, not overruns. Returns
   the images per chunk, or 0 after recording an error. */
static int chunk_images(clt_device *d, const clt_conv *l, int n, size_t col_floats, const char *what) {
    if (d->failed) return 0;
    if (n <= 0 || l->c <= 0 || l->h <= 0 || l->w <= 0 || l->m <= 0 || l->k <= 0 || l->stride <= 0 || l->pad < 0 ||
        l->group <= 0 || l->c % l->group || l->m % l->group || l->h + 2 * l->pad < l->k ||
        l->w + 2 * l->pad < l->k) {
        clt_device_fail(d, "%s: unusable convolution shape c=%d h=%d w=%d m=%d k=%d stride=%d pad=%d group=%d n=%d",
                        what, l->c, l->h, l->w, l->m, l->k, l->stride, l->pad, l->group, n);
        return 0;
    }
    size_t per_image = clt_conv_col_floats(l, 1);
    if (col_floats < per_image) {
        clt_device_fail(d, "%s: the im2col workspace holds %zu floats, one image needs %zu", what, col_floats,
                        per_image);
        return 0;
    }
    size_t images = CLT_MIN(col_floats / per_image, (size_t)n);
    size_t in_floats = (size_t)l->c * n * l->h * l->w, out_floats = (size_t)l->m * n * l->ho * l->wo;
    if (in_floats > INT_MAX || out_floats > INT_MAX || per_image * images > INT_MAX) {
        clt_device_fail(d, "%s: tensors beyond 2^31 floats (in %zu, out %zu, col %zu)", what, in_floats, out_floats,
                        per_image * images);
        return 0;
    }
    return (int)images;
}

/* The work-group height of conv_im2col and conv_col2im, one work-item per row of a (channel, image)
   plane: the plane's rows rounded up to a power of two; as many planes as fill the device's 1-D
   work-group size make up its width. */
static size_t plane_rows(const clt_device *d, int rows) {
    size_t r = 1;
    while (r < (size_t)rows && r * 2 <= d->max_work_group) r *= 2;
    return r;
}

/* transposed: each group's block as [cols][k_g] (see conv_im2col). */
static void im2col(clt_device *d, const clt_conv *l, int n, int first, int images, bool transposed, clt_view col,
                   clt_view in) {
    int cols = images * l->ho * l->wo, planes = images * l->c;
    size_t rows = plane_rows(d, l->ho), per_group = CLT_MAX((size_t)1, d->wg1d / rows);
    CLT_LAUNCH(d, "conv_im2col", 2, ((size_t[]){clt_round_up(l->ho, rows), clt_round_up(planes, per_group)}),
               ((size_t[]){rows, per_group}), CLT_INT(cols), CLT_INT(n), CLT_INT(l->h), CLT_INT(l->w), CLT_INT(l->k),
               CLT_INT(l->stride), CLT_INT(l->pad), CLT_INT(l->ho), CLT_INT(l->wo), CLT_INT(first), CLT_INT(images),
               CLT_INT(planes), CLT_INT(l->c / l->group), CLT_INT(transposed), CLT_VIEW(col), CLT_VIEW(in));
}

/* Each chunk's GEMMs overwrite its columns (beta = 0: CLBlast then skips reading C, which made
   conv1's product, K = 25, twice as slow on PoCL), and one pass adds the bias, and applies the ReLU
   when asked, while the chunk is still in cache. */
static void conv_forward(clt_device *d, const clt_conv *l, int n, clt_view out, clt_view in, clt_view weight,
                         clt_view bias, clt_view col, size_t col_floats, bool relu) {
    int chunk = chunk_images(d, l, n, col_floats, "conv forward");
    if (!chunk) return;
    size_t hw_out = (size_t)l->ho * l->wo, row = n * hw_out; /* row: one channel of out, the GEMM's ldc */
    size_t m_g = l->m / l->group, k_g = (size_t)(l->c / l->group) * l->k * l->k;
    cl_mem bias_mem = bias.mem ? bias.mem : out.mem; /* any buffer where there is no bias */
    for (int first = 0; first < n; first += chunk) {
        int images = CLT_MIN(chunk, n - first);
        size_t cols = images * hw_out;
        im2col(d, l, n, first, images, false, col, in);
        for (int g = 0; g < l->group; g++)
            clt_gemm(d, false, false, m_g, cols, k_g, 1.0f, clt_shift(weight, g * m_g * k_g), k_g,
                     clt_shift(col, g * k_g * cols), cols, 0.0f,
                     clt_shift(out, g * m_g * row + first * hw_out), row, "conv forward");
        if (bias.mem || relu)
            CLT_LAUNCH(d, "conv_bias_relu", 2, ((size_t[]){clt_round_up(cols, d->wg1d), l->m}),
                       ((size_t[]){d->wg1d, 1}), CLT_INT(cols), CLT_INT(row), CLT_INT(bias.mem != NULL), CLT_INT(relu),
                       CLT_MEM(out.mem), CLT_INT(out.off + first * hw_out), CLT_MEM(bias_mem),
                       CLT_INT(bias.off));
    }
}

void clt_conv_forward(clt_device *d, const clt_conv *l, int n, clt_view out, clt_view in, clt_view weight,
                      clt_view bias, clt_view col, size_t col_floats) {
    conv_forward(d, l, n, out, in, weight, bias, col, col_floats, false);
}

void clt_conv_relu_forward(clt_device *d, const clt_conv *l, int n, clt_view out, clt_view in, clt_view weight,
                           clt_view bias, clt_view col, size_t col_floats) {
    conv_forward(d, l, n, out, in, weight, bias, col, col_floats, true);
}

void clt_conv_backward(clt_device *d, const clt_conv *l, int n, clt_view din, clt_view dweight, clt_view dbias,
                       clt_view dout, clt_view in, clt_view weight, clt_view col, size_t col_floats) {
    int chunk = chunk_images(d, l, n, col_floats, "conv backward");
    if (!chunk) return;
    size_t hw_out = (size_t)l->ho * l->wo, row = n * hw_out;
    size_t m_g = l->m / l->group, k_g = (size_t)(l->c / l->group) * l->k * l->k;
    if (dbias.mem) {
        /* the tree reduction needs a power-of-two work-group */
        size_t local = clt_pow2_floor(d->wg1d);
        CLT_LAUNCH(d, "conv_bias_grad", 1, ((size_t[]){local * l->m}), ((size_t[]){local}), CLT_INT(row),
                   CLT_VIEW(dbias), CLT_VIEW(dout), CLT_LOCAL(local * sizeof(float)));
    }
    /* All weight-gradient products first, then all input-gradient ones: the two are tuned as
       different shape classes, and switching CLBlast's parameters costs more than a small product
       (src/device/tuning.c); the order of each sum is the same as one chunk at a time. */
    for (int first = 0; dweight.mem && first < n; first += chunk) {
        int images = CLT_MIN(chunk, n - first);
        size_t cols = images * hw_out;
        bool nn = d->conv_dweight_nn;
        im2col(d, l, n, first, images, nn, col, in);
        for (int g = 0; g < l->group; g++)
            clt_gemm(d, false, !nn, m_g, k_g, cols, 1.0f, clt_shift(dout, g * m_g * row + first * hw_out), row,
                     clt_shift(col, g * k_g * cols), nn ? k_g : cols, first ? 1.0f : 0.0f,
                     clt_shift(dweight, g * m_g * k_g), k_g, "conv backward dweight");
    }
    for (int first = 0; din.mem && first < n; first += chunk) {
        int images = CLT_MIN(chunk, n - first);
        size_t cols = images * hw_out;
        for (int g = 0; g < l->group; g++)
            clt_gemm(d, true, false, k_g, cols, m_g, 1.0f, clt_shift(weight, g * m_g * k_g), k_g,
                     clt_shift(dout, g * m_g * row + first * hw_out), row, 0.0f, clt_shift(col, g * k_g * cols), cols,
                     "conv backward dcol");
        int planes = images * l->c;
        size_t rows = plane_rows(d, l->h), per_group = CLT_MAX((size_t)1, d->wg1d / rows);
        CLT_LAUNCH(d, "conv_col2im", 2, ((size_t[]){clt_round_up(l->h, rows), clt_round_up(planes, per_group)}),
                   ((size_t[]){rows, per_group}), CLT_INT(cols), CLT_INT(n), CLT_INT(l->h), CLT_INT(l->w),
                   CLT_INT(l->k), CLT_INT(l->stride), CLT_INT(l->pad), CLT_INT(l->ho), CLT_INT(l->wo),
                   CLT_INT(first), CLT_INT(images), CLT_INT(planes), CLT_VIEW(din), CLT_VIEW(col));
    }
}
