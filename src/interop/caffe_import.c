/* caffe_import.c — `cltransfer import-caffe`: a Caffe NetParameter (binary protobuf, `layer` or V1
   `layers` form) mapped by layer name and type onto CaffeNet's table of layers, every blob's shape
   checked against the net the model declares, written as a cltransfer checkpoint. */
#include "interop/interop.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "interop/caffe.pb-c.h"
#include "net/checkpoint.h"
#include "util/util.h"

/* One layer of either form, with the V1 type number turned into the current type name. */
typedef struct caffe_layer {
    const char *name, *type;
    size_t n_bottom, n_top, n_blobs;
    char **bottom, **top;
    Caffe__BlobProto **blobs;
    const Caffe__ConvolutionParameter *conv;
    const Caffe__InnerProductParameter *ip;
    const Caffe__PoolingParameter *pool;
    const Caffe__LRNParameter *lrn;
    const Caffe__DropoutParameter *drop;
    const Caffe__ReLUParameter *relu;
    const Caffe__TransformationParameter *transform;
    const Caffe__InputParameter *input;
} caffe_layer;

/* V1LayerParameter.LayerType numbers of the types CaffeNet files hold (caffe.proto's enum). */
static const struct {
    int number;
    const char *type;
} V1_TYPES[] = {{1, "Accuracy"},    {4, "Convolution"}, {5, "Data"},     {6, "Dropout"},
                {12, "ImageData"},  {14, "InnerProduct"}, {15, "LRN"},   {17, "Pooling"},
                {18, "ReLU"},       {20, "Softmax"},    {21, "SoftmaxWithLoss"}, {24, "WindowData"},
                {29, "MemoryData"}};

/* CaffeNet's layers that carry its structure, in the order its data flows through them. */
static const struct {
    const char *name, *type;
    int weight_layer; /* 1..8 for conv1..fc8, 0 for pools and LRNs */
} CAFFENET[] = {{"conv1", "Convolution", 1}, {"pool1", "Pooling", 0}, {"norm1", "LRN", 0},
                {"conv2", "Convolution", 2}, {"pool2", "Pooling", 0}, {"norm2", "LRN", 0},
                {"conv3", "Convolution", 3}, {"conv4", "Convolution", 4}, {"conv5", "Convolution", 5},
                {"pool5", "Pooling", 0},     {"fc6", "InnerProduct", 6}, {"fc7", "InnerProduct", 7},
                {"fc8", "InnerProduct", 8}};
#define CAFFENET_STEPS ((int)CLT_ARRAY_LEN(CAFFENET))

/* Layers that take part in training or reading data but compute nothing cltransfer must map. */
static bool is_head_or_data(const char *type) {
    static const char *TYPES[] = {"Data", "ImageData", "MemoryData", "WindowData", "HDF5Data", "DummyData",
                                  "Input", "Softmax", "SoftmaxWithLoss", "Accuracy", "Silence"};
    for (size_t i = 0; i < CLT_ARRAY_LEN(TYPES); i++)
        if (!strcmp(type, TYPES[i])) return true;
    return false;
}

static bool is_structural(const char *type) {
    return !strcmp(type, "Convolution") || !strcmp(type, "InnerProduct") || !strcmp(type, "Pooling") ||
           !strcmp(type, "LRN");
}

/* ---- shapes ---- */

typedef struct shape4 {
    int64_t d[4]; /* padded with leading 1s, as Caffe compares a legacy 4-D blob */
} shape4;

static int blob_shape(const Caffe__BlobProto *b, shape4 *s, const char *path, const char *what) {
    int64_t dims[8];
    size_t n = 0;
    if (b->shape) {
        n = b->shape->n_dim;
        if (n > 4) {
            clt_error("%s: %s has %zu dimensions (at most 4 expected)", path, what, n);
            return -1;
        }
        for (size_t i = 0; i < n; i++) dims[i] = b->shape->dim[i];
    } else {
        dims[0] = b->num, dims[1] = b->channels, dims[2] = b->height, dims[3] = b->width;
        n = 4;
    }
    for (int i = 0; i < 4; i++) s->d[i] = 1;
    for (size_t i = 0; i < n; i++) {
        if (dims[i] < 1 || dims[i] > (1 << 30)) {
            clt_error("%s: %s has dimension %lld", path, what, (long long)dims[i]);
            return -1;
        }
        s->d[4 - n + i] = dims[i];
    }
    return 0;
}

static void shape_text(const shape4 *s, char *buf, size_t len) {
    int first = 0;
    while (first < 3 && s->d[first] == 1) first++;
    buf[0] = 0;
    for (int i = first; i < 4; i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%lld", i > first ? "x" : "", (long long)s->d[i]);
}

/* Copies a blob of exactly the expected shape into dst (count floats); doubles are rounded to float. */
static int take_blob(const Caffe__BlobProto *b, const shape4 *want, float *dst, const char *path, const char *layer,
                     const char *role) {
    char what[96];
    snprintf(what, sizeof what, "layer %s: %s blob", layer, role);
    shape4 got;
    if (blob_shape(b, &got, path, what) != 0) return -1;
    if (memcmp(&got, want, sizeof got) != 0) {
        char g[64], w[64];
        shape_text(&got, g, sizeof g), shape_text(want, w, sizeof w);
        clt_error("%s: layer %s: the %s blob is %s, but the net the model declares needs %s", path, layer, role, g, w);
        return -1;
    }
    size_t count = (size_t)(want->d[0] * want->d[1] * want->d[2] * want->d[3]);
    if (b->n_data == count) {
        memcpy(dst, b->data, count * sizeof(float));
    } else if (b->n_data == 0 && b->n_double_data == count) {
        for (size_t i = 0; i < count; i++) dst[i] = (float)b->double_data[i];
    } else {
        clt_error("%s: layer %s: the %s blob holds %zu values, but its shape says %zu", path, layer, role,
                  b->n_data ? b->n_data : b->n_double_data, count);
        return -1;
    }
    return 0;
}

/* ---- one layer's hyper-parameters ---- */

/* A square spatial value given as `repeated v`, or as v_h and v_w; dflt when absent. */
static int square(const char *path, const char *layer, const char *what, size_t n, const uint32_t *v, bool has_h,
                  uint32_t h, bool has_w, uint32_t w, int dflt, int *out) {
    if (has_h || has_w) {
        if (!has_h || !has_w || h != w || n) {
            clt_error("%s: layer %s: %s %u×%u is not square (cltransfer's layers are)", path, layer, what, h, w);
            return -1;
        }
        *out = (int)h;
        return 0;
    }
    *out = n ? (int)v[0] : dflt;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0]) {
            clt_error("%s: layer %s: %s differs between dimensions (cltransfer's layers are square)", path, layer, what);
            return -1;
        }
    if (*out > 4096) {
        clt_error("%s: layer %s: %s %d is out of range", path, layer, what, *out);
        return -1;
    }
    return 0;
}

static int map_conv(const caffe_layer *L, clt_conv_spec *s, const char *path) {
    const Caffe__ConvolutionParameter *p = L->conv;
    if (!p || !p->has_num_output || p->num_output == 0 || p->num_output > 65536) {
        clt_error("%s: layer %s: no convolution_param with a num_output", path, L->name);
        return -1;
    }
    for (size_t i = 0; i < p->n_dilation; i++)
        if (p->dilation[i] != 1) {
            clt_error("%s: layer %s: dilation %u (cltransfer's convolutions have none)", path, L->name, p->dilation[i]);
            return -1;
        }
    if (p->axis != 1 || p->group == 0 || p->group > 65536) {
        clt_error("%s: layer %s: axis %d, group %u (cltransfer takes axis 1 and a positive group)", path, L->name, p->axis,
                  p->group);
        return -1;
    }
    int k, stride, pad;
    if (square(path, L->name, "kernel", p->n_kernel_size, p->kernel_size, p->has_kernel_h, p->kernel_h, p->has_kernel_w,
               p->kernel_w, 0, &k) ||
        square(path, L->name, "stride", p->n_stride, p->stride, p->has_stride_h, p->stride_h, p->has_stride_w,
               p->stride_w, 1, &stride) ||
        square(path, L->name, "pad", p->n_pad, p->pad, p->has_pad_h && p->pad_h, p->pad_h, p->has_pad_w && p->pad_w,
               p->pad_w, 0, &pad))
        return -1;
    if (k < 1 || stride < 1) {
        clt_error("%s: layer %s: kernel %d, stride %d must be positive", path, L->name, k, stride);
        return -1;
    }
    *s = (clt_conv_spec){(int)p->num_output, k, stride, pad, (int)p->group};
    return 0;
}

static int map_ip(const caffe_layer *L, int *width, const char *path) {
    const Caffe__InnerProductParameter *p = L->ip;
    if (!p || !p->has_num_output || p->num_output == 0 || p->num_output > (1u << 20)) {
        clt_error("%s: layer %s: no inner_product_param with a num_output", path, L->name);
        return -1;
    }
    if (p->axis != 1 || p->transpose) {
        clt_error("%s: layer %s: axis %d%s (cltransfer's fc layers take axis 1, weights [out][in])", path, L->name,
                  p->axis, p->transpose ? ", transposed weights" : "");
        return -1;
    }
    *width = (int)p->num_output;
    return 0;
}

/* The first pool sets the arch's pooling; the others must agree, since cltransfer has one setting. */
static int map_pool(const caffe_layer *L, clt_arch *a, bool first, const char *path) {
    const Caffe__PoolingParameter *p = L->pool;
    if (!p || p->pool != CAFFE__POOLING_PARAMETER__POOL_METHOD__MAX || p->global_pooling) {
        clt_error("%s: layer %s: not a max pool over a window (CaffeNet's pools are)", path, L->name);
        return -1;
    }
    int k, stride, pad;
    uint32_t kv = p->kernel_size, sv = p->stride, pv = p->pad;
    if (square(path, L->name, "kernel", p->has_kernel_size, &kv, p->has_kernel_h, p->kernel_h, p->has_kernel_w,
               p->kernel_w, 0, &k) ||
        square(path, L->name, "stride", p->has_stride, &sv, p->has_stride_h, p->stride_h, p->has_stride_w, p->stride_w,
               1, &stride) ||
        square(path, L->name, "pad", p->has_pad, &pv, p->has_pad_h && p->pad_h, p->pad_h, p->has_pad_w && p->pad_w,
               p->pad_w, 0, &pad))
        return -1;
    if (pad != 0 || k < 1 || stride < 1) {
        clt_error("%s: layer %s: pool kernel %d, stride %d, pad %d (cltransfer pools without padding)", path, L->name, k,
                  stride, pad);
        return -1;
    }
    if (first) {
        a->pool_k = k, a->pool_stride = stride;
    } else if (k != a->pool_k || stride != a->pool_stride) {
        clt_error("%s: layer %s: pool %d/%d differs from pool1's %d/%d (cltransfer's pools share one setting)", path,
                  L->name, k, stride, a->pool_k, a->pool_stride);
        return -1;
    }
    return 0;
}

static int map_lrn(const caffe_layer *L, clt_arch *a, bool first, const char *path) {
    const Caffe__LRNParameter *p = L->lrn;
    Caffe__LRNParameter dflt = CAFFE__LRNPARAMETER__INIT;
    if (!p) p = &dflt;
    if (p->norm_region != CAFFE__LRNPARAMETER__NORM_REGION__ACROSS_CHANNELS || p->local_size > 1024) {
        clt_error("%s: layer %s: LRN within a channel or of size %u (cltransfer's LRN runs across channels)", path,
                  L->name, p->local_size);
        return -1;
    }
    if (first) {
        a->lrn_size = (int)p->local_size, a->lrn_alpha = p->alpha, a->lrn_beta = p->beta, a->lrn_k = p->k;
    } else if ((int)p->local_size != a->lrn_size || p->alpha != a->lrn_alpha || p->beta != a->lrn_beta ||
               p->k != a->lrn_k) {
        clt_error("%s: layer %s: LRN size %u, alpha %g, beta %g, k %g differ from norm1's (one setting in cltransfer)",
                  path, L->name, p->local_size, p->alpha, p->beta, p->k);
        return -1;
    }
    return 0;
}

/* ---- the whole net ---- */

static int gather_layers(const Caffe__NetParameter *np, caffe_layer **out, size_t *n, const char *path) {
    if (np->n_layer && np->n_layers) {
        clt_error("%s: the model mixes the current `layer` and the old `layers` form", path);
        return -1;
    }
    *n = np->n_layer ? np->n_layer : np->n_layers;
    if (*n == 0) {
        clt_error("%s: not a Caffe model: it holds no layers (an empty or foreign protobuf file)", path);
        return -1;
    }
    caffe_layer *ls = clt_calloc(*n, sizeof *ls);
    for (size_t i = 0; i < *n; i++) {
        caffe_layer *L = &ls[i];
        if (np->n_layer) {
            const Caffe__LayerParameter *p = np->layer[i];
            *L = (caffe_layer){p->name, p->type, p->n_bottom, p->n_top, p->n_blobs, p->bottom, p->top, p->blobs,
                               p->convolution_param, p->inner_product_param, p->pooling_param, p->lrn_param,
                               p->dropout_param, p->relu_param, p->transform_param, p->input_param};
        } else {
            const Caffe__V1LayerParameter *p = np->layers[i];
            if (p->has_layer) {
                clt_error("%s: layer %zu is in Caffe's V0 form; upgrade the model with Caffe's upgrade_net_proto_binary",
                          path, i + 1);
                free(ls);
                return -1;
            }
            const char *type = NULL;
            for (size_t t = 0; t < CLT_ARRAY_LEN(V1_TYPES); t++)
                if (V1_TYPES[t].number == p->type) type = V1_TYPES[t].type;
            if (!type) {
                clt_error("%s: layer %s has V1 type number %d, which is not a layer of CaffeNet", path,
                          p->name ? p->name : "(unnamed)", p->type);
                free(ls);
                return -1;
            }
            *L = (caffe_layer){p->name, type, p->n_bottom, p->n_top, p->n_blobs, p->bottom, p->top, p->blobs,
                               p->convolution_param, p->inner_product_param, p->pooling_param, p->lrn_param,
                               p->dropout_param, p->relu_param, p->transform_param, NULL};
        }
        if (!L->name || !L->name[0]) L->name = "(unnamed)";
        if (!L->type || !L->type[0]) {
            clt_error("%s: layer %s has no type", path, L->name);
            free(ls);
            return -1;
        }
    }
    *out = ls;
    return 0;
}

/* The input the model declares (net inputs, an Input layer or a data layer's crop); 0 where it does not.
   Values are clamped to an int's range; clt_arch_check refuses what is out of its own. */
static int clamp_dim(int64_t v) { return v < 0 ? -1 : v > 1 << 20 ? 1 << 20 : (int)v; }

static void declared_input(const Caffe__NetParameter *np, const caffe_layer *ls, size_t n, int *c, int *h, int *w) {
    *c = *h = *w = 0;
    const Caffe__BlobShape *s = np->n_input_shape ? np->input_shape[0] : NULL;
    for (size_t i = 0; !s && i < n; i++)
        if (ls[i].input && ls[i].input->n_shape) s = ls[i].input->shape[0];
    const int64_t *dims = s && s->n_dim == 4 ? s->dim : np->n_input_dim == 4 ? np->input_dim : NULL;
    if (dims) *c = clamp_dim(dims[1]), *h = clamp_dim(dims[2]), *w = clamp_dim(dims[3]);
    for (size_t i = 0; !*h && i < n; i++)
        if (ls[i].transform && ls[i].transform->crop_size) *h = *w = clamp_dim(ls[i].transform->crop_size);
}

static bool name_is(const char *name, int step) {
    /* fine-tuned CaffeNets rename their last layer (fc8_flickr, …); any fc8* is that layer */
    if (CAFFENET[step].weight_layer == 8) return !strncmp(name, "fc8", 3);
    return !strcmp(name, CAFFENET[step].name);
}

int clt_caffe_map(const uint8_t *bytes, size_t len, const char *path, const char *arch_name, clt_arch *arch,
                  float **params_out) {
    *params_out = NULL;
    Caffe__NetParameter *np = caffe__net_parameter__unpack(NULL, len, bytes);
    if (!np) {
        clt_error("%s: not a Caffe model: the protobuf does not parse (a truncated or corrupt file?)", path);
        return -1;
    }
    caffe_layer *ls = NULL;
    size_t n = 0;
    float *params = NULL;
    int rc = -1;
    if (gather_layers(np, &ls, &n, path) != 0) goto done;

    clt_arch *a = arch;
    if (!strcmp(arch_name, "small")) clt_arch_small(a);
    else clt_arch_caffenet(a);

    /* Walk the file in order: structural layers must come as CaffeNet's, each fed by the one before
       (through in-place or chained ReLU and Dropout), a ReLU after every weight layer but fc8. */
    const caffe_layer *step_layer[CAFFENET_STEPS] = {0};
    int step = 0;
    const char *current = NULL; /* the blob the last structural layer's output is known as */
    bool relu_after[CAFFENET_STEPS] = {0};
    float dropout = -1;
    for (size_t i = 0; i < n; i++) {
        const caffe_layer *L = &ls[i];
        if (is_structural(L->type)) {
            if (step == CAFFENET_STEPS) {
                clt_error("%s: layer %s (%s) comes after fc8: this is not CaffeNet", path, L->name, L->type);
                goto done;
            }
            if (!name_is(L->name, step) || strcmp(L->type, CAFFENET[step].type)) {
                clt_error("%s: layer %s (%s) comes where CaffeNet has %s (%s): this is not CaffeNet", path, L->name,
                          L->type, CAFFENET[step].name, CAFFENET[step].type);
                goto done;
            }
            if (step > 0 && (L->n_bottom != 1 || strcmp(L->bottom[0], current))) {
                clt_error("%s: layer %s takes %s, but CaffeNet's %s takes the output of %s", path, L->name,
                          L->n_bottom ? L->bottom[0] : "nothing", CAFFENET[step].name, step_layer[step - 1]->name);
                goto done;
            }
            if (step > 0 && CAFFENET[step - 1].weight_layer && CAFFENET[step - 1].weight_layer < 8 &&
                !relu_after[step - 1]) {
                clt_error("%s: layer %s has no ReLU after it (CaffeNet's conv and fc6/fc7 layers do)", path,
                          step_layer[step - 1]->name);
                goto done;
            }
            if (L->n_top != 1) {
                clt_error("%s: layer %s has %zu outputs (one expected)", path, L->name, L->n_top);
                goto done;
            }
            step_layer[step] = L;
            current = L->top[0];
            step++;
        } else if (!strcmp(L->type, "ReLU") || !strcmp(L->type, "Dropout")) {
            bool relu = !strcmp(L->type, "ReLU");
            if (!current || L->n_bottom != 1 || L->n_top != 1 || strcmp(L->bottom[0], current)) {
                clt_error("%s: layer %s (%s) is not where CaffeNet has one (it takes %s)", path, L->name, L->type,
                          L->n_bottom ? L->bottom[0] : "nothing");
                goto done;
            }
            int last = CAFFENET[step - 1].weight_layer;
            if (relu && (!last || last == 8 || relu_after[step - 1])) {
                clt_error("%s: layer %s: a ReLU after %s, where CaffeNet has none", path, L->name,
                          step_layer[step - 1]->name);
                goto done;
            }
            if (relu && L->relu && L->relu->negative_slope != 0) {
                clt_error("%s: layer %s: leaky ReLU (negative_slope %g); cltransfer's ReLU is plain", path, L->name,
                          L->relu->negative_slope);
                goto done;
            }
            if (!relu) {
                float ratio = L->drop ? L->drop->dropout_ratio : 0.5f;
                if ((last != 6 && last != 7) || !relu_after[step - 1] || (dropout >= 0 && ratio != dropout)) {
                    clt_error("%s: layer %s: dropout (ratio %g) where CaffeNet has none or another ratio", path,
                              L->name, ratio);
                    goto done;
                }
                dropout = ratio;
            }
            if (relu) relu_after[step - 1] = true;
            current = L->top[0];
        } else if (!is_head_or_data(L->type)) {
            clt_error("%s: layer %s has type %s, which cltransfer cannot map onto CaffeNet", path, L->name, L->type);
            goto done;
        }
        if (!is_structural(L->type) && L->n_blobs) {
            clt_error("%s: layer %s (%s) holds %zu parameter blobs cltransfer cannot map", path, L->name, L->type,
                      L->n_blobs);
            goto done;
        }
    }
    if (step < CAFFENET_STEPS) {
        clt_error("%s: the model has no layer %s (%s) after %s: this is not CaffeNet", path, CAFFENET[step].name,
                  CAFFENET[step].type, step ? step_layer[step - 1]->name : "its inputs");
        goto done;
    }

    /* The net the model declares: its layers' settings over the arch's defaults. */
    bool first_pool = true, first_lrn = true;
    for (int s = 0; s < CAFFENET_STEPS; s++) {
        const caffe_layer *L = step_layer[s];
        int l = CAFFENET[s].weight_layer;
        if (l >= 1 && l <= 5) {
            if (map_conv(L, &a->conv[l - 1], path)) goto done;
        } else if (l >= 6) {
            if (map_ip(L, &a->fc[l - 6], path)) goto done;
        } else if (!strcmp(L->type, "Pooling")) {
            if (map_pool(L, a, first_pool, path)) goto done;
            first_pool = false;
        } else {
            if (map_lrn(L, a, first_lrn, path)) goto done;
            first_lrn = false;
        }
    }
    if (dropout >= 0) a->dropout = dropout;
    int in_c, in_h, in_w;
    declared_input(np, ls, n, &in_c, &in_h, &in_w);
    const caffe_layer *conv1 = step_layer[0];
    if (!in_c && conv1->n_blobs) {
        shape4 s;
        if (blob_shape(conv1->blobs[0], &s, path, "layer conv1: weight blob") != 0) goto done;
        in_c = clamp_dim(s.d[1] * a->conv[0].group);
    }
    if (in_c) a->in_c = in_c;
    if (in_h) a->in_h = in_h, a->in_w = in_w;
    if (clt_arch_check(a) != 0) {
        clt_error("%s: the net the model declares does not fit cltransfer's CaffeNet (above)", path);
        goto done;
    }
    clt_layer_params table[CLT_LAYERS + 1];
    size_t count;
    clt_arch_layers(a, table, &count);
    /* bounded before allocating: every weight must be in the file */
    if (count > len / sizeof(float)) {
        clt_error("%s: the net the model declares has %zu weights, more than its %zu bytes can hold", path, count, len);
        goto done;
    }
    params = clt_calloc(count, sizeof(float));
    for (int s = 0; s < CAFFENET_STEPS; s++) {
        const caffe_layer *L = step_layer[s];
        int l = CAFFENET[s].weight_layer;
        if (!l) continue;
        const clt_layer_params *T = &table[l];
        bool bias = l <= 5 ? L->conv->bias_term : L->ip->bias_term;
        if (L->n_blobs != (bias ? 2u : 1u)) {
            clt_error("%s: layer %s holds %zu blobs, but %s (a net definition rather than trained weights?)", path,
                      L->name, L->n_blobs, bias ? "weights and bias are 2" : "weights without bias are 1");
            goto done;
        }
        shape4 w = {{T->dims[0], T->dims[1], T->dims[2], T->dims[3]}};
        if (l >= 6) w = (shape4){{1, 1, T->dims[0], T->dims[1]}};
        shape4 b = {{1, 1, 1, (int64_t)T->b_count}};
        if (take_blob(L->blobs[0], &w, params + T->w_off, path, L->name, "weight") != 0) goto done;
        if (bias && take_blob(L->blobs[1], &b, params + T->b_off, path, L->name, "bias") != 0) goto done;
        /* Caffe's input is BGR, cltransfer's RGB: conv1's input channels are reversed, so that
           conv1(RGB image) here equals Caffe's conv1(BGR image). */
        if (l == 1 && a->in_c == 3) {
            size_t kk = (size_t)T->dims[2] * T->dims[3];
            for (int o = 0; o < T->dims[0]; o++) {
                float *f = params + T->w_off + (size_t)o * 3 * kk;
                for (size_t j = 0; j < kk; j++) {
                    float t = f[j];
                    f[j] = f[2 * kk + j], f[2 * kk + j] = t;
                }
            }
        }
    }
    *params_out = params;
    params = NULL;
    rc = 0;
done:
    free(params);
    free(ls);
    caffe__net_parameter__free_unpacked(np, NULL);
    return rc;
}

int clt_caffe_mean(const uint8_t *bytes, size_t len, const char *path, const clt_arch *a, clt_ckpt_blob *mean) {
    memset(mean, 0, sizeof *mean);
    Caffe__BlobProto *b = caffe__blob_proto__unpack(NULL, len, bytes);
    if (!b) {
        clt_error("%s: not a Caffe mean file: the BlobProto does not parse (a truncated or corrupt file?)", path);
        return -1;
    }
    int rc = -1;
    shape4 s;
    if (blob_shape(b, &s, path, "the mean blob") != 0) goto done;
    int c = (int)s.d[1], h = (int)s.d[2], w = (int)s.d[3];
    if (s.d[0] != 1 || c != a->in_c || h < a->in_h || w < a->in_w) {
        char t[64];
        shape_text(&s, t, sizeof t);
        clt_error("%s: the mean is %s, but the net takes %d channels and crops of %d×%d from the stored images", path,
                  t, a->in_c, a->in_h, a->in_w);
        goto done;
    }
    size_t count = (size_t)c * h * w, plane = (size_t)h * w;
    if (b->n_data != count) {
        clt_error("%s: the mean holds %zu values, but its shape says %zu", path, b->n_data, count);
        goto done;
    }
    *mean = (clt_ckpt_blob){.name = "mean", .ndims = 3, .dims = {c, h, w}, .count = count};
    mean->data = clt_malloc(count * sizeof(float));
    /* BGR planes in Caffe; cltransfer's planes are RGB (data-tools/FORMAT.md) */
    for (int ch = 0; ch < c; ch++)
        memcpy(mean->data + (size_t)(c == 3 ? 2 - ch : ch) * plane, b->data + (size_t)ch * plane, plane * sizeof(float));
    rc = 0;
done:
    caffe__blob_proto__free_unpacked(b, NULL);
    return rc;
}

int clt_caffe_import(const char *model_path, const char *mean_path, const char *arch_name, const char *out_path) {
    size_t len;
    char *bytes = clt_read_file(model_path, &len);
    if (!bytes) return -1;
    clt_arch arch;
    float *params;
    int rc = clt_caffe_map((const uint8_t *)bytes, len, model_path, arch_name, &arch, &params);
    free(bytes);
    if (rc != 0) return -1;
    clt_ckpt_blob mean = {0};
    if (mean_path) {
        bytes = clt_read_file(mean_path, &len);
        rc = bytes ? clt_caffe_mean((const uint8_t *)bytes, len, mean_path, &arch, &mean) : -1;
        free(bytes);
    }
    if (rc == 0) rc = clt_checkpoint_write(out_path, &arch, params, NULL, 0, 0, 0, &mean, mean_path ? 1 : 0);
    if (rc == 0)
        printf("imported %s: %s %dx%dx%d, conv1..fc8 with fc8 %d wide%s → %s\n", model_path, arch.name, arch.in_c,
               arch.in_h, arch.in_w, arch.fc[2], mean_path ? ", its mean (RGB)" : ", no mean", out_path);
    free(mean.data);
    free(params);
    return rc;
}

static void import_usage(FILE *out) {
    fprintf(out,
            "usage: cltransfer import-caffe MODEL.caffemodel [--mean MEAN.binaryproto] [--arch caffenet|small]\n"
            "                               -o BASE.ckpt\n"
            "\n"
            "Reads a trained Caffe CaffeNet (binary NetParameter, current `layer` or old V1 `layers` form, e.g.\n"
            "bvlc_reference_caffenet.caffemodel) and writes its weights as a cltransfer checkpoint, usable as\n"
            "[transfer] base. Layers are mapped by name and type: conv1..conv5 (with groups), pool1/2/5, norm1/2,\n"
            "fc6, fc7 and fc8 (or fc8_*); ReLU, Dropout, data, softmax, loss and accuracy layers are checked or\n"
            "skipped; any other layer, another order, or a blob whose shape is not the one the model's own\n"
            "layer settings give is an error naming the layer. Nothing is written unless all of it maps.\n"
            "\n"
            "Caffe feeds conv1 BGR images in 0..255 minus a BGR mean; cltransfer feeds RGB minus an RGB mean.\n"
            "conv1's input channels and the mean's planes are reversed, so the imported net computes exactly\n"
            "what Caffe's does on the same picture.\n"
            "\n"
            "  --mean FILE      Caffe's mean image (BlobProto, e.g. imagenet_mean.binaryproto, 1x3x256x256 BGR),\n"
            "                   stored in the checkpoint as its RGB mean (the mean transfer runs subtract)\n"
            "  --arch NAME      the defaults for what the model does not declare: caffenet (3x227x227 input,\n"
            "                   Gaussian init of re-initialised layers) or small (1x28x28, He init) [caffenet]\n"
            "  -o, --output F   the checkpoint to write\n"
            "  -h, --help       this help\n"
            "\n"
            "The input side comes from the model's input shape or its data layer's crop_size when it declares\n"
            "one. Exit status: 0 written, 1 the model cannot be read or mapped, 2 bad command line.\n");
}

int clt_import_caffe_main(int argc, char **argv) {
    static const struct option opts[] = {{"mean", required_argument, 0, 'm'},
                                         {"arch", required_argument, 0, 'a'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *mean = NULL, *arch = "caffenet", *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': mean = optarg; break;
        case 'a': arch = optarg; break;
        case 'o': out = optarg; break;
        case 'h': import_usage(stdout); return 0;
        default: import_usage(stderr); return 2;
        }
    }
    if (strcmp(arch, "caffenet") && strcmp(arch, "small")) {
        clt_error("--arch %s: expected caffenet or small", arch);
        return 2;
    }
    if (optind != argc - 1 || !out) {
        clt_error("import-caffe needs one MODEL.caffemodel and -o BASE.ckpt (see cltransfer import-caffe --help)");
        return 2;
    }
    return clt_caffe_import(argv[optind], mean, arch, out) == 0 ? 0 : 1;
}
