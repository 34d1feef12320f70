/* fuzz_caffe.c — libFuzzer target for the Caffe importer's readers (clt_caffe_map, clt_caffe_mean).
   The first byte picks the reader and the arch's defaults: bit 0 the mean reader instead of the
   model's, bit 1 the small arch instead of CaffeNet. A model that maps must give a parameter table
   the arch declares and values the blobs held; every value is read, so a size that disagrees with
   the data shows up as an ASan report. */
#include <string.h>

#include "interop/interop.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int mode = data[0];
    data++, size--;
    clt_arch arch;
    if (mode & 1) {
        if (mode & 2) clt_arch_small(&arch);
        else clt_arch_caffenet(&arch);
        clt_ckpt_blob mean;
        if (clt_caffe_mean(data, size, "fuzz", &arch, &mean) == 0) {
            volatile float sink = 0;
            if (mean.ndims != 3 || mean.count != (size_t)mean.dims[0] * mean.dims[1] * mean.dims[2]) abort();
            for (size_t i = 0; i < mean.count; i++) sink += mean.data[i];
            (void)sink;
            free(mean.data);
        }
        return 0;
    }
    float *params;
    if (clt_caffe_map(data, size, "fuzz", mode & 2 ? "small" : "caffenet", &arch, &params) == 0) {
        clt_layer_params table[CLT_LAYERS + 1];
        size_t count;
        if (clt_arch_layers(&arch, table, &count) != 0) abort();
        volatile float sink = 0;
        for (size_t i = 0; i < count; i++) sink += params[i];
        (void)sink;
        free(params);
    }
    return 0;
}
