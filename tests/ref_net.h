/* ref_net.h — the whole network in float64 NCHW, composed from the layer references, for the
   network-level test. */
#ifndef CLT_REF_NET_H
#define CLT_REF_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"

typedef struct ref_net {
    const clt_net *shape; /* the device net whose arch and layer table this mirrors */
    int n;
    double *params, *grads; /* same layout as the device parameter buffer */
    /* activations, NCHW / [n][features] */
    double *x, *c1, *r1, *p1, *n1, *c2, *r2, *p2, *n2, *c3, *r3, *c4, *r4, *c5, *r5, *p5;
    double *f6, *r6, *d6, *f7, *r7, *d7, *f8, *prob;
    int *labels;
    double loss;
} ref_net;

void ref_net_init(ref_net *r, const clt_net *shape, int n, const double *params, const double *input_nchw,
                  const int *labels);
void ref_net_free(ref_net *r);
void ref_net_forward(ref_net *r, bool train, uint64_t dropout_seed);
/* Gradients of the mean loss for every layer into r->grads. */
void ref_net_backward(ref_net *r, bool train, uint64_t dropout_seed);

#endif
