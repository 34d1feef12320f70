/* dropout.c — dropout with a stateless mask: element i is kept by a hash of (seed, i), on the device
   and here alike, so nothing is stored between forward and backward and a seed replays a mask. */
#include "layers/layers.h"
#include "util/mt19937.h"

/* splitmix64's finalizer, as dropout_mix in cl/dropout.cl; clt_mix64 adds the golden-ratio
   increment before it, which is taken back here. */
#define DROPOUT_GOLDEN 0x9e3779b97f4a7c15ULL
static uint64_t dropout_mix(uint64_t z) { return clt_mix64(z - DROPOUT_GOLDEN); }

/* Hashing the seed first decorrelates nearby seeds: with key = seed, seed + golden would replay the
   mask of seed shifted by one element. */
static uint64_t dropout_key(uint64_t seed) { return dropout_mix(seed); }

/* The only float step, done once on the host and passed to the kernel as an integer: p → a 32-bit
   threshold in 0 .. 2^32 (2^32 drops everything). */
static uint64_t dropout_threshold(float p) {
    if (!(p > 0)) return 0;
    if (p >= 1) return (uint64_t)1 << 32;
    return (uint64_t)((double)p * 4294967296.0);
}

static float dropout_scale(float p) { return p >= 1 ? 0.0f : p > 0 ? (float)(1.0 / (1.0 - (double)p)) : 1.0f; }

bool clt_dropout_keep(uint64_t seed, size_t i, float p) {
    uint64_t h = dropout_mix(dropout_key(seed) + (uint64_t)(i + 1) * DROPOUT_GOLDEN);
    return (h >> 32) >= dropout_threshold(p);
}

#ifndef CLT_ULONG /* device.h has no 64-bit argument macro yet */
#define CLT_ULONG(v) ((clt_arg){sizeof(cl_ulong), &(cl_ulong){(cl_ulong)(v)}})
#endif

void clt_dropout_forward(clt_device *d, size_t count, clt_view out, clt_view in, float p, uint64_t seed) {
    CLT_LAUNCH_1D(d, "dropout_forward", count, CLT_INT(count), CLT_VIEW(out), CLT_VIEW(in),
                  CLT_ULONG(dropout_key(seed)), CLT_ULONG(dropout_threshold(p)), CLT_FLOAT(dropout_scale(p)));
}

void clt_dropout_backward(clt_device *d, size_t count, clt_view din, clt_view dout, float p, uint64_t seed) {
    if (!din.mem) return;
    CLT_LAUNCH_1D(d, "dropout_backward", count, CLT_INT(count), CLT_VIEW(din), CLT_VIEW(dout),
                  CLT_ULONG(dropout_key(seed)), CLT_ULONG(dropout_threshold(p)), CLT_FLOAT(dropout_scale(p)));
}
