/* ref/softmax_loss.c — softmax + cross-entropy reference; loss floors prob at FLT_MIN as Caffe does. */
#include <float.h>
#include <math.h>

#include "../ref.h"

double ref_softmax_loss_forward(double *prob, const double *logits, const int *labels, int n, int classes) {
    double total = 0;
    for (int i = 0; i < n; i++) {
        const double *x = logits + (size_t)i * classes;
        double *p = prob + (size_t)i * classes;
        double m = x[0], sum = 0;
        for (int j = 1; j < classes; j++) m = x[j] > m ? x[j] : m;
        for (int j = 0; j < classes; j++) sum += p[j] = exp(x[j] - m);
        for (int j = 0; j < classes; j++) p[j] /= sum;
        total -= log(p[labels[i]] > FLT_MIN ? p[labels[i]] : FLT_MIN);
    }
    return total / n;
}

/* gradient of the batch-mean loss */
void ref_softmax_loss_backward(double *dlogits, const double *prob, const int *labels, int n, int classes) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < classes; j++) {
            size_t o = (size_t)i * classes + j;
            dlogits[o] = (prob[o] - (j == labels[i])) / n;
        }
}
