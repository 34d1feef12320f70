/* mt19937.h — the Mersenne Twister and NumPy's legacy draws on it, so class splits and reduced datasets
   match what `numpy.random.seed([S])` (RandomState) gives, and small hashes for the reader's
   deterministic-by-position randomness. */
#ifndef CLT_MT19937_H
#define CLT_MT19937_H

#include <stddef.h>
#include <stdint.h>

#define CLT_MT_N 624

typedef struct clt_mt {
    uint32_t key[CLT_MT_N];
    int pos;
} clt_mt;

void clt_mt_seed(clt_mt *mt, uint32_t seed);                                  /* init_genrand */
void clt_mt_seed_array(clt_mt *mt, const uint32_t *key, size_t len);          /* init_by_array */
uint32_t clt_mt_next32(clt_mt *mt);

/* NumPy's legacy random_interval(max): a uniform integer in [0, max] by masking and rejection. */
uint32_t clt_mt_interval(clt_mt *mt, uint32_t max);
/* NumPy's legacy 1-d shuffle: for i = n-1 down to 1, swap a[i] with a[interval(i)]. */
void clt_mt_shuffle(clt_mt *mt, uint32_t *a, size_t n);
/* `numpy.random.permutation(n)[:k]`, sorted ascending, into out[k] (k <= n). */
void clt_mt_choose_sorted(clt_mt *mt, uint32_t n, uint32_t k, uint32_t *out);

/* splitmix64's finaliser: a well-mixed 64-bit hash; clt_hash2 folds two words in order. */
uint64_t clt_mix64(uint64_t x);
uint64_t clt_hash2(uint64_t a, uint64_t b);

#endif
