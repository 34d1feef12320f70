/* test_net.c — whole networks: CaffeNet's blob shapes and parameter count, CaffeNet and the small
   net forward/backward against the float64 reference, backward stopping at the lowest trainable
   layer, and determinism (same inputs and seed, same bits). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"
#include "ref.h"
#include "ref_net.h"
#include "testutil.h"

static void check_shapes(void) {
    clt_device *d = t_device();
    clt_arch a;
    clt_arch_caffenet(&a);
    clt_net net;
    if (clt_net_create(&net, d, &a, 1) != 0) {
        t_check(false, "caffenet: create at batch 1");
        return;
    }
    struct { const char *name; int c, h, w, want_c, want_h, want_w; } shapes[] = {
        {"conv1", net.conv[0].m, net.conv[0].ho, net.conv[0].wo, 96, 55, 55},
        {"pool1", net.pool[0].c, net.pool[0].ho, net.pool[0].wo, 96, 27, 27},
        {"norm1", net.lrn[0].c, net.lrn[0].h, net.lrn[0].w, 96, 27, 27},
        {"conv2", net.conv[1].m, net.conv[1].ho, net.conv[1].wo, 256, 27, 27},
        {"pool2", net.pool[1].c, net.pool[1].ho, net.pool[1].wo, 256, 13, 13},
        {"norm2", net.lrn[1].c, net.lrn[1].h, net.lrn[1].w, 256, 13, 13},
        {"conv3", net.conv[2].m, net.conv[2].ho, net.conv[2].wo, 384, 13, 13},
        {"conv4", net.conv[3].m, net.conv[3].ho, net.conv[3].wo, 384, 13, 13},
        {"conv5", net.conv[4].m, net.conv[4].ho, net.conv[4].wo, 256, 13, 13},
        {"pool5", net.pool[2].c, net.pool[2].ho, net.pool[2].wo, 256, 6, 6},
        {"fc6", net.ip[0].out, 1, 1, 4096, 1, 1},
        {"fc7", net.ip[1].out, 1, 1, 4096, 1, 1},
        {"fc8", net.ip[2].out, 1, 1, 1000, 1, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        t_check(shapes[i].c == shapes[i].want_c && shapes[i].h == shapes[i].want_h && shapes[i].w == shapes[i].want_w,
                "caffenet blob %s is %dx%dx%d (want %dx%dx%d)", shapes[i].name, shapes[i].c, shapes[i].h, shapes[i].w,
                shapes[i].want_c, shapes[i].want_h, shapes[i].want_w);
    const size_t want_w[] = {0, 96 * 3 * 11 * 11, 256 * 48 * 5 * 5, 384 * 256 * 3 * 3, 384 * 192 * 3 * 3,
                             256 * 192 * 3 * 3, 4096 * 9216, 4096 * 4096, 1000 * 4096};
    for (int i = 1; i <= CLT_LAYERS; i++)
        t_check(net.layer[i].w_count == want_w[i], "caffenet %s weight count %zu (want %zu)", net.layer[i].name,
                net.layer[i].w_count, want_w[i]);
    t_check(net.param_count == 60965224, "caffenet parameter count %zu (want 60965224)", net.param_count);
    t_check(net.ip[0].in == 9216, "caffenet fc6 input %d (want 9216)", net.ip[0].in);
    clt_net_destroy(&net);

    clt_arch_small(&a);
    if (clt_net_create(&net, d, &a, 1) == 0) {
        t_check(net.lrn[0].h == 14 && net.lrn[1].h == 7 && net.pool[2].ho == 3 && net.ip[0].in == 64 * 9,
                "small net maps 28 -> %d -> %d -> %d, fc6 input %d (want 14, 7, 3, 576)", net.lrn[0].h,
                net.lrn[1].h, net.pool[2].ho, net.ip[0].in);
        clt_net_destroy(&net);
    }
}

/* Runs forward+backward on the device from the given parameters; returns grads (and logits/loss). */
static float *device_pass(clt_net *net, const float *params, const float *input_cnhw, const int *labels, int n,
                          int lowest, uint64_t seed, float **logits, float *loss_out, const float *grad_fill) {
    clt_device *d = t_device();
    clt_upload(d, net->params, 0, params, net->param_count * sizeof(float));
    if (grad_fill) clt_upload(d, net->grads, 0, grad_fill, net->param_count * sizeof(float));
    size_t in = (size_t)n * net->arch.in_c * net->arch.in_h * net->arch.in_w;
    clt_upload(d, net->input.data, 0, input_cnhw, in * sizeof(float));
    clt_upload(d, net->labels, 0, labels, n * sizeof(int));
    clt_net_forward(net, d, n, true, seed);
    clt_net_backward(net, d, n, lowest, seed);
    float *grads = clt_malloc(net->param_count * sizeof(float));
    clt_download(d, grads, net->grads, 0, net->param_count * sizeof(float));
    if (logits) {
        *logits = clt_malloc((size_t)n * net->ip[2].out * sizeof(float));
        clt_download(d, *logits, net->f8.data, 0, (size_t)n * net->ip[2].out * sizeof(float));
    }
    if (loss_out) {
        float *l = clt_malloc(n * sizeof(float));
        clt_download(d, l, net->loss, 0, n * sizeof(float));
        double s = 0;
        for (int i = 0; i < n; i++) s += l[i];
        *loss_out = (float)(s / n);
        free(l);
    }
    return grads;
}

/* Compares each parameter blob's gradient to the reference, scaled by the blob's largest value:
   float32 sums over thousands of terms lose relative precision on the small entries. */
static void compare_grads(const char *net_name, const clt_net *net, const float *got, const double *want,
                          int lowest, double rel) {
    for (int i = lowest; i <= CLT_LAYERS; i++) {
        const clt_layer_params *L = &net->layer[i];
        for (int b = 0; b < 2; b++) {
            size_t off = b ? L->b_off : L->w_off, count = b ? L->b_count : L->w_count;
            double scale = 0;
            for (size_t j = 0; j < count; j++) scale = fmax(scale, fabs(want[off + j]));
            char name[128];
            snprintf(name, sizeof name, "%s d%s.%s vs reference (scale %.2e)", net_name, L->name, b ? "bias" : "weight",
                     scale);
            t_close(name, got + off, want + off, count, rel * scale + 1e-30, rel);
        }
    }
}

static void check_against_reference(const char *name, clt_arch *a, int n, uint64_t seed, double rel) {
    clt_device *d = t_device();
    clt_net net;
    if (clt_net_create(&net, d, a, n) != 0) {
        t_check(false, "%s: create at batch %d", name, n);
        return;
    }
    clt_net_init_layers(&net, d, seed, 1, CLT_LAYERS);
    float *params = clt_malloc(net.param_count * sizeof(float));
    clt_download(d, params, net.params, 0, net.param_count * sizeof(float));
    size_t in = (size_t)n * a->in_c * a->in_h * a->in_w;
    float *x = clt_malloc(in * sizeof(float)), *x_cnhw = clt_malloc(in * sizeof(float));
    /* like a mean-subtracted image: values of tens, so activations are not all tiny */
    t_fill(x, in, seed + 7, -60, 60);
    t_nchw_to_cnhw(x_cnhw, x, n, a->in_c, a->in_h * a->in_w);
    int labels[8];
    for (int i = 0; i < n; i++) labels[i] = (int)((i * 7 + 3) % a->fc[2]);

    float *logits, loss;
    float *grads = device_pass(&net, params, x_cnhw, labels, n, 1, seed, &logits, &loss, NULL);

    double *pd = t_to_double(params, net.param_count), *xd = t_to_double(x, in);
    ref_net r;
    ref_net_init(&r, &net, n, pd, xd, labels);
    ref_net_forward(&r, true, seed);
    ref_net_backward(&r, true, seed);
    char label[128];
    double lscale = 0;
    size_t nl = (size_t)n * a->fc[2];
    for (size_t j = 0; j < nl; j++) lscale = fmax(lscale, fabs(r.f8[j]));
    snprintf(label, sizeof label, "%s batch %d fc8 logits vs reference", name, n);
    t_close(label, logits, r.f8, nl, rel * lscale, rel);
    snprintf(label, sizeof label, "%s batch %d loss vs reference", name, n);
    double want_loss = r.loss;
    t_close(label, &loss, &want_loss, 1, 1e-5, 1e-4);
    compare_grads(name, &net, grads, r.grads, 1, rel);
    ref_net_free(&r);
    free(pd), free(xd), free(grads), free(logits), free(params), free(x), free(x_cnhw);
    clt_net_destroy(&net);
}

static void check_lowest_and_determinism(void) {
    clt_device *d = t_device();
    clt_arch a;
    clt_arch_small(&a);
    a.fc[2] = 5;
    int n = 4;
    clt_net net;
    if (clt_net_create(&net, d, &a, n) != 0) {
        t_check(false, "small: create");
        return;
    }
    clt_net_init_layers(&net, d, 42, 1, CLT_LAYERS);
    float *params = clt_malloc(net.param_count * sizeof(float));
    clt_download(d, params, net.params, 0, net.param_count * sizeof(float));
    size_t in = (size_t)n * 28 * 28;
    float *x = clt_malloc(in * sizeof(float));
    t_fill(x, in, 99, -2, 2);
    int labels[4] = {0, 4, 2, 1};
    float *g1 = device_pass(&net, params, x, labels, n, 1, 5, NULL, NULL, NULL);
    float *g2 = device_pass(&net, params, x, labels, n, 1, 5, NULL, NULL, NULL);
    t_same_bits("small net: two forward/backward passes, same seed: gradients", g1, g2, net.param_count);

    /* lowest = 4: layers 1..3 are frozen; their gradient memory must be left alone */
    float *sentinel = clt_malloc(net.param_count * sizeof(float));
    for (size_t i = 0; i < net.param_count; i++) sentinel[i] = 12345.0f;
    float *g3 = device_pass(&net, params, x, labels, n, 4, 5, NULL, NULL, sentinel);
    size_t frozen_end = net.layer[4].w_off, touched = 0;
    for (size_t i = 0; i < frozen_end; i++) touched += g3[i] != 12345.0f;
    t_check(touched == 0, "small net backward with lowest=4 leaves layers 1..3 gradients alone (%zu touched)",
            touched);
    t_same_bits("small net backward with lowest=4: layers 4..8 gradients equal the full backward's",
                g3 + frozen_end, g1 + frozen_end, net.param_count - frozen_end);
    uint64_t other = 6;
    float *g4 = device_pass(&net, params, x, labels, n, 1, other, NULL, NULL, NULL);
    bool differs = memcmp(g4, g1, net.param_count * sizeof(float)) != 0;
    t_check(differs, "small net: another dropout seed gives other gradients");
    free(g1), free(g2), free(g3), free(g4), free(sentinel), free(params), free(x);
    clt_net_destroy(&net);
}

int main(void) {
    check_shapes();
    clt_arch a;
    clt_arch_small(&a);
    a.fc[2] = 5;
    check_against_reference("small", &a, 3, 11, 2e-3);
    clt_arch_caffenet(&a);
    check_against_reference("caffenet", &a, 2, 12, 5e-3);
    check_lowest_and_determinism();
    return t_done();
}
