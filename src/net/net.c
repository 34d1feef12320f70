/* net.c — CaffeNet and its small variant as one table of eight weight layers: shapes, buffers,
   initialisation, forward and backward. */
#include "net/net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Output side of a Caffe max pool without padding: rounded up. */
static int pool_out(int in, int k, int s) {
    int out = (in - k + s - 1) / s + 1;
    return out < 1 ? 0 : out;
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
        int ho = (h + 2 * s->pad - s->k) / s->stride + 1, wo = (w + 2 * s->pad - s->k) / s->stride + 1;
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
            h = pool_out(h, a->pool_k, a->pool_stride), w = pool_out(w, a->pool_k, a->pool_stride);
            if (pi < 2 && net) net->lrn[pi] = (clt_lrn){c, h, w, a->lrn_size, a->lrn_alpha, a->lrn_beta, a->lrn_k};
        }
    }
    int in = c * h * w;
    for (int i = 0; i < 3; i++) {
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
   else as many images as fit (at least one), because larger GEMMs run faster there. On a CPU: about
   an eighth of the device's cache (at least one image of the largest layer), so that each chunk's
   columns are still in cache when the GEMM reads them and dcol when col2im gathers it; on this
   project's 2-core EPYC (32 MiB L3) that trains the small net about a quarter faster than one
   batch-wide matrix (bench/RESULTS.md, session "speed-layers"). */
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
        budget = CLT_MIN(budget, CLT_MAX(per_image, (size_t)(cache / 8 / sizeof(float))));
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

int clt_net_create(clt_net *net, clt_device *d, const clt_arch *arch, int batch) {
    memset(net, 0, sizeof *net);
    if (clt_arch_check(arch) != 0) return -1;
    net->arch = *arch;
    net->batch = batch;
    shapes(arch, net);

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

static uint64_t splitmix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Standard normal by Box–Muller in double, so the values are the same on every host. */
static double gaussian(uint64_t *s) {
    double u1 = ((splitmix64(s) >> 11) + 1) * (1.0 / 9007199254740993.0);
    double u2 = (splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
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

#define TRACE(op) \
    if (net->trace) net->trace(net->trace_ctx, op)

static clt_view P(const clt_net *net, size_t off) { return clt_at(net->params, off); }
static clt_view G(const clt_net *net, size_t off) { return clt_at(net->grads, off); }
static clt_view D(const clt_blob *b) { return clt_at(b->data, 0); }
static clt_view DD(const clt_blob *b) { return clt_at(b->diff, 0); }
static clt_view NONE(void) { return clt_at(NULL, 0); }

uint64_t clt_net_dropout_seed(uint64_t seed, int layer) { return seed * 31 + (uint64_t)layer; }

static size_t per_image(const clt_blob *b, const clt_net *net) { return b->count / net->batch; }

void clt_net_forward(clt_net *net, clt_device *d, int n, bool train, uint64_t dropout_seed) {
    const clt_layer_params *L = net->layer;
    clt_view col = clt_at(net->col, 0);
    size_t cf = net->col_floats;
#define CONV(i, out, in)                                                                                  \
    clt_conv_forward(d, &net->conv[i - 1], n, D(out), D(in), P(net, L[i].w_off), P(net, L[i].b_off), col,  \
                     cf);                                                                                 \
    TRACE("conv" #i);                                                                                     \
    clt_relu_forward(d, n * per_image(out, net), D(out), D(out));                                         \
    TRACE("relu" #i)

    CONV(1, &net->c1, &net->input);
    clt_pool_forward(d, &net->pool[0], n, D(&net->p1), D(&net->c1), net->mask[0]);
    TRACE("pool1");
    clt_lrn_forward(d, &net->lrn[0], n, D(&net->n1), D(&net->p1), clt_at(net->scale[0], 0));
    TRACE("norm1");
    CONV(2, &net->c2, &net->n1);
    clt_pool_forward(d, &net->pool[1], n, D(&net->p2), D(&net->c2), net->mask[1]);
    TRACE("pool2");
    clt_lrn_forward(d, &net->lrn[1], n, D(&net->n2), D(&net->p2), clt_at(net->scale[1], 0));
    TRACE("norm2");
    CONV(3, &net->c3, &net->n2);
    CONV(4, &net->c4, &net->c3);
    CONV(5, &net->c5, &net->c4);
#undef CONV
    clt_pool_forward(d, &net->pool[2], n, D(&net->p5), D(&net->c5), net->mask[2]);
    TRACE("pool5");
    const clt_pool *p5 = &net->pool[2];
    clt_flatten_forward(d, p5->c, n, p5->ho * p5->wo, D(&net->f5), D(&net->p5));
    TRACE("flatten");

    bool drop = train && net->arch.dropout > 0;
    clt_ip_forward(d, &net->ip[0], n, D(&net->f6), D(&net->f5), P(net, L[6].w_off), P(net, L[6].b_off));
    TRACE("fc6");
    clt_relu_forward(d, (size_t)n * net->ip[0].out, D(&net->f6), D(&net->f6));
    TRACE("relu6");
    if (drop) {
        clt_dropout_forward(d, (size_t)n * net->ip[0].out, D(&net->f6), D(&net->f6), net->arch.dropout,
                            clt_net_dropout_seed(dropout_seed, 6));
        TRACE("drop6");
    }
    clt_ip_forward(d, &net->ip[1], n, D(&net->f7), D(&net->f6), P(net, L[7].w_off), P(net, L[7].b_off));
    TRACE("fc7");
    clt_relu_forward(d, (size_t)n * net->ip[1].out, D(&net->f7), D(&net->f7));
    TRACE("relu7");
    if (drop) {
        clt_dropout_forward(d, (size_t)n * net->ip[1].out, D(&net->f7), D(&net->f7), net->arch.dropout,
                            clt_net_dropout_seed(dropout_seed, 7));
        TRACE("drop7");
    }
    clt_ip_forward(d, &net->ip[2], n, D(&net->f8), D(&net->f7), P(net, L[8].w_off), P(net, L[8].b_off));
    TRACE("fc8");
    clt_softmax_loss_forward(d, n, net->ip[2].out, clt_at(net->prob, 0), clt_at(net->loss, 0), D(&net->f8),
                             net->labels);
    TRACE("loss");
}

void clt_net_backward(clt_net *net, clt_device *d, int n, int lowest, uint64_t dropout_seed) {
    const clt_layer_params *L = net->layer;
    clt_view col = clt_at(net->col, 0);
    size_t cf = net->col_floats;
    float p = net->arch.dropout;
    bool drop = p > 0;
    /* The input gradient of layer i is needed only while layers below it train. */
#define NEED(i) ((i) > lowest)
#define IP_BACK(i, out, in, din)                                                                            \
    clt_ip_backward(d, &net->ip[i - 6], n, NEED(i) ? (din) : NONE(), G(net, L[i].w_off), G(net, L[i].b_off), \
                    DD(out), D(in), P(net, L[i].w_off));                                                     \
    TRACE("fc" #i " back")
#define FC_ACT_BACK(i, blob)                                                                                 \
    do {                                                                                                     \
        size_t count = (size_t)n * net->ip[i - 6].out;                                                       \
        if (drop) {                                                                                          \
            clt_dropout_backward(d, count, DD(blob), DD(blob), p, clt_net_dropout_seed(dropout_seed, i));    \
            TRACE("drop" #i " back");                                                                        \
        }                                                                                                    \
        clt_relu_backward(d, count, DD(blob), DD(blob), D(blob));                                            \
        TRACE("relu" #i " back");                                                                            \
    } while (0)
#define CONV_BACK(i, out, in, din_view)                                                                      \
    clt_relu_backward(d, n * per_image(out, net), DD(out), DD(out), D(out));                                 \
    TRACE("relu" #i " back");                                                                                \
    clt_conv_backward(d, &net->conv[i - 1], n, NEED(i) ? (din_view) : NONE(), G(net, L[i].w_off),            \
                      G(net, L[i].b_off), DD(out), D(in), P(net, L[i].w_off), col, cf);                      \
    TRACE("conv" #i " back")

    clt_softmax_loss_backward(d, n, net->ip[2].out, DD(&net->f8), clt_at(net->prob, 0), net->labels, 1.0f / n);
    TRACE("loss back");
    IP_BACK(8, &net->f8, &net->f7, DD(&net->f7));
    if (!NEED(8)) return;
    FC_ACT_BACK(7, &net->f7);
    IP_BACK(7, &net->f7, &net->f6, DD(&net->f6));
    if (!NEED(7)) return;
    FC_ACT_BACK(6, &net->f6);
    IP_BACK(6, &net->f6, &net->f5, DD(&net->f5));
    if (!NEED(6)) return;
    const clt_pool *p5 = &net->pool[2];
    clt_flatten_backward(d, p5->c, n, p5->ho * p5->wo, DD(&net->p5), DD(&net->f5));
    TRACE("flatten back");
    clt_pool_backward(d, p5, n, DD(&net->c5), DD(&net->p5), net->mask[2]);
    TRACE("pool5 back");
    CONV_BACK(5, &net->c5, &net->c4, DD(&net->c4));
    if (!NEED(5)) return;
    CONV_BACK(4, &net->c4, &net->c3, DD(&net->c3));
    if (!NEED(4)) return;
    CONV_BACK(3, &net->c3, &net->n2, DD(&net->n2));
    if (!NEED(3)) return;
    clt_lrn_backward(d, &net->lrn[1], n, DD(&net->p2), DD(&net->n2), D(&net->p2), D(&net->n2),
                     clt_at(net->scale[1], 0));
    TRACE("norm2 back");
    clt_pool_backward(d, &net->pool[1], n, DD(&net->c2), DD(&net->p2), net->mask[1]);
    TRACE("pool2 back");
    CONV_BACK(2, &net->c2, &net->n1, DD(&net->n1));
    if (!NEED(2)) return;
    clt_lrn_backward(d, &net->lrn[0], n, DD(&net->p1), DD(&net->n1), D(&net->p1), D(&net->n1),
                     clt_at(net->scale[0], 0));
    TRACE("norm1 back");
    clt_pool_backward(d, &net->pool[0], n, DD(&net->c1), DD(&net->p1), net->mask[0]);
    TRACE("pool1 back");
    CONV_BACK(1, &net->c1, &net->input, NONE());
#undef CONV_BACK
#undef FC_ACT_BACK
#undef IP_BACK
#undef NEED
}

void clt_net_accuracy(clt_net *net, clt_device *d, int n) {
    clt_accuracy(d, n, net->ip[2].out, net->correct1, net->correct5, D(&net->f8), net->labels);
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
