/* solver.c — SGD update over the trainable part of the layer table. */
#include "net/solver.h"

#include <math.h>
#include <string.h>

double clt_solver_lr(const clt_config *c, int64_t iter) {
    if (!strcmp(c->lr_policy, "fixed")) return c->base_lr;
    return c->base_lr * pow(c->gamma, (double)(iter / c->stepsize));
}

void clt_solver_update(clt_net *net, clt_device *d, const clt_config *c, int64_t iter, int lowest) {
    float lr = (float)clt_solver_lr(c, iter), momentum = (float)c->momentum, decay = (float)c->weight_decay;
    bool lr_outside = !strcmp(c->momentum_form, "pytorch");
    for (int l = lowest; l <= CLT_LAYERS; l++) {
        const clt_layer_params *L = &net->layer[l];
        for (int bias = 0; bias < 2; bias++) {
            /* Caffe's lr_mult 2 and decay_mult 0 for biases */
            float rate = bias ? 2 * lr : lr;
            size_t count = bias ? L->b_count : L->w_count, off = bias ? L->b_off : L->w_off;
            CLT_LAUNCH_1D(d, "sgd_update", count, CLT_INT(count), CLT_MEM(net->params), CLT_INT(off),
                          CLT_MEM(net->grads), CLT_MEM(net->history), CLT_FLOAT(lr_outside ? 1.0f : rate),
                          CLT_FLOAT(lr_outside ? rate : 1.0f), CLT_FLOAT(bias ? 0.0f : decay), CLT_FLOAT(momentum));
        }
    }
}
