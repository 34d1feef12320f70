// lrn.cl — local response normalisation across channels on CNHW activations, where the channel is
// the slowest index (stride n·h·w). The 2-D grid is (image·pixel, channel): consecutive work-items
// walk contiguous memory, and no integer division recovers the channel.

// s^−beta: CaffeNet's beta 0.75 as rsqrt(s·sqrt(s)) (few ulp), because pow is ~15× slower on PoCL
// and dominated the whole layer; any other beta takes pow.
static inline float lrn_pow_neg_beta(float s, float beta) {
    return beta == 0.75f ? rsqrt(s * sqrt(s)) : pow(s, -beta);
}

// Channel c sums squares over [c − pre, c + size − 1 − pre], pre = (size − 1)/2, zero padded (Caffe).
// Each element sums its own window directly: `size` cached loads, and no running sum whose
// add/subtract cancellation would depend on the channel position.
__kernel void lrn_forward(int channels, int cstride, int size, float alpha_over_size, float beta,
                          float k, __global float *out, int out_off, __global float *scale, int scale_off,
                          __global const float *in, int in_off) {
    int pos = get_global_id(0), c = get_global_id(1);
    if (pos >= cstride) return;
    int i = c * cstride + pos;
    int pre = (size - 1) / 2;
    int c0 = max(c - pre, 0), c1 = min(c - pre + size, channels);
    float acc = 0.0f;
    for (int cc = c0; cc < c1; cc++) {
        float v = in[in_off + cc * cstride + pos];
        acc += v * v;
    }
    float s = k + alpha_over_size * acc;
    scale[scale_off + i] = s;
    out[out_off + i] = in[in_off + i] * lrn_pow_neg_beta(s, beta);
}

// din_c = dout_c·scale_c^−beta − (2·alpha·beta/size)·in_c·Σ dout_j·out_j/scale_j over the channels j
// whose window holds c: j in [c − post, c + pre], post = size − 1 − pre. For odd sizes (CaffeNet's 5)
// that is Caffe's backward window; for even sizes it is the mirror of the forward window, as the
// derivative requires.
__kernel void lrn_backward(int channels, int cstride, int size, float beta, float cache_ratio,
                           __global float *din, int din_off, __global const float *dout, int dout_off,
                           __global const float *in, int in_off, __global const float *out, int out_off,
                           __global const float *scale, int scale_off) {
    int pos = get_global_id(0), c = get_global_id(1);
    if (pos >= cstride) return;
    int i = c * cstride + pos;
    int pre = (size - 1) / 2, post = size - 1 - pre;
    int c0 = max(c - post, 0), c1 = min(c + pre + 1, channels);
    float acc = 0.0f;
    for (int cc = c0; cc < c1; cc++) {
        int j = cc * cstride + pos;
        acc += dout[dout_off + j] * out[out_off + j] / scale[scale_off + j];
    }
    din[din_off + i] =
        dout[dout_off + i] * lrn_pow_neg_beta(scale[scale_off + i], beta) - cache_ratio * in[in_off + i] * acc;
}
