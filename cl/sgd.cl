// sgd.cl — SGD with momentum on one parameter blob.

// g = grad + decay·w;  h = momentum·h + lr_in·g;  w -= lr_out·h
// Caffe's form passes (lr, 1), PyTorch's (1, lr); a product with 1 is exact, so either form gives
// the bits of its own formula.
__kernel void sgd_update(int n, __global float *param, int off, __global const float *grad,
                         __global float *history, float lr_in, float lr_out, float decay, float momentum) {
    int i = get_global_id(0);
    if (i >= n) return;
    i += off;
    float g = grad[i] + decay * param[i];
    float h = momentum * history[i] + lr_in * g;
    history[i] = h;
    param[i] -= lr_out * h;
}
