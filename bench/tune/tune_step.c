/* tune_step.c — training steps of a net on synthetic data: what `cltransfer-bench train` times
   and what the tuner's last check times its choice on, so both train the same net the same way. */
#include <stdlib.h>

#include "net/config.h"
#include "net/net.h"
#include "net/solver.h"
#include "tune/tune.h"
#include "util/util.h"

int clt_synthetic_net(clt_net *net, clt_device *d, const clt_arch *arch, int batch) {
    if (clt_net_create(net, d, arch, batch) != 0) return -1;
    clt_net_init_layers(net, d, 1, 1, CLT_LAYERS);
    float *x = clt_malloc(net->input.count * sizeof(float));
    int *labels = clt_malloc((size_t)batch * sizeof(int));
    /* inputs of the scale a mean-subtracted image has, so activations and gradients are too */
    uint64_t s = 7;
    for (size_t i = 0; i < net->input.count; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((s >> 40) * (1.0 / (1 << 24)) * 100 - 50);
    }
    for (int i = 0; i < batch; i++) labels[i] = i % arch->fc[2];
    clt_upload(d, net->input.data, 0, x, net->input.count * sizeof(float));
    clt_upload(d, net->labels, 0, labels, (size_t)batch * sizeof(int));
    free(x);
    free(labels);
    if (clt_device_ok(d)) return 0;
    clt_net_destroy(net);
    return -1;
}

void clt_train_step(clt_net *net, clt_device *d, const clt_config *cfg, int64_t iter, int lowest) {
    clt_net_forward(net, d, net->batch, true, (uint64_t)iter);
    clt_net_backward(net, d, net->batch, lowest, (uint64_t)iter);
    clt_solver_update(net, d, cfg, iter, lowest);
}
