/* net.c — CaffeNet and its small variant as one table of eight weight layers: shapes, buffers,
   initialisation, forward and backward. */
#include "net/net.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/mt19937.h"

static const char *LAYER_NAMES[CLT_LAYERS + 1] = {"", "conv1", "conv2", "conv3", "conv4",
                                                  "conv5", "fc6", "fc7", "fc8"};

void clt_arch_caffenet(clt_arch *a) {
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "caffenet");
    a->in_c = 3, a->in_h = 227, a->in_w = 227;
    a->conv[0] = (clt_conv_spec){96, 11, 4, 0, 1};
    a->conv[1] = (clt_conv_spec){256, 5, 1, 2, 2};
    a->conv[2] = (clt_conv_spec){384, 3, 1, 1, 1};
    a->conv[3] = (clt_conv_spec){384, 3, 1, 1, 2};
    a->conv[4] = (clt_conv_spec){256, 3, 1, 1, 2};
    a->pool_k = 3, a->pool_stride = 2;
    a->lrn_size = 5, a->lrn_alpha = 1e-4f, a->lrn_beta = 0.75f, a->lrn_k = 1.0f;
    a->fc[0] = 4096, a->fc[1] = 4096, a->fc[2] = 1000;
    a->dropout = 0.5f;
    a->init = CLT_INIT_GAUSSIAN;
    const float std[] = {0, 0.01f, 0.01f, 0.01f, 0.01f, 0.01f, 0.005f, 0.005f, 0.01f};
    const float bias[] = {0, 0, 1, 0, 1, 1, 1, 1, 0};
    memcpy(a->weight_std, std, sizeof std);
    memcpy(a->bias_value, bias, sizeof bias);
}

void clt_arch_small(clt_arch *a) {
    clt_arch_caffenet(a);
    snprintf(a->name, sizeof a->name, "small");
    a->in_c = 1, a->in_h = 28, a->in_w = 28;
    a->conv[0] = (clt_conv_spec){32, 5, 1, 2, 1};
    a->conv[1] = (clt_conv_spec){64, 5, 1, 2, 2};
    a->conv[2] = (clt_conv_spec){96, 3, 1, 1, 1};
    a->conv[3] = (clt_conv_spec){96, 3, 1, 1, 2};
    a->conv[4] = (clt_conv_spec){64, 3, 1, 1, 2};
    a->fc[0] = 256, a->fc[1] = 256, a->fc[2] = 10;
    /* Caffe's Gaussian init does not train a net this small (docs/fmnist-calibration.md). */
    a->init = CLT_INIT_HE;
}

/* Walks the arch's shapes; fills the layer structs when net is not NULL. */
static int shapes(const clt_arch *a, clt_net *net) {
    int c = a->in_c, h = a->in_h, w = a->in_w;
    for (int i = 0; i < 5; i++) {
        const clt_conv_spec *s = &a->conv[i];
        if (s->out <= 0 || s->k <= 0 || s->stride <= 0 || s->pad < 0 || s->group <= 0 || c % s->group ||
            s->out % s->group) {
            clt_error("conv%d: out %d, kernel %d, stride %d, pad %d, group %d do not fit %d input channels", i + 1,
                      s->out, s->k, s->stride, s->pad, s->group, c);
            return -1;
        }
        /* sizes from a file (an imported model) may be anything: every count must fit the int the
           kernels index with */
        if (s->k > 65536 || s->stride > 65536 || s->pad > 65536 || h > 65536 || w > 65536 ||
            (int64_t)s->out * (c / s->group) * s->k * s->k > INT_MAX) {
            clt_error("conv%d: out %d, kernel %d, stride %d, pad %d on %d×%d×%d input are beyond cltransfer's sizes",
                      i + 1, s->out, s->k, s->stride, s->pad, c, h, w);
            return -1;
        }
        int ho = (h + 2 * s->pad - s->k) / s->stride + 1, wo = (w + 2 * s->pad - s->k) / s->stride + 1;
        if ((int64_t)s->out * ho * wo > INT_MAX) {
            clt_error("conv%d: a %d×%d×%d output is beyond cltransfer's sizes", i + 1, s->out, ho, wo);
            return -1;
        }
        if (h + 2 * s->pad < s->k || w + 2 * s->pad < s->k || ho <= 0 || wo <= 0) {
            clt_error("conv%d: a %d×%d input is smaller than its %d×%d kernel", i + 1, h, w, s->k, s->k);
            return -1;
        }
        if (net) clt_conv_init(&net->conv[i], c, h, w, s->out, s->k, s->stride, s->pad, s->group);
        c = s->out, h = ho, w = wo;
        int pi = i == 0 ? 0 : i == 1 ? 1 : i == 4 ? 2 : -1;
        if (pi >= 0) {
            if (h < a->pool_k || w < a->pool_k) {
                clt_error("pool after conv%d: a %d×%d map is smaller than the %d×%d window", i + 1, h, w, a->pool_k,
                          a->pool_k);
                return -1;
            }
            if (net) clt_pool_init(&net->pool[pi], c, h, w, a->pool_k, a->pool_stride);
            h = clt_pool_out_size(h, a->pool_k, a->pool_stride), w = clt_pool_out_size(w, a->pool_k, a->pool_stride);
            if (pi < 2 && net) net->lrn[pi] = (clt_lrn){c, h, w, a->lrn_size, a->lrn_alpha, a->lrn_beta, a->lrn_k};
        }
    }
    int in = c * h * w;
    for (int i = 0; i < 3; i++) {
        if (a->fc[i] > 0 && (int64_t)in * a->fc[i] > INT_MAX) {
            clt_error("fc%d: %d×%d weights are beyond cltransfer's sizes", i + 6, a->fc[i], in);
            return -1;
        }
        if (a->fc[i] <= 0) {
            clt_error("fc%d: width %d must be positive", i + 6, a->fc[i]);
            return -1;
        }
        if (net) net->ip[i] = (clt_ip){in, a->fc[i]};
        in = a->fc[i];
    }
    return 0;
}

int clt_arch_check(const clt_arch *a) {
    if (a->in_c <= 0 || a->in_h <= 0 || a->in_w <= 0) {
        clt_error("input %d×%d×%d must be positive", a->in_c, a->in_h, a->in_w);
        return -1;
    }
    if (a->pool_k <= 0 || a->pool_stride <= 0 || a->lrn_size <= 0 || a->lrn_size % 2 == 0) {
        clt_error("pool %d/%d and LRN size %d must be positive (LRN size odd)", a->pool_k, a->pool_stride, a->lrn_size);
        return -1;
    }
    if (!(a->dropout >= 0 && a->dropout < 1)) {
        clt_error("dropout ratio %g must be in [0, 1)", a->dropout);
        return -1;
    }
    return shapes(a, NULL);
}

int clt_arch_shapes(const clt_arch *a, clt_conv conv[5], clt_ip ip[3]) {
    if (clt_arch_check(a) != 0) return -1;
    clt_net *net = clt_calloc(1, sizeof *net);
    int r = shapes(a, net);
    if (r == 0) {
        memcpy(conv, net->conv, sizeof net->conv);
        memcpy(ip, net->ip, sizeof net->ip);
    }
    free(net);
    return r;
}

static clt_blob blob(clt_device *d, size_t count, const char *name, bool with_diff) {
    clt_blob b = {0};
    b.count = count;
    char what[64];
    snprintf(what, sizeof what, "activation %s", name);
    b.data = clt_alloc(d, count * sizeof(float), what);
    if (with_diff) {
        snprintf(what, sizeof what, "gradient of %s", name);
        b.diff = clt_alloc(d, count * sizeof(float), what);
    }
    return b;
}

static void blob_free(clt_blob *b) {
    clt_free(b->data);
    clt_free(b->diff);
    memset(b, 0, sizeof *b);
}

/* The im2col workspace. On a GPU: the whole batch for the largest layer where that fits a budget,
   else as many images as fit (at least one), because larger GEMMs run faster there. On a CPU: an
   eighth of the device's cache, at most CPU_COL_BYTES (at least one image of the largest layer),
   so that each chunk's columns are still in cache when the GEMM reads them and dcol when col2im
   gathers it. On this project's 2-core EPYC (32 MiB L3, so 4 MiB) that trained the small net about
   a quarter faster than one batch-wide matrix (bench/RESULTS.md, session "speed-layers"). The cap
   is there because a virtual machine reports its host's whole L3 (105 MiB on a 2-core Xeon, so
   13 MiB chunks), most of it another tenant's: there 2 MiB trained 1.17× as many images/s (two
   single-thread processes at once, as a study runs; bench/RESULTS.md, section "im2col chunks
   capped at 2 MiB"). */
enum { CPU_COL_BYTES = 2 << 20 };
static size_t col_budget(clt_device *d, const clt_net *net) {
    size_t per_image = 0;
    for (int i = 0; i < 5; i++) per_image = CLT_MAX(per_image, clt_conv_col_floats(&net->conv[i], 1));
    size_t budget = d->global_mem / 8 / sizeof(float);
    budget = CLT_MIN(budget, d->max_alloc / sizeof(float));
    if (!d->is_gpu) {
        cl_ulong cache = 0;
        if (clGetDeviceInfo(d->id, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE, sizeof cache, &cache, NULL) != CL_SUCCESS ||
            cache == 0)
            cache = (cl_ulong)32 << 20;
        size_t chunk_bytes = CLT_MIN((size_t)(cache / 8), (size_t)CPU_COL_BYTES);
        budget = CLT_MIN(budget, CLT_MAX(per_image, chunk_bytes / sizeof(float)));
    }
    size_t images = CLT_MAX((size_t)1, CLT_MIN((size_t)net->batch, budget / per_image));
    return images * per_image;
}

/* Every device buffer of the net; run once to plan (nothing is allocated) and once to allocate. */
static void alloc_buffers(clt_net *net, clt_device *d) {
    size_t pbytes = net->param_count * sizeof(float);
    net->params = clt_alloc(d, pbytes, "parameters");
    net->grads = clt_alloc(d, pbytes, "parameter gradients");
    net->history = clt_alloc(d, pbytes, "momentum");

    size_t n = net->batch;
    const clt_arch *a = &net->arch;
    net->input = blob(d, n * a->in_c * a->in_h * a->in_w, "input", false);
    const clt_conv *cv = net->conv;
    const clt_pool *pl = net->pool;
    net->c1 = blob(d, n * cv[0].m * cv[0].ho * cv[0].wo, "conv1", true);
    net->p1 = blob(d, n * pl[0].c * pl[0].ho * pl[0].wo, "pool1", true);
    net->n1 = blob(d, net->p1.count, "norm1", true);
    net->c2 = blob(d, n * cv[1].m * cv[1].ho * cv[1].wo, "conv2", true);
    net->p2 = blob(d, n * pl[1].c * pl[1].ho * pl[1].wo, "pool2", true);
    net->n2 = blob(d, net->p2.count, "norm2", true);
    net->c3 = blob(d, n * cv[2].m * cv[2].ho * cv[2].wo, "conv3", true);
    net->c4 = blob(d, n * cv[3].m * cv[3].ho * cv[3].wo, "conv4", true);
    net->c5 = blob(d, n * cv[4].m * cv[4].ho * cv[4].wo, "conv5", true);
    net->p5 = blob(d, n * pl[2].c * pl[2].ho * pl[2].wo, "pool5", true);
    net->f5 = blob(d, net->p5.count, "flatten", true);
    net->f6 = blob(d, n * a->fc[0], "fc6", true);
    net->f7 = blob(d, n * a->fc[1], "fc7", true);
    net->f8 = blob(d, n * a->fc[2], "fc8", true);
    net->mask[0] = clt_alloc(d, net->p1.count * sizeof(cl_int), "pool1 argmax");
    net->mask[1] = clt_alloc(d, net->p2.count * sizeof(cl_int), "pool2 argmax");
    net->mask[2] = clt_alloc(d, net->p5.count * sizeof(cl_int), "pool5 argmax");
    net->scale[0] = clt_alloc(d, net->p1.count * sizeof(float), "norm1 scale");
    net->scale[1] = clt_alloc(d, net->p2.count * sizeof(float), "norm2 scale");
    net->labels = clt_alloc(d, n * sizeof(cl_int), "labels");
    net->prob = clt_alloc(d, n * a->fc[2] * sizeof(float), "probabilities");
    net->loss = clt_alloc(d, n * sizeof(float), "loss");
    net->correct1 = clt_alloc(d, n * sizeof(cl_int), "top-1 flags");
    net->correct5 = clt_alloc(d, n * sizeof(cl_int), "top-5 flags");
    net->col_floats = col_budget(d, net);
    net->col = clt_alloc(d, net->col_floats * sizeof(float), "im2col workspace");
}

/* The parameter table from the layer structs shapes() filled: offsets, counts and blob shapes. */
static void layout(clt_net *net) {
    size_t off = 0;
    for (int i = 1; i <= CLT_LAYERS; i++) {
        clt_layer_params *L = &net->layer[i];
        snprintf(L->name, sizeof L->name, "%s", LAYER_NAMES[i]);
        if (i <= 5) {
            const clt_conv *c = &net->conv[i - 1];
            L->w_count = clt_conv_weight_count(c);
            L->b_count = c->m;
            L->fan_in = c->c / c->group * c->k * c->k;
            L->dims[0] = c->m, L->dims[1] = c->c / c->group, L->dims[2] = c->k, L->dims[3] = c->k;
        } else {
            const clt_ip *p = &net->ip[i - 6];
            L->w_count = (size_t)p->out * p->in;
            L->b_count = p->out;
            L->fan_in = p->in;
            L->dims[0] = p->out, L->dims[1] = p->in, L->dims[2] = 1, L->dims[3] = 1;
        }
        L->w_off = off;
        off += L->w_count;
        L->b_off = off;
        off += L->b_count;
    }
    net->param_count = off;
}

int clt_arch_layers(const clt_arch *a, clt_layer_params *layer, size_t *param_count) {
    if (clt_arch_check(a) != 0) return -1;
    clt_net *net = clt_calloc(1, sizeof *net);
    net->arch = *a;
    shapes(a, net);
    layout(net);
    memcpy(layer, net->layer, sizeof net->layer);
    *param_count = net->param_count;
    free(net);
    return 0;
}

int clt_net_create(clt_net *net, clt_device *d, const clt_arch *arch, int batch) {
    memset(net, 0, sizeof *net);
    if (clt_arch_check(arch) != 0) return -1;
    net->arch = *arch;
    net->batch = batch;
    shapes(arch, net);

    layout(net);
    /* Planned first, allocated only if the whole set fits (device.h, clt_plan_begin). */
    clt_plan_begin(d);
    alloc_buffers(net, d);
    char what[96];
    snprintf(what, sizeof what, "the net's buffers for a batch of %d", batch);
    if (clt_plan_end(d, what) != 0) return clt_device_report(d);
    alloc_buffers(net, d);
    if (d->failed) {
        clt_net_destroy(net);
        return clt_device_report(d);
    }
    return 0;
}

void clt_net_destroy(clt_net *net) {
    clt_free(net->params), clt_free(net->grads), clt_free(net->history);
    clt_blob *blobs[] = {&net->input, &net->c1, &net->p1, &net->n1, &net->c2, &net->p2, &net->n2, &net->c3,
                         &net->c4, &net->c5, &net->p5, &net->f5, &net->f6, &net->f7, &net->f8};
    for (size_t i = 0; i < CLT_ARRAY_LEN(blobs); i++) blob_free(blobs[i]);
    for (int i = 0; i < 3; i++) clt_free(net->mask[i]);
    for (int i = 0; i < 2; i++) clt_free(net->scale[i]);
    clt_free(net->labels), clt_free(net->prob), clt_free(net->loss);
    clt_free(net->correct1), clt_free(net->correct5), clt_free(net->col);
    memset(net, 0, sizeof *net);
}

/* ---- initialisation ---- */

/* splitmix64's stream: clt_mix64 of the state, which then steps by the golden-ratio increment. */
static uint64_t next_random(uint64_t *s) {
    uint64_t r = clt_mix64(*s);
    *s += 0x9e3779b97f4a7c15ULL;
    return r;
}

/* Standard normal by Box–Muller in double, so the values are the same on every host. */
static double gaussian(uint64_t *s) {
    double u1 = ((next_random(s) >> 11) + 1) * (1.0 / 9007199254740993.0);
    double u2 = (next_random(s) >> 11) * (1.0 / 9007199254740992.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

void clt_net_init_layers(clt_net *net, clt_device *d, uint64_t seed, int first, int last) {
    for (int i = CLT_MAX(first, 1); i <= CLT_MIN(last, CLT_LAYERS); i++) {
        const clt_layer_params *L = &net->layer[i];
        uint64_t s = seed * 0x100000001b3ULL ^ (0x5151ULL * i);
        double std;
        float bias;
        if (net->arch.init == CLT_INIT_HE) {
            std = i < CLT_LAYERS ? sqrt(2.0 / L->fan_in) : 0.01;
            bias = 0;
        } else {
            std = net->arch.weight_std[i];
            bias = net->arch.bias_value[i];
        }
        float *w = clt_malloc(L->w_count * sizeof(float));
        for (size_t j = 0; j < L->w_count; j++) w[j] = (float)(std * gaussian(&s));
        float *b = clt_malloc(L->b_count * sizeof(float));
        for (size_t j = 0; j < L->b_count; j++) b[j] = bias;
        clt_upload(d, net->params, L->w_off * sizeof(float), w, L->w_count * sizeof(float));
        clt_upload(d, net->params, L->b_off * sizeof(float), b, L->b_count * sizeof(float));
        clt_zero(d, net->history, L->w_off * sizeof(float), (L->w_count + L->b_count) * sizeof(float));
        free(w);
        free(b);
    }
}

/* ---- forward / backward ---- */

/* Names of the traced operations, by layer (static: the trace callback may keep the pointer). */
static const char *const CONV_OP[] = {"", "conv1", "conv2", "conv3", "conv4", "conv5"};
static const char *const CONV_BACK_OP[] = {"", "conv1 back", "conv2 back", "conv3 back", "conv4 back", "conv5 back"};
static const char *const RELU_OP[] = {"", "relu1", "relu2", "relu3", "relu4", "relu5", "relu6", "relu7"};
static const char *const RELU_BACK_OP[] = {"", "relu1 back", "relu2 back", "relu3 back", "relu4 back",
                                           "relu5 back", "relu6 back", "relu7 back"};
static const char *const FC_OP[] = {"fc6", "fc7", "fc8"};
static const char *const FC_BACK_OP[] = {"fc6 back", "fc7 back", "fc8 back"};
static const char *const DROP_OP[] = {"drop6", "drop7"};
static const char *const DROP_BACK_OP[] = {"drop6 back", "drop7 back"};

static void traced(const clt_net *net, const char *op) {
    if (net->trace) net->trace(net->trace_ctx, op);
}

static clt_view param_view(const clt_net *net, size_t off) { return clt_at(net->params, off); }
static clt_view grad_view(const clt_net *net, size_t off) { return clt_at(net->grads, off); }
static clt_view data_view(const clt_blob *b) { return clt_at(b->data, 0); }
static clt_view diff_view(const clt_blob *b) { return clt_at(b->diff, 0); }
/* A view of no buffer: the layer skips that output. */
static clt_view no_view(void) { return clt_at(NULL, 0); }

uint64_t clt_net_dropout_seed(uint64_t seed, int layer) { return seed * 31 + (uint64_t)layer; }

static size_t per_image(const clt_blob *b, const clt_net *net) { return b->count / net->batch; }

/* conv i (1..5) and its ReLU, fused into the bias's pass. */
static void conv_relu_forward(clt_net *net, clt_device *d, int i, int n, clt_blob *out, const clt_blob *in) {
    const clt_layer_params *L = &net->layer[i];
    clt_conv_relu_forward(d, &net->conv[i - 1], n, data_view(out), data_view(in), param_view(net, L->w_off),
                          param_view(net, L->b_off), clt_at(net->col, 0), net->col_floats);
    traced(net, CONV_OP[i]);
}

/* Pool p (0: pool1, 1: pool2) and the LRN after it. */
static void pool_lrn_forward(clt_net *net, clt_device *d, int p, int n, clt_blob *pooled, clt_blob *normed,
                             const clt_blob *in) {
    clt_pool_forward(d, &net->pool[p], n, data_view(pooled), data_view(in), net->mask[p]);
    traced(net, p ? "pool2" : "pool1");
    clt_lrn_forward(d, &net->lrn[p], n, data_view(normed), data_view(pooled), clt_at(net->scale[p], 0));
    traced(net, p ? "norm2" : "norm1");
}

/* fc i (6..8) on in; ReLU after fc6 and fc7. Dropout of fc i's input (after fc6, fc7) belongs to
   this block, so that every block's output (clt_net_block_output) is the same in training and testing. */
static void fc_forward(clt_net *net, clt_device *d, int i, int n, bool train, uint64_t dropout_seed, clt_blob *out,
                       clt_blob *in) {
    const clt_layer_params *L = &net->layer[i];
    if (i > 6 && train && net->arch.dropout > 0) {
        clt_dropout_forward(d, (size_t)n * net->ip[i - 7].out, data_view(in), data_view(in), net->arch.dropout,
                            clt_net_dropout_seed(dropout_seed, i - 1));
        traced(net, DROP_OP[i - 7]);
    }
    clt_ip_forward(d, &net->ip[i - 6], n, data_view(out), data_view(in), param_view(net, L->w_off),
                   param_view(net, L->b_off));
    traced(net, FC_OP[i - 6]);
    if (i < CLT_LAYERS) {
        clt_relu_forward(d, (size_t)n * net->ip[i - 6].out, data_view(out), data_view(out));
        traced(net, RELU_OP[i]);
    }
}

static void forward_block(clt_net *net, clt_device *d, int i, int n, bool train, uint64_t dropout_seed) {
    switch (i) {
    case 1:
        conv_relu_forward(net, d, 1, n, &net->c1, &net->input);
        pool_lrn_forward(net, d, 0, n, &net->p1, &net->n1, &net->c1);
        break;
    case 2:
        conv_relu_forward(net, d, 2, n, &net->c2, &net->n1);
        pool_lrn_forward(net, d, 1, n, &net->p2, &net->n2, &net->c2);
        break;
    case 3: conv_relu_forward(net, d, 3, n, &net->c3, &net->n2); break;
    case 4: conv_relu_forward(net, d, 4, n, &net->c4, &net->c3); break;
    case 5: {
        conv_relu_forward(net, d, 5, n, &net->c5, &net->c4);
        const clt_pool *p5 = &net->pool[2];
        clt_pool_forward(d, p5, n, data_view(&net->p5), data_view(&net->c5), net->mask[2]);
        traced(net, "pool5");
        clt_flatten_forward(d, p5->c, n, p5->ho * p5->wo, data_view(&net->f5), data_view(&net->p5));
        traced(net, "flatten");
        break;
    }
    case 6: fc_forward(net, d, 6, n, train, dropout_seed, &net->f6, &net->f5); break;
    case 7: fc_forward(net, d, 7, n, train, dropout_seed, &net->f7, &net->f6); break;
    case 8:
        fc_forward(net, d, 8, n, train, dropout_seed, &net->f8, &net->f7);
        clt_softmax_loss_forward(d, n, net->ip[2].out, clt_at(net->prob, 0), clt_at(net->loss, 0),
                                 data_view(&net->f8), net->labels);
        traced(net, "loss");
        break;
    }
}

void clt_net_forward_blocks(clt_net *net, clt_device *d, int n, int first, int last, bool train,
                            uint64_t dropout_seed) {
    for (int i = CLT_MAX(first, 1); i <= CLT_MIN(last, CLT_LAYERS); i++) forward_block(net, d, i, n, train, dropout_seed);
}

void clt_net_forward(clt_net *net, clt_device *d, int n, bool train, uint64_t dropout_seed) {
    clt_net_forward_blocks(net, d, n, 1, CLT_LAYERS, train, dropout_seed);
}

clt_block_output clt_net_block_output(clt_net *net, int i) {
    clt_block_output o = {0};
    switch (i) {
    case 1: o.blob = &net->n1, o.channels = net->lrn[0].c, o.plane = net->lrn[0].h * net->lrn[0].w; break;
    case 2: o.blob = &net->n2, o.channels = net->lrn[1].c, o.plane = net->lrn[1].h * net->lrn[1].w; break;
    case 3: o.blob = &net->c3, o.channels = net->conv[2].m, o.plane = net->conv[2].ho * net->conv[2].wo; break;
    case 4: o.blob = &net->c4, o.channels = net->conv[3].m, o.plane = net->conv[3].ho * net->conv[3].wo; break;
    case 5: o.blob = &net->f5, o.channels = 1, o.plane = net->ip[0].in; break;
    case 6: o.blob = &net->f6, o.channels = 1, o.plane = net->ip[0].out; break;
    case 7: o.blob = &net->f7, o.channels = 1, o.plane = net->ip[1].out; break;
    default: break;
    }
    return o;
}

/* fc i's backward; its input gradient only when `need_din`. */
static void fc_backward(clt_net *net, clt_device *d, int i, int n, bool need_din, clt_blob *out, clt_blob *in) {
    const clt_layer_params *L = &net->layer[i];
    clt_ip_backward(d, &net->ip[i - 6], n, need_din ? diff_view(in) : no_view(), grad_view(net, L->w_off),
                    grad_view(net, L->b_off), diff_view(out), data_view(in), param_view(net, L->w_off));
    traced(net, FC_BACK_OP[i - 6]);
}

/* Through dropout (when training with it) and ReLU of fc i (6, 7), in place on its gradient. */
static void fc_activation_backward(clt_net *net, clt_device *d, int i, int n, uint64_t dropout_seed, clt_blob *b) {
    size_t count = (size_t)n * net->ip[i - 6].out;
    if (net->arch.dropout > 0) {
        clt_dropout_backward(d, count, diff_view(b), diff_view(b), net->arch.dropout,
                             clt_net_dropout_seed(dropout_seed, i));
        traced(net, DROP_BACK_OP[i - 6]);
    }
    clt_relu_backward(d, count, diff_view(b), diff_view(b), data_view(b));
    traced(net, RELU_BACK_OP[i]);
}

/* Through ReLU and conv i; the input gradient into `din` only when `need_din`. */
static void conv_relu_backward(clt_net *net, clt_device *d, int i, int n, bool need_din, clt_blob *out,
                               clt_blob *in, clt_view din) {
    const clt_layer_params *L = &net->layer[i];
    clt_relu_backward(d, n * per_image(out, net), diff_view(out), diff_view(out), data_view(out));
    traced(net, RELU_BACK_OP[i]);
    clt_conv_backward(d, &net->conv[i - 1], n, need_din ? din : no_view(), grad_view(net, L->w_off),
                      grad_view(net, L->b_off), diff_view(out), data_view(in), param_view(net, L->w_off),
                      clt_at(net->col, 0), net->col_floats);
    traced(net, CONV_BACK_OP[i]);
}

/* Through LRN p and pool p (0: after conv1, 1: after conv2) to the conv's output gradient. */
static void lrn_pool_backward(clt_net *net, clt_device *d, int p, int n, clt_blob *pooled, clt_blob *normed,
                              clt_blob *conv_out) {
    clt_lrn_backward(d, &net->lrn[p], n, diff_view(pooled), diff_view(normed), data_view(pooled), data_view(normed),
                     clt_at(net->scale[p], 0));
    traced(net, p ? "norm2 back" : "norm1 back");
    clt_pool_backward(d, &net->pool[p], n, diff_view(conv_out), diff_view(pooled), net->mask[p]);
    traced(net, p ? "pool2 back" : "pool1 back");
}

void clt_net_backward(clt_net *net, clt_device *d, int n, int lowest, uint64_t dropout_seed) {
    /* layer i needs its input gradient only while layers below it train: i > lowest */
    clt_softmax_loss_backward(d, n, net->ip[2].out, diff_view(&net->f8), clt_at(net->prob, 0), net->labels, 1.0f / n);
    traced(net, "loss back");
    fc_backward(net, d, 8, n, 8 > lowest, &net->f8, &net->f7);
    if (lowest >= 8) return;
    fc_activation_backward(net, d, 7, n, dropout_seed, &net->f7);
    fc_backward(net, d, 7, n, 7 > lowest, &net->f7, &net->f6);
    if (lowest >= 7) return;
    fc_activation_backward(net, d, 6, n, dropout_seed, &net->f6);
    fc_backward(net, d, 6, n, 6 > lowest, &net->f6, &net->f5);
    if (lowest >= 6) return;
    const clt_pool *p5 = &net->pool[2];
    clt_flatten_backward(d, p5->c, n, p5->ho * p5->wo, diff_view(&net->p5), diff_view(&net->f5));
    traced(net, "flatten back");
    clt_pool_backward(d, p5, n, diff_view(&net->c5), diff_view(&net->p5), net->mask[2]);
    traced(net, "pool5 back");
    conv_relu_backward(net, d, 5, n, 5 > lowest, &net->c5, &net->c4, diff_view(&net->c4));
    if (lowest >= 5) return;
    conv_relu_backward(net, d, 4, n, 4 > lowest, &net->c4, &net->c3, diff_view(&net->c3));
    if (lowest >= 4) return;
    conv_relu_backward(net, d, 3, n, 3 > lowest, &net->c3, &net->n2, diff_view(&net->n2));
    if (lowest >= 3) return;
    lrn_pool_backward(net, d, 1, n, &net->p2, &net->n2, &net->c2);
    conv_relu_backward(net, d, 2, n, 2 > lowest, &net->c2, &net->n1, diff_view(&net->n1));
    if (lowest >= 2) return;
    lrn_pool_backward(net, d, 0, n, &net->p1, &net->n1, &net->c1);
    conv_relu_backward(net, d, 1, n, false, &net->c1, &net->input, no_view());
}

void clt_net_accuracy(clt_net *net, clt_device *d, int n) {
    clt_accuracy(d, n, net->ip[2].out, net->correct1, net->correct5, data_view(&net->f8), net->labels);
}

int clt_net_blob_count(void) { return 2 * CLT_LAYERS; }

void clt_net_blob(const clt_net *net, int i, char *name, size_t name_len, size_t *off, size_t *count, int *layer) {
    int l = i / 2 + 1;
    const clt_layer_params *L = &net->layer[l];
    snprintf(name, name_len, "%s.%s", L->name, i % 2 ? "bias" : "weight");
    *off = i % 2 ? L->b_off : L->w_off;
    *count = i % 2 ? L->b_count : L->w_count;
    *layer = l;
}
