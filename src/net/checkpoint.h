/* checkpoint.h — the checkpoint file: a versioned text header (net definition, iteration, seed,
   data position), named float32 blobs (conv1.weight … fc8.bias, their momentum, the mean image),
   and a CRC32 footer. Written to a temporary file, fsynced and renamed. README documents it. */
#ifndef CLT_CHECKPOINT_H
#define CLT_CHECKPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "net/net.h"

#define CLT_CKPT_VERSION 1

typedef struct clt_ckpt_blob {
    char name[64];
    int ndims;
    int dims[4];
    size_t count;
    float *data;
} clt_ckpt_blob;

typedef struct clt_checkpoint {
    clt_arch arch;
    int64_t iter;        /* iterations done */
    int64_t seed;
    int64_t images_seen; /* data position: iter · batch */
    int batch;           /* training batch size */
    int nblobs;
    clt_ckpt_blob *blobs;
} clt_checkpoint;

/* Saves the net's parameters and their momentum at `path`, then the extra blobs (the mean image as
   "mean", the solver's loss window as "solver.loss_window", …). */
int clt_checkpoint_save(const char *path, clt_net *net, clt_device *d, int64_t iter, int64_t seed, int batch,
                        const clt_ckpt_blob *extra, int n_extra);
/* The same file from host memory, for a net that never was on a device (an imported one): params and
   history (NULL: zero momentum) laid out as clt_arch_layers says. */
int clt_checkpoint_write(const char *path, const clt_arch *arch, const float *params, const float *history,
                         int64_t iter, int64_t seed, int batch, const clt_ckpt_blob *extra, int n_extra);
/* Reads and verifies a checkpoint front to back, never more than the file holds (magic first, then
   version, header, every blob's size bounded by the bytes left, footer, checksum), then that the
   header's net is its blobs' net and that every value is finite; a damaged or hostile one is
   refused with a message naming the file and what is wrong. */
int clt_checkpoint_load(clt_checkpoint *ck, const char *path);
void clt_checkpoint_free(clt_checkpoint *ck);
const clt_ckpt_blob *clt_checkpoint_find(const clt_checkpoint *ck, const char *name);

/* Copies layers [first, last] (weights and biases, and momentum when with_momentum) into the net.
   Each blob's shape must match the net's; a mismatch is an error naming blob and both shapes. */
int clt_checkpoint_apply(const clt_checkpoint *ck, const char *path, clt_net *net, clt_device *d, int first,
                         int last, bool with_momentum);

#endif
