// softmax_loss.cl — softmax with cross-entropy loss, one work-group per image. The work-items stride
// over the classes (consecutive items, consecutive addresses) and combine through a fixed-shape tree
// in local memory, so a device always sums in the same order. The local size must be a power of two.

// Every work-item gets the group's max (op 0) or sum (op 1) of its `v`.
static inline float softmax_loss_reduce(__local float *red, float v, int op) {
    int t = get_local_id(0);
    red[t] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (t < s) red[t] = op == 0 ? fmax(red[t], red[t + s]) : red[t] + red[t + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = red[0];
    barrier(CLK_LOCAL_MEM_FENCE); // everyone has read red[0] before the next reduction reuses it
    return r;
}

// loss = −log(max(prob[label], FLT_MIN)) as Caffe, so a confident wrong answer costs at most ~87.3.
// A label outside 0 .. classes−1 gives a NaN loss, which the trainer's loss check will not miss.
__kernel void softmax_loss_forward(int classes, __global float *prob, int prob_off, __global float *loss,
                                   int loss_off, __global const float *logits, int logits_off,
                                   __global const int *labels, __local float *red) {
    int img = get_group_id(0), t = get_local_id(0), L = get_local_size(0);
    __global const float *x = logits + logits_off + img * classes;
    __global float *p = prob + prob_off + img * classes;
    int label = labels[img];

    float m = -INFINITY;
    for (int j = t; j < classes; j += L) m = fmax(m, x[j]);
    m = softmax_loss_reduce(red, m, 0);

    float sum = 0.0f;
    for (int j = t; j < classes; j += L) {
        float e = exp(x[j] - m);
        p[j] = e;
        sum += e;
    }
    sum = softmax_loss_reduce(red, sum, 1);

    for (int j = t; j < classes; j += L) {
        float q = p[j] / sum; // p[j] was written by this same work-item
        p[j] = q;
        if (j == label) loss[loss_off + img] = -log(fmax(q, FLT_MIN));
    }
    if (t == 0 && (label < 0 || label >= classes)) loss[loss_off + img] = NAN;
}

// dlogits = (prob − onehot(label))·scale, elementwise; dlogits may alias prob.
__kernel void softmax_loss_backward(int count, int classes, __global float *dlogits, int dlogits_off,
                                    __global const float *prob, int prob_off, __global const int *labels,
                                    float scale) {
    int i = get_global_id(0);
    if (i >= count) return;
    int img = i / classes, j = i - img * classes;
    float g = prob[prob_off + i];
    if (j == labels[img]) g -= 1.0f;
    dlogits[dlogits_off + i] = g * scale;
}
