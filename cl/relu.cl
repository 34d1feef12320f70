// relu.cl — rectified linear unit, forward and backward; in place allowed.

__kernel void relu_forward(int n, __global float *out, int out_off, __global const float *in, int in_off) {
    int i = get_global_id(0);
    if (i >= n) return;
    out[out_off + i] = fmax(in[in_off + i], 0.0f);
}

__kernel void relu_backward(int n, __global float *din, int din_off, __global const float *dout, int dout_off,
                            __global const float *out, int out_off) {
    int i = get_global_id(0);
    if (i >= n) return;
    din[din_off + i] = out[out_off + i] > 0.0f ? dout[dout_off + i] : 0.0f;
}
