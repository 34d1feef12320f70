// prefix_cache.cl — rows of the frozen-prefix cache (src/net/prefix_cache.c) to and from block n's
// output. The output is [channels][n][plane] (CNHW, or [n][features] with one channel); the cache
// holds one row [channels][plane] per pack record. Work-item (s, ch, k): element s of plane ch of
// the k-th listed image; consecutive work-items move contiguous floats on both sides.
//
// positions[records_at + j] is the record at batch position j; positions[positions_at + k] the
// k-th batch position to store (each record at most once, so no two work-items write one place).

__kernel void prefix_cache_gather(int plane, int n, int channels, __global const float *store, __global float *out,
                                  __global const int *positions, int records_at, int positions_at) {
    int s = get_global_id(0), ch = get_global_id(1), j = get_global_id(2);
    if (s >= plane) return;
    long record = positions[records_at + j];
    out[(ch * n + j) * plane + s] = store[(record * channels + ch) * plane + s];
}

__kernel void prefix_cache_store(int plane, int n, int channels, __global float *store, __global const float *out,
                                 __global const int *positions, int records_at, int positions_at) {
    int s = get_global_id(0), ch = get_global_id(1), k = get_global_id(2);
    if (s >= plane) return;
    int j = positions[positions_at + k];
    long record = positions[records_at + j];
    store[(record * channels + ch) * plane + s] = out[(ch * n + j) * plane + s];
}
