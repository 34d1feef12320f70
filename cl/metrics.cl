// metrics.cl — per-iteration bookkeeping kept on the device, so a step needs no host round trip.

// slot[s] = Σ loss[0..n) / n, summed in index order so the value is the same on every run.
__kernel void metrics_mean_loss(int n, __global const float *loss, __global float *slots, int slot) {
    if (get_global_id(0) != 0) return;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) sum += loss[i];
    slots[slot] = sum / n;
}
