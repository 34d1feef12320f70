// sgd.cl — Caffe's SGD with momentum on one parameter blob.

// g = grad + decay·w;  h = momentum·h + lr·g;  w -= h
__kernel void sgd_update(int n, __global float *param, int off, __global const float *grad,
                         __global float *history, float lr, float decay, float momentum) {
    int i = get_global_id(0);
    if (i >= n) return;
    i += off;
    float g = grad[i] + decay * param[i];
    float h = momentum * history[i] + lr * g;
    history[i] = h;
    param[i] -= h;
}
