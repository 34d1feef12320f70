/* test_flatten.c — flatten CNHW [c][n][hw] -> [n][c·hw] and back, against the host layout conversion
   (a pure permutation, so compared bit for bit), with views at offsets and nothing written outside. */
#include <stdlib.h>
#include <string.h>

#include "layers/layers.h"
#include "testutil.h"

enum { GUARD = 9 };
static const float SENTINEL = -1234.5f;

static void check(int c, int n, int hw, uint64_t seed) {
    clt_device *d = t_device();
    size_t count = (size_t)c * n * hw, total = count + 2 * GUARD;
    float *cnhw = clt_malloc(count * sizeof(float)), *want = clt_malloc(count * sizeof(float));
    t_fill(cnhw, count, seed, -1, 1);
    /* [n][c·hw] is NCHW with the image's c, h, w run together: Caffe's flatten order */
    t_cnhw_to_nchw(want, cnhw, n, c, hw);

    float *host = clt_malloc(total * sizeof(float));
    for (size_t i = 0; i < total; i++) host[i] = SENTINEL;
    cl_mem bflat = t_upload(host, total), bback = t_upload(host, total);
    memcpy(host + GUARD, cnhw, count * sizeof(float));
    cl_mem bin = t_upload(host, total);

    clt_flatten_forward(d, c, n, hw, clt_at(bflat, GUARD), clt_at(bin, GUARD));
    clt_flatten_backward(d, c, n, hw, clt_at(bback, GUARD), clt_at(bflat, GUARD));
    float *flat = t_download(bflat, total), *back = t_download(bback, total);

    char name[128];
    snprintf(name, sizeof name, "flatten forward c=%d n=%d hw=%d", c, n, hw);
    t_same_bits(name, flat + GUARD, want, count);
    snprintf(name, sizeof name, "flatten backward c=%d n=%d hw=%d (undoes forward)", c, n, hw);
    t_same_bits(name, back + GUARD, cnhw, count);
    bool intact = true;
    for (size_t i = 0; i < GUARD; i++)
        intact &= flat[i] == SENTINEL && flat[GUARD + count + i] == SENTINEL && back[i] == SENTINEL &&
                  back[GUARD + count + i] == SENTINEL;
    t_check(intact, "flatten c=%d n=%d hw=%d writes nothing outside its views", c, n, hw);

    clt_free(bflat), clt_free(bback), clt_free(bin);
    free(cnhw), free(want), free(host), free(flat), free(back);
}

int main(void) {
    check(1, 1, 1, 1);
    check(3, 2, 5, 2);
    check(7, 3, 1, 3);     /* 1×1 planes */
    check(256, 4, 36, 4);  /* pool5 → fc6 of CaffeNet at batch 4 */
    check(50, 5, 16, 5);   /* a small net's last conv block */
    return t_done();
}
