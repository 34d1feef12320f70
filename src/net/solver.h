/* solver.h — the study's solver: SGD with momentum, weight decay on weights only, lr multipliers
   1 for weights and 2 for biases, and the step learning-rate policy. */
#ifndef CLT_SOLVER_H
#define CLT_SOLVER_H

#include <stdint.h>

#include "net/config.h"
#include "net/net.h"

/* base_lr · gamma^floor(iter / stepsize) for the step policy, base_lr for fixed. */
double clt_solver_lr(const clt_config *c, int64_t iter);
/* Updates layers lowest..8 from net->grads; layers below `lowest` are frozen: no update and no
   weight decay, so they stay bit-identical. */
void clt_solver_update(clt_net *net, clt_device *d, const clt_config *c, int64_t iter, int lowest);

#endif
