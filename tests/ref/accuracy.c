/* ref/accuracy.c — Caffe's top-k rule: correct when fewer than k other classes score at least as high
   as the label (ties count against); a NaN label score is not correct. */
#include <math.h>

#include "../ref.h"

int ref_topk_correct(const double *scores, int classes, int label, int k) {
    if (label < 0 || label >= classes || isnan(scores[label])) return 0;
    int better = 0;
    for (int j = 0; j < classes; j++) better += j != label && scores[j] >= scores[label];
    return better < k;
}
