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
    for (int l = lowest; l <= CLT_LAYERS; l++) {
        const clt_layer_params *L = &net->layer[l];
        CLT_LAUNCH_1D(d, "sgd_update", L->w_count, CLT_INT(L->w_count), CLT_MEM(net->params), CLT_INT(L->w_off),
                      CLT_MEM(net->grads), CLT_MEM(net->history), CLT_FLOAT(lr), CLT_FLOAT(decay),
                      CLT_FLOAT(momentum));
        CLT_LAUNCH_1D(d, "sgd_update", L->b_count, CLT_INT(L->b_count), CLT_MEM(net->params), CLT_INT(L->b_off),
                      CLT_MEM(net->grads), CLT_MEM(net->history), CLT_FLOAT(2 * lr), CLT_FLOAT(0.0f),
                      CLT_FLOAT(momentum));
    }
}
