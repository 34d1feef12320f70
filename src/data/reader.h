/* reader.h — the trainer's data reader: batches from a pack, decoded on worker threads ahead of use, with
   crops, mirroring and image order a pure function of (seed, iteration), so a resumed run sees the same data.
   One caller thread at a time; the workers are internal. */
#ifndef CLT_READER_H
#define CLT_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct clt_reader clt_reader;
typedef struct clt_reader_config {
    const char *pack_path;  /* the pack */
    const char *mean_path;  /* mean image file (NULL: none); its c,h,w must match the pack's */
    const char *mean_origin; /* what the user named that the mean came from, for messages (NULL: mean_path) */
    int crop;               /* square crop side; 0 = the whole image (no crop) */
    int train;              /* 1: random crop (and mirror if `mirror`); 0: center crop, no mirror */
    int mirror;
    float scale;            /* applied after mean subtraction (1 for CaffeNet; e.g. 1/255 for MNIST-like) */
    int batch;              /* images per batch */
    uint64_t seed;
    int threads;            /* decode workers; 0 = number of cores */
    int prefetch;           /* training batches decoded ahead; 0 = automatic: as many as fit in 512 MB, 2..8 */
} clt_reader_config;

int  clt_reader_open(clt_reader **r, const clt_reader_config *cfg);   /* 0 ok, -1 error printed (naming the file and what is wrong) */
size_t clt_reader_count(const clt_reader *r);    /* images in the pack */
int  clt_reader_classes(const clt_reader *r);
void clt_reader_shape(const clt_reader *r, int *c, int *h, int *w);  /* of the batches it produces (after crop) */
/* Training batch number `iter` (0-based): images as CNHW floats [c][batch][h][w], labels int32 [batch].
   Which image, crop and mirror come at iteration i is a pure function of (seed, i): image position
   p = i·batch + j runs through a per-epoch permutation of the pack (epoch = p / count, permutation
   seeded by (seed, epoch)); crop offset and mirror from a hash of (seed, p). Prefetches batches
   iter+1, iter+2… in worker threads while the caller trains, so a call normally returns at once.
   Returns 0, or -1 on an I/O or decode error (message printed). */
int  clt_reader_train_batch(clt_reader *r, uint64_t iter, float *images, int *labels);
/* Validation images [start, start+count) in pack order, center crop, no mirror, CNHW [c][count][h][w]. */
int  clt_reader_val_batch(clt_reader *r, size_t start, int count, float *images, int *labels);
void clt_reader_close(clt_reader *r);

/* What training batch `iter` holds at position j (0 <= j < batch): the pack record, the crop's top-left
   corner and whether it is mirrored. Pure; for logs and tests. */
void clt_reader_train_plan(clt_reader *r, uint64_t iter, int j, uint64_t *record, int *y0, int *x0, int *mirror);

#endif
