// conv.cl — the non-GEMM parts of convolution on CNHW activations: im2col, col2im (a gather),
// the bias broadcast and the bias gradient.
//
// col is a row-major [c·k·k][cols] matrix for a chunk of images (rows c, ky, kx; columns image,
// oy, ox; cols = images·ho·wo).

// Work-item (oy, z): output row oy of image z % images of the chunk (images from `first` of the
// n-image input) in channel z / images; writes its wo columns of the channel's k·k rows of col. A
// whole output row per work-item: PoCL runs the work-items of these kernels one at a time, scalar,
// and with one column per work-item the index arithmetic cost more than the copy (this is about 2×
// faster on PoCL); the innermost loop runs along contiguous columns of col.
// With `transposed`, each group's block of col (cg channels, k_g = cg·k·k rows) is written as
// [cols][k_g] instead of [k_g][cols], and stays where it was: the weight gradient dout · colᵀ is
// then a plain product, which CLBlast runs about twice as fast on CPU devices as one with a
// transposed operand (it copies the whole of it first).
__kernel void conv_im2col(int cols, int n, int h, int w, int k, int stride, int pad, int ho, int wo, int first,
                          int images, int planes, int cg, int transposed, __global float *col, int col_off,
                          __global const float *in, int in_off) {
    int oy = get_global_id(0), z = get_global_id(1);
    if (oy >= ho || z >= planes) return;
    int ch = z / images, img = z - ch * images;
    int kk = k * k, k_g = cg * kk;
    int j0 = (img * ho + oy) * wo; // the row's first column
    __global const float *plane = in + in_off + (ch * n + first + img) * h * w;
    __global float *block = col + col_off + (ch / cg) * k_g * cols;
    for (int ky = 0; ky < k; ky++) {
        int y = oy * stride - pad + ky;
        bool row_inside = y >= 0 && y < h;
        __global const float *src = plane + y * w;
        for (int kx = 0; kx < k; kx++) {
            int r = (ch % cg) * kk + ky * k + kx; // row of col within the group's block
            if (transposed) {
                __global float *dst = block + j0 * k_g + r;
                for (int ox = 0; ox < wo; ox++) {
                    int x = ox * stride - pad + kx;
                    dst[ox * k_g] = row_inside && x >= 0 && x < w ? src[x] : 0.0f;
                }
            } else {
                __global float *dst = block + r * cols + j0;
                for (int ox = 0; ox < wo; ox++) {
                    int x = ox * stride - pad + kx;
                    dst[ox] = row_inside && x >= 0 && x < w ? src[x] : 0.0f;
                }
            }
        }
    }
}

// Work-item (y, z): input row y of image z % images of the chunk in channel z / images (a whole
// row per work-item, as in conv_im2col). Each pixel sums the col entries that im2col copied it
// into, in a fixed order (oy, then ox), so no two work-items write the same place and the result
// needs no atomics and is the same on every run.
__kernel void conv_col2im(int cols, int n, int h, int w, int k, int stride, int pad, int ho, int wo, int first,
                          int images, int planes, __global float *din, int din_off, __global const float *col,
                          int col_off) {
    int y = get_global_id(0), z = get_global_id(1);
    if (y >= h || z >= planes) return;
    int ch = z / images, img = z - ch * images;
    int yp = y + pad;
    // output rows whose window covers padded row yp: oy·stride ≤ yp < oy·stride + k
    int oy_begin = yp < k ? 0 : (yp - k) / stride + 1;
    int oy_end = min(yp / stride + 1, ho);
    __global const float *src = col + col_off + ch * k * k * cols + img * ho * wo;
    __global float *dst = din + din_off + (ch * n + first + img) * h * w + y * w;
    for (int x = 0; x < w; x++) {
        int xp = x + pad;
        int ox_begin = xp < k ? 0 : (xp - k) / stride + 1;
        int ox_end = min(xp / stride + 1, wo);
        float sum = 0.0f;
        for (int oy = oy_begin; oy < oy_end; oy++) {
            int ky = yp - oy * stride;
            for (int ox = ox_begin; ox < ox_end; ox++) {
                int kx = xp - ox * stride;
                sum += src[(ky * k + kx) * cols + oy * wo + ox];
            }
        }
        dst[x] = sum;
    }
}

// Columns [0, len) of every channel row of out (rows `row` apart): out += bias[ch] (when
// has_bias), then max(out, 0) (when relu), in one pass after the chunk's GEMMs.
__kernel void conv_bias_relu(int len, int row, int has_bias, int relu, __global float *out, int out_off,
                             __global const float *bias, int bias_off) {
    int i = get_global_id(0);
    int ch = get_global_id(1);
    if (i >= len) return;
    __global float *p = out + out_off + ch * row + i;
    float v = *p + (has_bias ? bias[bias_off + ch] : 0.0f);
    *p = relu ? fmax(v, 0.0f) : v;
}

// dbias[ch] = Σ of the contiguous CNHW row ch of dout (len = n·ho·wo). One work-group per channel:
// each work-item sums a fixed stride of the row, then a tree in local memory; the local size must
// be a power of two. Fixed order, so deterministic for a given local size.
__kernel void conv_bias_grad(int len, __global float *dbias, int dbias_off, __global const float *dout, int dout_off,
                             __local float *partial) {
    int ch = get_group_id(0);
    int lid = get_local_id(0);
    int size = get_local_size(0);
    __global const float *row = dout + dout_off + ch * len;
    float sum = 0.0f;
    for (int i = lid; i < len; i += size) sum += row[i];
    partial[lid] = sum;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = size / 2; span > 0; span /= 2) {
        if (lid < span) partial[lid] += partial[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) dbias[dbias_off + ch] = partial[0];
}
