// dropout.cl — dropout whose keep decision is a counter-based hash of (seed, element index), so
// backward recomputes the mask instead of storing it, and the host (clt_dropout_keep) agrees bit for bit.

// splitmix64's finalizer; must stay identical to dropout_mix in src/layers/dropout.c.
static inline ulong dropout_mix(ulong z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
    return z ^ (z >> 31);
}

// key = dropout_mix(seed), computed on the host; an element is kept when the top 32 bits of its hash
// reach `threshold` (floor(p·2^32), 0 .. 2^32; see dropout_threshold in src/layers/dropout.c).
static inline bool dropout_keep(ulong key, int i, ulong threshold) {
    return (dropout_mix(key + (ulong)(i + 1) * 0x9e3779b97f4a7c15UL) >> 32) >= threshold;
}

__kernel void dropout_forward(int count, __global float *out, int out_off, __global const float *in, int in_off,
                              ulong key, ulong threshold, float scale) {
    int i = get_global_id(0);
    if (i >= count) return;
    out[out_off + i] = dropout_keep(key, i, threshold) ? in[in_off + i] * scale : 0.0f;
}

__kernel void dropout_backward(int count, __global float *din, int din_off, __global const float *dout,
                               int dout_off, ulong key, ulong threshold, float scale) {
    int i = get_global_id(0);
    if (i >= count) return;
    din[din_off + i] = dropout_keep(key, i, threshold) ? dout[dout_off + i] * scale : 0.0f;
}
