// accuracy.cl — top-1 / top-5 flags per image by Caffe's rule, one work-group per image: the
// work-items stride over the classes and add their counts in a tree in local memory (power-of-two
// local size).

// A class beats the label when it scores at least as high (ties count against). A NaN label score is
// never correct (Caffe would count it correct, as nothing compares >= NaN); nor is a label outside the
// classes.
__kernel void accuracy_topk(int classes, __global int *correct1, __global int *correct5,
                            __global const float *scores, int scores_off, __global const int *labels,
                            __local int *red) {
    int img = get_group_id(0), t = get_local_id(0), L = get_local_size(0);
    __global const float *s = scores + scores_off + img * classes;
    int label = labels[img];
    bool valid = label >= 0 && label < classes;
    float mine = valid ? s[label] : 0.0f;
    int better = 0;
    for (int j = t; j < classes; j += L) better += j != label && s[j] >= mine;
    red[t] = better;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = L / 2; h > 0; h >>= 1) {
        if (t < h) red[t] += red[t + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) {
        bool ok = valid && !isnan(mine);
        correct1[img] = ok && red[0] < 1;
        correct5[img] = ok && red[0] < 5; // with fewer than 5 classes, always (red[0] ≤ classes − 1)
    }
}
