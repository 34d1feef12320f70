/* accuracy.c — top-1 / top-5 correctness flags per image (Caffe's rule); the caller sums them. */
#include "layers/layers.h"

/* The largest power of two within the device's 1-D work-group size: the kernel's tree reduction
   halves the group. */
static size_t accuracy_group(const clt_device *d) { return clt_pow2_floor(d->wg1d); }

void clt_accuracy(clt_device *d, int n, int classes, cl_mem correct1, cl_mem correct5, clt_view scores,
                  cl_mem labels) {
    size_t local = accuracy_group(d), global = (size_t)n * local;
    CLT_LAUNCH(d, "accuracy_topk", 1, &global, &local, CLT_INT(classes), CLT_MEM(correct1), CLT_MEM(correct5),
               CLT_VIEW(scores), CLT_MEM(labels), CLT_LOCAL(local * sizeof(cl_int)));
}
