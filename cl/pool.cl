// pool.cl — max pooling without padding (Caffe's rounded-up output size). Forward records each
// window's argmax; backward routes dout to it without atomics, in a fixed order.

// One work-item per output, (ox, oy, plane) on the 3-D grid, so no integer divisions (they dominated
// on CPUs). The window loop always runs k×k with its reads clamped into the plane: a clipped last
// window then re-reads its edge, which changes neither the maximum nor, with the strict '>', the
// argmax, and uniform trip counts let PoCL vectorise across work-items. Strict '>' keeps the first
// maximum in row-major window order, as Caffe does for ties.
__kernel void pool_max_forward(int h, int w, int k, int stride, int ho, int wo, __global float *out, int out_off,
                               __global const float *in, int in_off, __global int *mask) {
    int ox = get_global_id(0), oy = get_global_id(1), plane = get_global_id(2);
    if (ox >= wo || oy >= ho) return;
    int y0 = oy * stride, x0 = ox * stride;
    __global const float *p = in + in_off + plane * h * w;
    int best = y0 * w + x0;
    float m = p[best];
    for (int dy = 0; dy < k; dy++)
        for (int dx = 0; dx < k; dx++) {
            int idx = min(y0 + dy, h - 1) * w + min(x0 + dx, w - 1);
            float v = p[idx];
            bool take = v > m;
            m = take ? v : m;
            best = take ? idx : best;
        }
    int o = (plane * ho + oy) * wo + ox;
    out[out_off + o] = m;
    mask[o] = best;
}

// One phase of the backward: the windows with oy ≡ ay and ox ≡ ax (mod span), span = ceil(k/stride),
// are pairwise disjoint, so each adds its dout into its argmax with no other work-item touching that
// element. The host zeroes din and runs the span² phases in row-major (ay, ax) order, which fixes
// the order in which an element's windows are summed on every device. (A gather per input element
// was 2.5–3× slower on PoCL: it tests span² windows for each of the ~4× more inputs.)
__kernel void pool_max_backward(int h, int w, int ho, int wo, int span, int ay, int ax, __global float *din,
                                int din_off, __global const float *dout, int dout_off, __global const int *mask) {
    int ox = get_global_id(0) * span + ax, oy = get_global_id(1) * span + ay, plane = get_global_id(2);
    if (ox >= wo || oy >= ho) return;
    int o = (plane * ho + oy) * wo + ox;
    din[din_off + plane * h * w + mask[o]] += dout[dout_off + o];
}
