/* ref/net.c — the network in float64 NCHW from the layer references, mirroring src/net/net.c. */
#include <stdlib.h>
#include <string.h>

#include "../ref.h"
#include "../ref_net.h"

static double *zeros(size_t n) { return calloc(n ? n : 1, sizeof(double)); }

static size_t conv_out(const clt_conv *c, int n) { return (size_t)n * c->m * c->ho * c->wo; }
static size_t pool_out(const clt_pool *p, int n) { return (size_t)n * p->c * p->ho * p->wo; }

void ref_net_init(ref_net *r, const clt_net *s, int n, const double *params, const double *input_nchw,
                  const int *labels) {
    memset(r, 0, sizeof *r);
    r->shape = s;
    r->n = n;
    r->params = zeros(s->param_count);
    memcpy(r->params, params, s->param_count * sizeof(double));
    r->grads = zeros(s->param_count);
    size_t in = (size_t)n * s->arch.in_c * s->arch.in_h * s->arch.in_w;
    r->x = zeros(in);
    memcpy(r->x, input_nchw, in * sizeof(double));
    r->c1 = zeros(conv_out(&s->conv[0], n)), r->r1 = zeros(conv_out(&s->conv[0], n));
    r->p1 = zeros(pool_out(&s->pool[0], n)), r->n1 = zeros(pool_out(&s->pool[0], n));
    r->c2 = zeros(conv_out(&s->conv[1], n)), r->r2 = zeros(conv_out(&s->conv[1], n));
    r->p2 = zeros(pool_out(&s->pool[1], n)), r->n2 = zeros(pool_out(&s->pool[1], n));
    r->c3 = zeros(conv_out(&s->conv[2], n)), r->r3 = zeros(conv_out(&s->conv[2], n));
    r->c4 = zeros(conv_out(&s->conv[3], n)), r->r4 = zeros(conv_out(&s->conv[3], n));
    r->c5 = zeros(conv_out(&s->conv[4], n)), r->r5 = zeros(conv_out(&s->conv[4], n));
    r->p5 = zeros(pool_out(&s->pool[2], n));
    for (int i = 0; i < 3; i++) {
        size_t c = (size_t)n * s->ip[i].out;
        double **f = i == 0 ? &r->f6 : i == 1 ? &r->f7 : &r->f8;
        *f = zeros(c);
        if (i < 2) {
            *(i == 0 ? &r->r6 : &r->r7) = zeros(c);
            *(i == 0 ? &r->d6 : &r->d7) = zeros(c);
        }
    }
    r->prob = zeros((size_t)n * s->ip[2].out);
    r->labels = malloc(n * sizeof(int));
    memcpy(r->labels, labels, n * sizeof(int));
}

void ref_net_free(ref_net *r) {
    double *all[] = {r->params, r->grads, r->x, r->c1, r->r1, r->p1, r->n1, r->c2, r->r2, r->p2, r->n2, r->c3,
                     r->r3, r->c4, r->r4, r->c5, r->r5, r->p5, r->f6, r->r6, r->d6, r->f7, r->r7, r->d7,
                     r->f8, r->prob};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
    free(r->labels);
}

#define W(i) (r->params + s->layer[i].w_off)
#define B(i) (r->params + s->layer[i].b_off)
#define GW(i) (r->grads + s->layer[i].w_off)
#define GB(i) (r->grads + s->layer[i].b_off)

static void conv_fwd(ref_net *r, int i, double *out, const double *in) {
    const clt_net *s = r->shape;
    const clt_conv *c = &s->conv[i - 1];
    ref_conv_forward(out, in, W(i), B(i), r->n, c->c, c->h, c->w, c->m, c->k, c->stride, c->pad, c->group);
}

static void pool_fwd(ref_net *r, int i, double *out, const double *in) {
    const clt_pool *p = &r->shape->pool[i];
    ref_pool_forward(out, in, r->n * p->c, p->h, p->w, p->k, p->stride, p->ho, p->wo);
}

static void lrn_fwd(ref_net *r, int i, double *out, const double *in) {
    const clt_lrn *l = &r->shape->lrn[i];
    ref_lrn_forward(out, in, r->n, l->c, l->h * l->w, l->size, l->alpha, l->beta, l->k);
}

void ref_net_forward(ref_net *r, bool train, uint64_t seed) {
    const clt_net *s = r->shape;
    int n = r->n;
    const clt_conv *cv = s->conv;
    conv_fwd(r, 1, r->c1, r->x);
    ref_relu_forward(r->r1, r->c1, conv_out(&cv[0], n));
    pool_fwd(r, 0, r->p1, r->r1);
    lrn_fwd(r, 0, r->n1, r->p1);
    conv_fwd(r, 2, r->c2, r->n1);
    ref_relu_forward(r->r2, r->c2, conv_out(&cv[1], n));
    pool_fwd(r, 1, r->p2, r->r2);
    lrn_fwd(r, 1, r->n2, r->p2);
    conv_fwd(r, 3, r->c3, r->n2);
    ref_relu_forward(r->r3, r->c3, conv_out(&cv[2], n));
    conv_fwd(r, 4, r->c4, r->r3);
    ref_relu_forward(r->r4, r->c4, conv_out(&cv[3], n));
    conv_fwd(r, 5, r->c5, r->r4);
    ref_relu_forward(r->r5, r->c5, conv_out(&cv[4], n));
    pool_fwd(r, 2, r->p5, r->r5);
    /* NCHW pool5 is already fc6's [n][c·h·w] input */
    const clt_ip *ip = s->ip;
    float p = s->arch.dropout;
    ref_ip_forward(r->f6, r->p5, W(6), B(6), n, ip[0].in, ip[0].out);
    ref_relu_forward(r->r6, r->f6, (size_t)n * ip[0].out);
    if (train && p > 0)
        ref_dropout_forward(r->d6, r->r6, (size_t)n * ip[0].out, p, clt_net_dropout_seed(seed, 6));
    else
        memcpy(r->d6, r->r6, (size_t)n * ip[0].out * sizeof(double));
    ref_ip_forward(r->f7, r->d6, W(7), B(7), n, ip[1].in, ip[1].out);
    ref_relu_forward(r->r7, r->f7, (size_t)n * ip[1].out);
    if (train && p > 0)
        ref_dropout_forward(r->d7, r->r7, (size_t)n * ip[1].out, p, clt_net_dropout_seed(seed, 7));
    else
        memcpy(r->d7, r->r7, (size_t)n * ip[1].out * sizeof(double));
    ref_ip_forward(r->f8, r->d7, W(8), B(8), n, ip[2].in, ip[2].out);
    r->loss = ref_softmax_loss_forward(r->prob, r->f8, r->labels, n, ip[2].out);
}

static void conv_bwd(ref_net *r, int i, double *din, const double *dout, const double *in) {
    const clt_net *s = r->shape;
    const clt_conv *c = &s->conv[i - 1];
    ref_conv_backward(din, GW(i), GB(i), dout, in, W(i), r->n, c->c, c->h, c->w, c->m, c->k, c->stride, c->pad,
                      c->group);
}

void ref_net_backward(ref_net *r, bool train, uint64_t seed) {
    const clt_net *s = r->shape;
    int n = r->n;
    const clt_ip *ip = s->ip;
    const clt_conv *cv = s->conv;
    float p = s->arch.dropout;
    size_t c6 = (size_t)n * ip[0].out, c7 = (size_t)n * ip[1].out, c8 = (size_t)n * ip[2].out;
    double *d8 = zeros(c8), *dd7 = zeros(c7), *dr7 = zeros(c7), *df7 = zeros(c7);
    double *dd6 = zeros(c6), *dr6 = zeros(c6), *df6 = zeros(c6);
    ref_softmax_loss_backward(d8, r->prob, r->labels, n, ip[2].out);
    ref_ip_backward(dd7, GW(8), GB(8), d8, r->d7, W(8), n, ip[2].in, ip[2].out);
    if (train && p > 0)
        ref_dropout_backward(dr7, dd7, c7, p, clt_net_dropout_seed(seed, 7));
    else
        memcpy(dr7, dd7, c7 * sizeof(double));
    ref_relu_backward(df7, dr7, r->f7, c7);
    ref_ip_backward(dd6, GW(7), GB(7), df7, r->d6, W(7), n, ip[1].in, ip[1].out);
    if (train && p > 0)
        ref_dropout_backward(dr6, dd6, c6, p, clt_net_dropout_seed(seed, 6));
    else
        memcpy(dr6, dd6, c6 * sizeof(double));
    ref_relu_backward(df6, dr6, r->f6, c6);
    size_t cp5 = pool_out(&s->pool[2], n);
    double *dp5 = zeros(cp5);
    ref_ip_backward(dp5, GW(6), GB(6), df6, r->p5, W(6), n, ip[0].in, ip[0].out);

    size_t k5 = conv_out(&cv[4], n), k4 = conv_out(&cv[3], n), k3 = conv_out(&cv[2], n);
    size_t k2 = conv_out(&cv[1], n), k1 = conv_out(&cv[0], n);
    size_t q2 = pool_out(&s->pool[1], n), q1 = pool_out(&s->pool[0], n);
    double *dr5 = zeros(k5), *dc5 = zeros(k5), *dr4 = zeros(k4), *dc4 = zeros(k4), *dr3 = zeros(k3),
           *dc3 = zeros(k3), *dn2 = zeros(q2), *dp2 = zeros(q2), *dr2 = zeros(k2), *dc2 = zeros(k2),
           *dn1 = zeros(q1), *dp1 = zeros(q1), *dr1 = zeros(k1), *dc1 = zeros(k1);
    const clt_pool *pl = s->pool;
    const clt_lrn *lr = s->lrn;
    ref_pool_backward(dr5, dp5, r->r5, n * pl[2].c, pl[2].h, pl[2].w, pl[2].k, pl[2].stride, pl[2].ho, pl[2].wo);
    ref_relu_backward(dc5, dr5, r->c5, k5);
    conv_bwd(r, 5, dr4, dc5, r->r4);
    ref_relu_backward(dc4, dr4, r->c4, k4);
    conv_bwd(r, 4, dr3, dc4, r->r3);
    ref_relu_backward(dc3, dr3, r->c3, k3);
    conv_bwd(r, 3, dn2, dc3, r->n2);
    ref_lrn_backward(dp2, dn2, r->p2, n, lr[1].c, lr[1].h * lr[1].w, lr[1].size, lr[1].alpha, lr[1].beta, lr[1].k);
    ref_pool_backward(dr2, dp2, r->r2, n * pl[1].c, pl[1].h, pl[1].w, pl[1].k, pl[1].stride, pl[1].ho, pl[1].wo);
    ref_relu_backward(dc2, dr2, r->c2, k2);
    conv_bwd(r, 2, dn1, dc2, r->n1);
    ref_lrn_backward(dp1, dn1, r->p1, n, lr[0].c, lr[0].h * lr[0].w, lr[0].size, lr[0].alpha, lr[0].beta, lr[0].k);
    ref_pool_backward(dr1, dp1, r->r1, n * pl[0].c, pl[0].h, pl[0].w, pl[0].k, pl[0].stride, pl[0].ho, pl[0].wo);
    ref_relu_backward(dc1, dr1, r->c1, k1);
    double *dx = zeros((size_t)n * s->arch.in_c * s->arch.in_h * s->arch.in_w);
    conv_bwd(r, 1, dx, dc1, r->x);
    double *all[] = {d8, dd7, dr7, df7, dd6, dr6, df6, dp5, dr5, dc5, dr4, dc4, dr3, dc3,
                     dn2, dp2, dr2, dc2, dn1, dp1, dr1, dc1, dx};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}
