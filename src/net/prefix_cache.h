/* prefix_cache.h — frozen prefixes computed once: when layers 1..n of a net never change (frozen or
   random-frozen transfer) and a training image always enters the net the same way (no random crop,
   no mirror), block n's output for each training image is the same every epoch. The cache keeps it
   on the device, one row per pack record, the first time a batch computes it; a batch whose images
   are all stored then runs only blocks n+1..8 on rows gathered from the cache. With dropout on, n
   is at most 6: block 7 opens with the dropout of fc6's output, a new mask every iteration.

   Results are bit-identical to recomputing: a stored row is exactly what block n wrote for that
   image, and a block's output for an image does not depend on the other images of its batch or on
   its place in it (tests/cli/train_prefix_cache.sh compares final checkpoints and metrics of runs
   with and without the cache, across epochs, validation passes, dropout and --resume). Nothing is
   kept between processes: a resumed run fills the cache again.

   Memory: all of the pack's rows or none. The cache is used only when every record's row fits a
   budget (a quarter of the device's global memory, one allocation at most, and on CPU devices a
   quarter of the host memory available); otherwise every batch recomputes, as without it.
   $CLTRANSFER_PREFIX_CACHE overrides: "off" (or 0) never caches, a number is the budget in MiB. */
#ifndef CLT_PREFIX_CACHE_H
#define CLT_PREFIX_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "data/reader.h"
#include "device/device.h"
#include "net/net.h"

typedef struct clt_prefix_cache {
    int layers;          /* n: blocks 1..n come from the cache; 0 = no cache, every batch recomputes */
    int batch;
    size_t records;      /* pack records, one row each */
    size_t row;          /* floats per row: block n's output for one image */
    cl_mem store;        /* records × row floats */
    bool *stored;        /* per record: its row is in `store` */
    size_t unstored;     /* records not yet stored */
    cl_mem positions;    /* per upload slot: batch record indices, then the positions to store */
    int *host_positions[2];
    cl_event uploaded[2];
    int slot;
    uint64_t hits, misses; /* batches served from the cache / computed in full */
} clt_prefix_cache;

/* Sets the cache up for a net whose layers 1..frozen_layers do not train, trained on `reader`
   (`records` images; `same_input`: no random crop or mirror). Leaves it off (layers 0) where it
   does not apply or does not fit, and writes why into `note` (for the log). Returns 0, or -1 with
   the device failed (sticky) when allocating fails. */
int clt_prefix_cache_open(clt_prefix_cache *c, clt_net *net, clt_device *d, int frozen_layers, int batch,
                          size_t records, bool same_input, char *note, size_t note_len);
/* The training forward pass of batch `iter` (clt_net_forward with train = true): blocks n+1..8 on
   rows from the cache when all the batch's images are stored, else all blocks, storing the rows of
   the images not yet stored. */
void clt_prefix_cache_forward(clt_prefix_cache *c, clt_net *net, clt_device *d, clt_reader *reader, uint64_t iter,
                              uint64_t dropout_seed);
void clt_prefix_cache_close(clt_prefix_cache *c);

#endif
