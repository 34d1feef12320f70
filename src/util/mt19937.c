/* mt19937.c — MT19937 (Matsumoto & Nishimura 2002 seeding) with NumPy RandomState's legacy bounded draw
   and shuffle. Bit-exact agreement with NumPy is the point: tests/data holds the lists NumPy gives. */
#include "util/mt19937.h"

#include <stdlib.h>

#include "util/util.h"

#define MT_M 397
#define MT_UPPER 0x80000000u
#define MT_LOWER 0x7fffffffu

void clt_mt_seed(clt_mt *mt, uint32_t seed) {
    mt->key[0] = seed;
    for (int i = 1; i < CLT_MT_N; i++)
        mt->key[i] = 1812433253u * (mt->key[i - 1] ^ (mt->key[i - 1] >> 30)) + (uint32_t)i;
    mt->pos = CLT_MT_N;
}

void clt_mt_seed_array(clt_mt *mt, const uint32_t *key, size_t len) {
    uint32_t *s = mt->key;
    clt_mt_seed(mt, 19650218u);
    size_t i = 1, j = 0;
    for (size_t k = CLT_MT_N > len ? CLT_MT_N : len; k; k--) {
        s[i] = (s[i] ^ ((s[i - 1] ^ (s[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++, j++;
        if (i >= CLT_MT_N) s[0] = s[CLT_MT_N - 1], i = 1;
        if (j >= len) j = 0;
    }
    for (size_t k = CLT_MT_N - 1; k; k--) {
        s[i] = (s[i] ^ ((s[i - 1] ^ (s[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= CLT_MT_N) s[0] = s[CLT_MT_N - 1], i = 1;
    }
    s[0] = 0x80000000u; /* guarantees a non-zero state whatever the key */
    mt->pos = CLT_MT_N;
}

static void regenerate(clt_mt *mt) {
    uint32_t *s = mt->key;
    for (int i = 0; i < CLT_MT_N; i++) {
        uint32_t y = (s[i] & MT_UPPER) | (s[(i + 1) % CLT_MT_N] & MT_LOWER);
        s[i] = s[(i + MT_M) % CLT_MT_N] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    mt->pos = 0;
}

uint32_t clt_mt_next32(clt_mt *mt) {
    if (mt->pos >= CLT_MT_N) regenerate(mt);
    uint32_t y = mt->key[mt->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

uint32_t clt_mt_interval(clt_mt *mt, uint32_t max) {
    if (max == 0) return 0;
    uint32_t mask = max;
    mask |= mask >> 1;
    mask |= mask >> 2;
    mask |= mask >> 4;
    mask |= mask >> 8;
    mask |= mask >> 16;
    uint32_t v;
    while ((v = clt_mt_next32(mt) & mask) > max) {
    }
    return v;
}

void clt_mt_shuffle(clt_mt *mt, uint32_t *a, size_t n) {
    for (size_t i = n; i-- > 1;) {
        uint32_t j = clt_mt_interval(mt, (uint32_t)i);
        uint32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

void clt_mt_choose_sorted(clt_mt *mt, uint32_t n, uint32_t k, uint32_t *out) {
    uint32_t *perm = clt_malloc((size_t)n * sizeof *perm);
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    clt_mt_shuffle(mt, perm, n);
    for (uint32_t i = 0; i < k; i++) out[i] = perm[i];
    free(perm);
    qsort(out, k, sizeof *out, cmp_u32);
}

uint64_t clt_mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t clt_hash2(uint64_t a, uint64_t b) { return clt_mix64(clt_mix64(a) ^ b); }
