/* logits.c — the interop tests' window on cltransfer's own forward pass: the logits (fc8) of a
   checkpoint's net on the first N images of a pack, read as a validation pass reads them (centre
   crop to the net's input, the checkpoint's mean subtracted, times the scale), written as raw
   float32 [N][classes] for the tests to compare with ONNX Runtime's.
   usage: interop_logits CHECKPOINT PACK N OUT.f32 [SCALE] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/pack.h"
#include "data/reader.h"
#include "net/checkpoint.h"
#include "net/net.h"
#include "testutil.h"
#include "util/util.h"

int main(int argc, char **argv) {
    if (argc < 5 || argc > 6) {
        fprintf(stderr, "usage: interop_logits CHECKPOINT PACK N OUT.f32 [SCALE]\n");
        return 2;
    }
    const char *ckpt_path = argv[1], *pack_path = argv[2], *out_path = argv[4];
    int n = atoi(argv[3]);
    float scale = argc > 5 ? strtof(argv[5], NULL) : 1.0f;
    clt_checkpoint ck;
    if (clt_checkpoint_load(&ck, ckpt_path) != 0) return 1;
    const clt_ckpt_blob *mean = clt_checkpoint_find(&ck, "mean");
    char mean_path[] = "/tmp/interop_logits_mean_XXXXXX";
    int fd = mkstemp(mean_path);
    if (fd < 0 || !mean) {
        fprintf(stderr, "interop_logits: %s\n", mean ? "cannot make a temporary file" : "the checkpoint has no mean");
        return 1;
    }
    close(fd);
    int rc = 1;
    clt_reader *r = NULL;
    clt_net net;
    bool have_net = false;
    float *images = NULL, *logits = NULL;
    int *labels = NULL;
    if (clt_mean_write(mean_path, mean->dims[0], mean->dims[1], mean->dims[2], 1, mean->data) != 0) goto done;
    const clt_arch *a = &ck.arch;
    clt_reader_config rcfg = {.pack_path = pack_path, .mean_path = mean_path, .crop = a->in_h, .train = 0,
                              .scale = scale, .batch = n, .seed = 1, .threads = 1};
    if (mean->dims[1] == a->in_h) rcfg.crop = 0;
    if (clt_reader_open(&r, &rcfg) != 0) goto done;
    clt_device *d = t_device();
    if (clt_net_create(&net, d, a, n) != 0) goto done;
    have_net = true;
    if (clt_checkpoint_apply(&ck, ckpt_path, &net, d, 1, CLT_LAYERS, false) != 0) goto done;
    size_t in_floats = (size_t)n * a->in_c * a->in_h * a->in_w, k = (size_t)a->fc[2];
    images = clt_malloc(in_floats * sizeof(float));
    labels = clt_malloc(n * sizeof(int));
    logits = clt_malloc(n * k * sizeof(float));
    if (clt_reader_val_batch(r, 0, n, images, labels) != 0) goto done;
    clt_upload(d, net.input.data, 0, images, in_floats * sizeof(float));
    clt_upload(d, net.labels, 0, labels, n * sizeof(int));
    clt_net_forward(&net, d, n, false, 0);
    clt_download(d, logits, net.f8.data, 0, n * k * sizeof(float));
    if (clt_device_report(d) != 0) goto done;
    rc = clt_write_file_atomic(out_path, logits, n * k * sizeof(float)) == 0 ? 0 : 1;
done:
    unlink(mean_path);
    if (have_net) clt_net_destroy(&net);
    if (r) clt_reader_close(r);
    free(images), free(labels), free(logits);
    clt_checkpoint_free(&ck);
    return rc;
}
