/* layers.h — every CaffeNet layer as a forward/backward pair on the device (one .c per layer in
   src/layers/, its kernels in cl/<layer>.cl, its reference and checks in tests/test_<layer>.c).

   Layouts. Activations of the convolutional part are CNHW: [channels][images][rows][columns], so
   that a whole batch folds into one GEMM per group (the image index runs inside the GEMM's n).
   Activations of the fully connected part are [images][features]. Weights keep Caffe's layouts:
   conv [out][in/group][k][k], inner product [out][in]. Everything is float32.

   Backward functions write (overwrite, not accumulate) the gradients they are given; a NULL
   `din.mem` skips the input gradient (the lowest trainable layer needs none). No float atomics:
   every reduction has a fixed order, so the same inputs give the same bits on a device. */
#ifndef CLT_LAYERS_H
#define CLT_LAYERS_H

#include <stdbool.h>
#include <stdint.h>

#include "device/device.h"

/* ---------------- convolution (src/layers/conv.c, cl/conv.cl) ----------------
   im2col / col2im kernels + CLBlast SGEMM; stride, padding, groups, bias. */
typedef struct clt_conv {
    int c, h, w;                     /* input channels and size */
    int m, k, stride, pad, group;    /* output channels, square kernel, stride, padding, groups */
    int ho, wo;                      /* output size: (h + 2·pad − k) / stride + 1 */
} clt_conv;
void clt_conv_init(clt_conv *l, int c, int h, int w, int m, int k, int stride, int pad, int group);
static inline size_t clt_conv_weight_count(const clt_conv *l) { return (size_t)l->m * (l->c / l->group) * l->k * l->k; }
/* Floats of im2col workspace for `images` images at once (all groups). */
static inline size_t clt_conv_col_floats(const clt_conv *l, int images) {
    return (size_t)l->c * l->k * l->k * l->ho * l->wo * images;
}
/* out CNHW [m][n][ho][wo] = conv(in CNHW [c][n][h][w], weight) + bias. `col` holds
   col_floats workspace; the batch is processed in chunks of as many images as fit. */
void clt_conv_forward(clt_device *d, const clt_conv *l, int n, clt_view out, clt_view in, clt_view weight,
                      clt_view bias, clt_view col, size_t col_floats);
/* The same followed by a ReLU (out = max(conv + bias, 0)) in the bias's pass: one pass over out
   fewer than clt_conv_forward and clt_relu_forward. */
void clt_conv_relu_forward(clt_device *d, const clt_conv *l, int n, clt_view out, clt_view in, clt_view weight,
                           clt_view bias, clt_view col, size_t col_floats);
/* dweight, dbias overwritten; din (CNHW, may be NULL-mem) overwritten. */
void clt_conv_backward(clt_device *d, const clt_conv *l, int n, clt_view din, clt_view dweight, clt_view dbias,
                       clt_view dout, clt_view in, clt_view weight, clt_view col, size_t col_floats);

/* ---------------- inner product (src/layers/ip.c, cl/ip.cl) ---------------- */
typedef struct clt_ip {
    int in, out;
} clt_ip;
/* out [n][out] = in [n][in] · weight[out][in]^T + bias */
void clt_ip_forward(clt_device *d, const clt_ip *l, int n, clt_view out, clt_view in, clt_view weight, clt_view bias);
void clt_ip_backward(clt_device *d, const clt_ip *l, int n, clt_view din, clt_view dweight, clt_view dbias,
                     clt_view dout, clt_view in, clt_view weight);

/* ---------------- flatten (src/layers/flatten.c, cl/flatten.cl) ----------------
   CNHW [c][n][hw] <-> [n][c·hw], the hand-over from the conv part to the fc part. */
void clt_flatten_forward(clt_device *d, int c, int n, int hw, clt_view out, clt_view in);
void clt_flatten_backward(clt_device *d, int c, int n, int hw, clt_view din, clt_view dout);

/* ---------------- ReLU (src/layers/relu.c, cl/relu.cl) — in place allowed ---------------- */
void clt_relu_forward(clt_device *d, size_t count, clt_view out, clt_view in);
/* din = dout · (out > 0); din may alias dout. */
void clt_relu_backward(clt_device *d, size_t count, clt_view din, clt_view dout, clt_view out);

/* ---------------- max pooling (src/layers/pool.c, cl/pool.cl) ----------------
   Caffe's rounded-up output size: out = ceil((in − k) / stride) + 1 (no padding), with the last
   window clipped to the input. Planes are independent, so the layout only needs c·n planes. */
typedef struct clt_pool {
    int c, h, w, k, stride;
    int ho, wo;
} clt_pool;
void clt_pool_init(clt_pool *l, int c, int h, int w, int k, int stride);
/* The output side for an input side `in` ≥ k (the one definition, also for the net's shapes). */
int clt_pool_out_size(int in, int k, int stride);
/* mask (int32, same count as out) records the flat in-plane index of each maximum. */
void clt_pool_forward(clt_device *d, const clt_pool *l, int n, clt_view out, clt_view in, cl_mem mask);
void clt_pool_backward(clt_device *d, const clt_pool *l, int n, clt_view din, clt_view dout, cl_mem mask);

/* ---------------- LRN across channels (src/layers/lrn.c, cl/lrn.cl) ----------------
   y = x / (k + alpha/size · Σ x²)^beta over `size` neighbouring channels, zero padded (Caffe). */
typedef struct clt_lrn {
    int c, h, w, size;
    float alpha, beta, k;
} clt_lrn;
/* In CNHW the channel stride is n·h·w. `scale` (same count as in) keeps k + alpha/size·Σx². */
void clt_lrn_forward(clt_device *d, const clt_lrn *l, int n, clt_view out, clt_view in, clt_view scale);
void clt_lrn_backward(clt_device *d, const clt_lrn *l, int n, clt_view din, clt_view dout, clt_view in,
                      clt_view out, clt_view scale);

/* ---------------- dropout (src/layers/dropout.c, cl/dropout.cl) ----------------
   Training: a unit is kept with probability 1 − p and scaled by 1/(1 − p); the keep decision for
   element i is a pure function of (seed, i), so backward recomputes it and a seed reproduces the
   mask on any device. Testing: identity (the caller just skips the layer). In place allowed. */
void clt_dropout_forward(clt_device *d, size_t count, clt_view out, clt_view in, float p, uint64_t seed);
void clt_dropout_backward(clt_device *d, size_t count, clt_view din, clt_view dout, float p, uint64_t seed);
/* The same keep decision on the host, for tests and references. */
bool clt_dropout_keep(uint64_t seed, size_t i, float p);

/* ---------------- softmax with cross-entropy loss (src/layers/softmax_loss.c, cl/softmax_loss.cl) ----
   logits [n][classes], labels int32 [n] in 0..classes−1. prob gets the softmax; loss [n] gets each
   image's −log prob[label]. The batch loss is the mean of loss[]. */
void clt_softmax_loss_forward(clt_device *d, int n, int classes, clt_view prob, clt_view loss, clt_view logits,
                              cl_mem labels);
/* dlogits = (prob − onehot(label)) · scale, scale = 1/n for the batch-mean loss. */
void clt_softmax_loss_backward(clt_device *d, int n, int classes, clt_view dlogits, clt_view prob, cl_mem labels,
                               float scale);

/* ---------------- top-k accuracy (src/layers/accuracy.c, cl/accuracy.cl) ----------------
   correct1[i], correct5[i] (int32) = 1 when label i is among the top 1 / top 5 scores of row i, by
   Caffe's rule: correct at k when fewer than k other classes score at least as high as the label
   (ties count against). All `classes` columns take part, as in Caffe. */
void clt_accuracy(clt_device *d, int n, int classes, cl_mem correct1, cl_mem correct5, clt_view scores,
                  cl_mem labels);

#endif
