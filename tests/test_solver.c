/* test_solver.c — the SGD update in both momentum forms against a float64 reference over steps that
   cross an lr drop: weights with decay, biases at twice the lr without it, frozen layers untouched. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/config.h"
#include "net/net.h"
#include "net/solver.h"
#include "testutil.h"

enum { STEPS = 6, STEPSIZE = 3 };
static const double BASE_LR = 0.05, GAMMA = 0.1, MOMENTUM = 0.9, DECAY = 0.01;

/* One parameter's trajectory: Caffe's h = m·h + lr·g, w −= h, or PyTorch's h = m·h + g, w −= lr·h. */
static void reference(double *w, double *h, const double *grad, double lr, double decay, double momentum,
                      bool pytorch) {
    double g = *grad + decay * *w;
    *h = momentum * *h + (pytorch ? g : lr * g);
    *w -= pytorch ? lr * *h : *h;
}

/* Runs STEPS updates of a small net's parameters from fixed gradients (the lr drops after step 3)
   with layers below `lowest` frozen; returns the final parameters. */
static float *run(const char *form, int lowest, const float *start, const float *grads, clt_net *net) {
    clt_device *d = t_device();
    clt_config c;
    clt_config_defaults(&c);
    snprintf(c.momentum_form, sizeof c.momentum_form, "%s", form);
    c.base_lr = BASE_LR, c.momentum = MOMENTUM, c.weight_decay = DECAY, c.gamma = GAMMA, c.stepsize = STEPSIZE;
    size_t bytes = net->param_count * sizeof(float);
    clt_upload(d, net->params, 0, start, bytes);
    clt_upload(d, net->grads, 0, grads, bytes);
    float *zero = clt_calloc(net->param_count, sizeof(float));
    clt_upload(d, net->history, 0, zero, bytes);
    free(zero);
    for (int it = 0; it < STEPS; it++) clt_solver_update(net, d, &c, it, lowest);
    float *out = clt_malloc(bytes);
    clt_download(d, out, net->params, 0, bytes);
    return out;
}

static double *expected(const clt_net *net, const float *start, const float *grads, int lowest, bool pytorch) {
    size_t n = net->param_count;
    double *w = clt_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) w[i] = start[i];
    for (int l = lowest; l <= CLT_LAYERS; l++) {
        const clt_layer_params *L = &net->layer[l];
        for (int part = 0; part < 2; part++) {
            size_t off = part ? L->b_off : L->w_off, count = part ? L->b_count : L->w_count;
            for (size_t i = off; i < off + count; i++) {
                double h = 0, g = grads[i];
                for (int it = 0; it < STEPS; it++) {
                    double lr = BASE_LR * pow(GAMMA, it / STEPSIZE);
                    reference(&w[i], &h, &g, part ? 2 * lr : lr, part ? 0 : DECAY, MOMENTUM, pytorch);
                }
            }
        }
    }
    return w;
}

int main(void) {
    clt_device *d = t_device();
    clt_arch a;
    clt_arch_small(&a);
    a.fc[2] = 5;
    clt_net net;
    if (clt_net_create(&net, d, &a, 1) != 0) {
        t_check(false, "small net: create");
        return t_done();
    }
    size_t n = net.param_count;
    float *start = clt_malloc(n * sizeof(float)), *grads = clt_malloc(n * sizeof(float));
    t_fill(start, n, 7, -0.5f, 0.5f);
    t_fill(grads, n, 8, -1, 1);
    const int lowest[] = {1, 4};
    for (int k = 0; k < 2; k++) {
        float *caffe = run("caffe", lowest[k], start, grads, &net);
        float *torch = run("pytorch", lowest[k], start, grads, &net);
        double *want_caffe = expected(&net, start, grads, lowest[k], false);
        double *want_torch = expected(&net, start, grads, lowest[k], true);
        char name[128];
        snprintf(name, sizeof name, "caffe form, 6 steps across an lr drop, layers %d..8 trained", lowest[k]);
        t_close(name, caffe, want_caffe, n, 1e-6, 1e-5);
        snprintf(name, sizeof name, "pytorch form, 6 steps across an lr drop, layers %d..8 trained", lowest[k]);
        t_close(name, torch, want_torch, n, 1e-6, 1e-5);
        /* after the drop the two forms part: Caffe's history still carries steps at the old lr */
        size_t differ = 0, frozen_moved = 0, frozen_end = net.layer[lowest[k]].w_off;
        for (size_t i = 0; i < n; i++) differ += fabsf(caffe[i] - torch[i]) > 1e-4f;
        for (size_t i = 0; i < frozen_end; i++) frozen_moved += caffe[i] != start[i] || torch[i] != start[i];
        t_check(differ > (n - frozen_end) / 2, "the two forms differ after the lr drop (%zu of %zu parameters)", differ,
                n - frozen_end);
        t_check(frozen_moved == 0, "layers below %d untouched in both forms (%zu moved)", lowest[k], frozen_moved);
        free(caffe), free(torch), free(want_caffe), free(want_torch);
    }
    free(start), free(grads);
    clt_net_destroy(&net);
    return t_done();
}
