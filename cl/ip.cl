// ip.cl — the non-GEMM parts of the inner product on [images][features]: bias broadcast and bias gradient.

// out [rows][outs] = bias[outs] per row; the GEMM then accumulates onto it (beta = 1).
__kernel void ip_bias_fill(int count, int outs, __global float *out, int out_off, __global const float *bias,
                           int bias_off) {
    int i = get_global_id(0);
    if (i >= count) return;
    out[out_off + i] = bias[bias_off + i % outs];
}

// dbias[o] = Σ_r dout[r][o], rows in order: one work-item per column, so neighbouring work-items
// read neighbouring addresses and the sum has a fixed order.
__kernel void ip_bias_grad(int rows, int outs, __global float *dbias, int dbias_off, __global const float *dout,
                           int dout_off) {
    int o = get_global_id(0);
    if (o >= outs) return;
    __global const float *column = dout + dout_off + o;
    float sum = 0.0f;
    for (int r = 0; r < rows; r++) sum += column[r * outs];
    dbias[dbias_off + o] = sum;
}
