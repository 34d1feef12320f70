/* softmax_loss.c — softmax with cross-entropy loss per image, one work-group per image. */
#include "layers/layers.h"

/* The largest power of two within the device's 1-D work-group size: the kernel's tree reduction
   halves the group. */
static size_t softmax_loss_group(const clt_device *d) { return clt_pow2_floor(d->wg1d); }

void clt_softmax_loss_forward(clt_device *d, int n, int classes, clt_view prob, clt_view loss, clt_view logits,
                              cl_mem labels) {
    size_t local = softmax_loss_group(d), global = (size_t)n * local;
    CLT_LAUNCH(d, "softmax_loss_forward", 1, &global, &local, CLT_INT(classes), CLT_VIEW(prob), CLT_VIEW(loss),
               CLT_VIEW(logits), CLT_MEM(labels), CLT_LOCAL(local * sizeof(cl_float)));
}

void clt_softmax_loss_backward(clt_device *d, int n, int classes, clt_view dlogits, clt_view prob, cl_mem labels,
                               float scale) {
    if (!dlogits.mem) return;
    size_t count = (size_t)n * classes;
    CLT_LAUNCH_1D(d, "softmax_loss_backward", count, CLT_INT(count), CLT_INT(classes), CLT_VIEW(dlogits),
                  CLT_VIEW(prob), CLT_MEM(labels), CLT_FLOAT(scale));
}
