/* ref.h — plain-C float64 references of every layer in Caffe's own layout (NCHW, [n][features]),
   written for clarity, not speed. One file per layer in tests/ref/. Tests compare the device
   against these, and check device gradients against finite differences of them. */
#ifndef CLT_REF_H
#define CLT_REF_H

#include <stddef.h>
#include <stdint.h>

/* conv: in [n][c][h][w], weight [m][c/group][k][k], bias [m] → out [n][m][ho][wo] */
void ref_conv_forward(double *out, const double *in, const double *weight, const double *bias, int n, int c,
                      int h, int w, int m, int k, int stride, int pad, int group);
/* analytic backward (used by the network test; layer tests use finite differences) */
void ref_conv_backward(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                       const double *weight, int n, int c, int h, int w, int m, int k, int stride, int pad,
                       int group);

/* inner product: in [n][i], weight [o][i], bias [o] → out [n][o] */
void ref_ip_forward(double *out, const double *in, const double *weight, const double *bias, int n, int i, int o);
void ref_ip_backward(double *din, double *dweight, double *dbias, const double *dout, const double *in,
                     const double *weight, int n, int i, int o);

void ref_relu_forward(double *out, const double *in, size_t count);
void ref_relu_backward(double *din, const double *dout, const double *in, size_t count);

/* max pool, Caffe's rounded-up size: in [planes][h][w] → out [planes][ho][wo] */
void ref_pool_forward(double *out, const double *in, int planes, int h, int w, int k, int stride, int ho, int wo);
void ref_pool_backward(double *din, const double *dout, const double *in, int planes, int h, int w, int k,
                       int stride, int ho, int wo);

/* LRN across channels: in [n][c][h][w] */
void ref_lrn_forward(double *out, const double *in, int n, int c, int hw, int size, double alpha, double beta,
                     double k);
void ref_lrn_backward(double *din, const double *dout, const double *in, int n, int c, int hw, int size,
                      double alpha, double beta, double k);

/* dropout with the device's keep rule (clt_dropout_keep) */
void ref_dropout_forward(double *out, const double *in, size_t count, float p, uint64_t seed);
void ref_dropout_backward(double *din, const double *dout, size_t count, float p, uint64_t seed);

/* softmax + cross-entropy, mean over the batch: returns the mean loss, fills prob [n][classes] */
double ref_softmax_loss_forward(double *prob, const double *logits, const int *labels, int n, int classes);
void ref_softmax_loss_backward(double *dlogits, const double *prob, const int *labels, int n, int classes);

/* Caffe's top-k rule: correct when fewer than k other classes score >= the label's score */
int ref_topk_correct(const double *scores, int classes, int label, int k);

#endif
