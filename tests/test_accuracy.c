/* test_accuracy.c — top-1 / top-5 flags against the reference rule and against ranks planted by
   construction: ranks 0..7 of 1000 classes, ties (which count against), fewer than 5 classes, NaN
   scores, a label outside the classes, a scores view at an offset. Exact comparisons. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "ref.h"
#include "testutil.h"

enum { OFF = 5 };

/* Runs the device on scores [n][classes]; returns the flags for top-1 and top-5. */
static void run_device(const float *scores, const int *labels, int n, int classes, int *c1, int *c5) {
    clt_device *d = t_device();
    size_t count = (size_t)n * classes;
    float *pad = clt_calloc(count + OFF, sizeof(float));
    memcpy(pad + OFF, scores, count * sizeof(float));
    cl_mem bs = t_upload(pad, count + OFF), bl = t_upload_int(labels, n);
    cl_mem b1 = clt_alloc(d, n * sizeof(int), "correct1"), b5 = clt_alloc(d, n * sizeof(int), "correct5");
    clt_accuracy(d, n, classes, b1, b5, clt_at(bs, OFF), bl);
    clt_download(d, c1, b1, 0, n * sizeof(int));
    clt_download(d, c5, b5, 0, n * sizeof(int));
    clt_free(bs), clt_free(bl), clt_free(b1), clt_free(b5);
    free(pad);
}

/* Compares the device with ref_topk_correct and, where given, with expected flags. */
static void check(const char *what, const float *scores, const int *labels, int n, int classes, const int *want1,
                  const int *want5) {
    int *c1 = clt_malloc(n * sizeof(int)), *c5 = clt_malloc(n * sizeof(int));
    run_device(scores, labels, n, classes, c1, c5);
    double *row = clt_malloc(classes * sizeof(double));
    int ref_off = 0, want_off = 0, hits1 = 0, hits5 = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < classes; j++) row[j] = scores[(size_t)i * classes + j];
        if (c1[i] != ref_topk_correct(row, classes, labels[i], 1) ||
            c5[i] != ref_topk_correct(row, classes, labels[i], 5))
            ref_off++;
        if (want1 && (c1[i] != want1[i] || c5[i] != want5[i])) want_off++;
        hits1 += c1[i], hits5 += c5[i];
    }
    t_check(ref_off == 0, "accuracy %s n=%d classes=%d: device equals the reference (%d images differ; top-1 %d, "
            "top-5 %d)", what, n, classes, ref_off, hits1, hits5);
    if (want1)
        t_check(want_off == 0, "accuracy %s n=%d classes=%d: flags as constructed (%d images differ)", what, n,
                classes, want_off);
    free(c1), free(c5), free(row);
}

/* Image i gets its label at rank i % 8 among distinct random scores, so the flags are known. */
static void check_ranks(int n, int classes, int label_classes, uint64_t seed) {
    size_t count = (size_t)n * classes;
    float *s = clt_malloc(count * sizeof(float));
    int *labels = clt_malloc(n * sizeof(int)), *w1 = clt_malloc(n * sizeof(int)), *w5 = clt_malloc(n * sizeof(int));
    t_fill(s, count, seed, -10, 10);
    for (int i = 0; i < n; i++) {
        float *row = s + (size_t)i * classes;
        /* make the row distinct: the index breaks any coincidence in the low bits */
        for (int j = 0; j < classes; j++) row[j] = (float)(int)(row[j] * 1000) * classes + j;
        int rank = i % 8 < classes ? i % 8 : classes - 1, label = (i * 131 + 17) % label_classes;
        /* find the class at that rank and swap its score with the label's */
        int *order = clt_malloc(classes * sizeof(int));
        for (int j = 0; j < classes; j++) order[j] = j;
        for (int a = 0; a <= rank; a++)
            for (int b = a + 1; b < classes; b++)
                if (row[order[b]] > row[order[a]]) {
                    int t = order[a];
                    order[a] = order[b], order[b] = t;
                }
        float tmp = row[label];
        row[label] = row[order[rank]], row[order[rank]] = tmp;
        labels[i] = label;
        w1[i] = rank < 1;
        w5[i] = rank < 5;
        free(order);
    }
    char what[64];
    snprintf(what, sizeof what, "planted ranks 0..7 labels<%d", label_classes);
    check(what, s, labels, n, classes, w1, w5);
    free(s), free(labels), free(w1), free(w5);
}

int main(void) {
    check_ranks(40, 1000, 500, 1); /* CaffeNet exact replication */
    check_ranks(37, 10, 10, 2);    /* the small net */
    check_ranks(16, 257, 257, 3);  /* classes not a multiple of the work-group */

    /* ties count against: a tie at the top is not top-1; four classes tied above is not top-5 */
    {
        float s[] = {1, 1, 0, 0, 0, 0, 0, /**/ 2, 2, 2, 2, 2, 1, 0, /**/ 0, 0, 0, 0, 0, 0, 0, /**/ 3, 2, 2, 2, 2, 2, 9};
        int labels[] = {0, 4, 6, 1};
        int w1[] = {0, 0, 0, 0}, w5[] = {1, 1, 0, 0};
        check("ties", s, labels, 4, 7, w1, w5);
    }
    /* fewer than 5 classes: top-5 always holds for a valid label */
    {
        float s[] = {3, 2, 1, /**/ 1, 2, 3, /**/ 5, 5, 5};
        int labels[] = {2, 2, 1};
        int w1[] = {0, 1, 0}, w5[] = {1, 1, 1};
        check("3 classes", s, labels, 3, 3, w1, w5);
        float one[] = {-4, 7};
        int l1[] = {0, 0}, ones[] = {1, 1};
        check("1 class", one, l1, 2, 1, ones, ones);
    }
    /* NaN: a NaN label score is never correct; a NaN elsewhere beats nothing; a bad label is wrong */
    {
        float s[] = {NAN, 1, 2, /**/ 3, NAN, 1, /**/ 1, 2, 3, /**/ 1, 2, 3};
        int labels[] = {0, 0, 3, -1};
        int w1[] = {0, 1, 0, 0}, w5[] = {0, 1, 0, 0};
        check("NaN and bad labels", s, labels, 4, 3, w1, w5);
    }
    return t_done();
}
