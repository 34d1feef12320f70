/* net.h — a network is a table of eight weight layers numbered 1..8 as the study numbers them
   (conv1..conv5, fc6..fc8) with pooling, LRN and dropout in CaffeNet's places. CaffeNet and the
   small variant for small images differ only in the numbers of clt_arch.

   All parameters live in one device buffer (and their gradients and momentum in two more), so
   checkpoints, transfer ("copy layers 1..n") and freezing are loops over the layer table. */
#ifndef CLT_NET_H
#define CLT_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "device/device.h"
#include "layers/layers.h"

#define CLT_LAYERS 8

typedef struct clt_conv_spec {
    int out, k, stride, pad, group;
} clt_conv_spec;

typedef enum clt_init { CLT_INIT_GAUSSIAN, CLT_INIT_HE } clt_init;

typedef struct clt_arch {
    char name[32];           /* "caffenet" or "small" */
    int in_c, in_h, in_w;    /* network input, after cropping */
    clt_conv_spec conv[5];
    int pool_k, pool_stride; /* the max pools after conv1, conv2 and conv5 */
    int lrn_size;
    float lrn_alpha, lrn_beta, lrn_k;
    int fc[3];               /* fc6, fc7, fc8 widths */
    float dropout;           /* ratio p after fc6 and fc7 */
    clt_init init;
    /* Caffe's Gaussian init: weight std and bias constant per layer 1..8 (index 0 unused) */
    float weight_std[CLT_LAYERS + 1], bias_value[CLT_LAYERS + 1];
} clt_arch;

/* CaffeNet exactly as the study (3×227×227 in, fc8 1000 wide). */
void clt_arch_caffenet(clt_arch *a);
/* The small variant: same eight layers and pooling/LRN/dropout placement; 1×28×28 in, widths
   32, 64, 96, 96, 64, 256, 256, fc8 10 wide (callers set fc[2] to the class count). */
void clt_arch_small(clt_arch *a);
/* Checks the arch gives positive sizes at every layer and legal groups; error printed. */
int clt_arch_check(const clt_arch *a);
/* The convolution and fc layers of `a` as clt_net_create sets them, without a device: what the
   bench and the CLBlast tuner derive the net's GEMM shapes from. Returns clt_arch_check's result. */
int clt_arch_shapes(const clt_arch *a, clt_conv conv[5], clt_ip ip[3]);

/* Where one weight layer's blobs live in the parameter buffer (offsets and counts in floats). */
typedef struct clt_layer_params {
    char name[8]; /* conv1 … fc8 */
    size_t w_off, w_count, b_off, b_count;
    int fan_in;
    int dims[4];  /* weight shape: conv [out][in/g][k][k], fc [out][in][1][1] */
} clt_layer_params;

/* The parameter table of an arch with no device: layers 1..8 into layer[1..8] (layer[0] unused) and
   the total float count; the same table clt_net_create lays out. -1 (error printed) for a bad arch. */
int clt_arch_layers(const clt_arch *a, clt_layer_params *layer, size_t *param_count);

typedef struct clt_blob {
    cl_mem data, diff;
    size_t count; /* floats */
} clt_blob;

typedef struct clt_net {
    clt_arch arch;
    int batch;
    clt_conv conv[5];
    clt_pool pool[3]; /* after conv1, conv2, conv5 */
    clt_lrn lrn[2];   /* after pool1, pool2 */
    clt_ip ip[3];     /* fc6, fc7, fc8 */
    clt_layer_params layer[CLT_LAYERS + 1]; /* 1..8 */
    size_t param_count;
    cl_mem params, grads, history;

    /* activations in forward order; conv part CNHW, fc part [n][features] */
    clt_blob input, c1, p1, n1, c2, p2, n2, c3, c4, c5, p5, f5, f6, f7, f8;
    cl_mem mask[3], scale[2];
    cl_mem labels, prob, loss, correct1, correct5;
    cl_mem col;
    size_t col_floats;

    /* Called after each operation of forward and backward with its name ("conv1", "pool1 back", …)
       when set; the benchmark uses it to time every layer. NULL in training. */
    void (*trace)(void *ctx, const char *op);
    void *trace_ctx;
} clt_net;

/* Allocates everything for `batch` images. Returns 0, or -1 with the device error printed
   (naming the buffer and bytes when memory runs out). */
int clt_net_create(clt_net *net, clt_device *d, const clt_arch *arch, int batch);
void clt_net_destroy(clt_net *net);

/* Fills layers [first, last] with fresh random values: Gaussian (arch.weight_std, bias_value) or
   He (N(0, sqrt(2/fan_in)) for layers 1..7, N(0, 0.01) for fc8, zero biases). The values for layer
   i depend only on (seed, i), so re-initialising layers above n never changes the others. */
void clt_net_init_layers(clt_net *net, clt_device *d, uint64_t seed, int first, int last);

/* Forward pass on net->input / net->labels (n ≤ batch images). train: dropout on, its masks from
   dropout_seed. Dropout is applied to fc7's and fc8's inputs in place, so the stored outputs of
   the blocks below are deterministic. Leaves logits in f8, probabilities in prob and each image's
   loss in loss. */
void clt_net_forward(clt_net *net, clt_device *d, int n, bool train, uint64_t dropout_seed);
/* Blocks first..last of the forward pass (1..8). Block i is layer i with what follows it up to the
   next weight layer's input, in training and testing alike: conv1 + ReLU + pool1 + LRN, conv2 + …
   + LRN, conv3 + ReLU, conv4 + ReLU, conv5 + ReLU + pool5 + flatten, fc6 + ReLU, fc7 + ReLU, and fc8 +
   softmax loss; the dropout of fc6's and fc7's outputs opens the block after them. So running blocks
   n+1..8 on block n's stored output is the whole forward pass. */
void clt_net_forward_blocks(clt_net *net, clt_device *d, int n, int first, int last, bool train,
                            uint64_t dropout_seed);

/* Where block i (1..7) leaves its output: a blob of `channels` planes of `plane` floats per image,
   [channels][n][plane] (the conv part's CNHW; the fc part has one channel, [n][features]). */
typedef struct clt_block_output {
    clt_blob *blob;
    int channels, plane;
} clt_block_output;
clt_block_output clt_net_block_output(clt_net *net, int i);

/* Backward from the loss through layers 8..lowest; gradients of layers below `lowest` are not
   computed and no input gradient is computed for `lowest` itself. */
void clt_net_backward(clt_net *net, clt_device *d, int n, int lowest, uint64_t dropout_seed);
/* The dropout seed a pass with `dropout_seed` uses after fc6 (layer 6) or fc7 (layer 7). */
uint64_t clt_net_dropout_seed(uint64_t dropout_seed, int layer);

/* top-1/top-5 flags into correct1/correct5 for the last forward. */
void clt_net_accuracy(clt_net *net, clt_device *d, int n);

/* The name of blob i of the parameter table in checkpoint order: conv1.weight, conv1.bias, … */
int clt_net_blob_count(void);
void clt_net_blob(const clt_net *net, int i, char *name, size_t name_len, size_t *off, size_t *count, int *layer);

#endif
