// flatten.cl — CNHW [c][n][hw] <-> [n][c·hw]: the hand-over between the conv part and the fc part.
// Each work-item owns one element of the array it writes, so writes are contiguous and reads come
// in runs of hw.

__kernel void flatten_forward(int c, int n, int hw, __global float *out, int out_off, __global const float *in,
                              int in_off) {
    int i = get_global_id(0);
    if (i >= c * n * hw) return;
    int s = i % hw;
    int rest = i / hw;
    int ch = rest % c;
    int img = rest / c;
    out[out_off + i] = in[in_off + (ch * n + img) * hw + s];
}

__kernel void flatten_backward(int c, int n, int hw, __global float *din, int din_off, __global const float *dout,
                               int dout_off) {
    int i = get_global_id(0);
    if (i >= c * n * hw) return;
    int s = i % hw;
    int rest = i / hw;
    int img = rest % n;
    int ch = rest / n;
    din[din_off + i] = dout[dout_off + (img * c + ch) * hw + s];
}
