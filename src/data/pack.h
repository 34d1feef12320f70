/* pack.h — the pack file (images of a dataset with labels, one file, checksummed; see data-tools/FORMAT.md),
   its writer, the files beside it (class map, report, mean image) and the mean image format. */
#ifndef CLT_PACK_H
#define CLT_PACK_H

#include <stddef.h>
#include <stdint.h>

#define CLT_PACK_VERSION 1
#define CLT_PACK_HEADER_SIZE 128
#define CLT_PACK_ENTRY_SIZE 24
#define CLT_PACK_MAGIC "CLTPACK"        /* 8 bytes with its NUL */
#define CLT_PACK_MAX_SIDE 8192          /* stored images: bounds checked before any allocation */
#define CLT_PACK_MAX_RECORD (64u << 20) /* bytes in one stored image */
#define CLT_PACK_MAX_CLASSES 1000000

enum { CLT_PACK_RAW = 1, CLT_PACK_JPEG = 2 };

typedef struct clt_pack_entry {
    uint64_t offset; /* from the start of the data region */
    uint32_t size, crc;
    int32_t label;      /* 0..classes-1 */
    int32_t orig_label; /* the label before a class list remapped it (or the same) */
} clt_pack_entry;

typedef struct clt_pack {
    char *path;
    int fd;
    int encoding, c, h, w, classes;
    uint64_t count, data_offset, data_size, file_size;
    uint32_t data_crc; /* crc32 of the whole data region */
    uint32_t id;       /* crc32 of its header, which covers shape, count and the index and data crcs */
    uint32_t max_record;
    clt_pack_entry *index;
} clt_pack;

/* Opens and validates header, index and file size (not the image data: clt_pack_read checks each
   record's crc). Errors name the file and what is wrong. */
int clt_pack_open(clt_pack *p, const char *path);
void clt_pack_close(clt_pack *p);
/* Reads record i into buf (room for p->max_record bytes) and checks its crc32. err gets the reason. */
int clt_pack_read(const clt_pack *p, uint64_t i, uint8_t *buf, char *err, size_t errlen);
const char *clt_pack_encoding_name(int encoding);

typedef struct clt_pack_writer clt_pack_writer;
/* Starts a pack at a temporary name beside `path`; commit renames it into place. */
int clt_pack_writer_open(clt_pack_writer **w, const char *path, int encoding, int c, int h, int wd, int classes);
int clt_pack_writer_add(clt_pack_writer *w, const void *data, size_t size, int label, int orig_label);
uint64_t clt_pack_writer_count(const clt_pack_writer *w);
uint64_t clt_pack_writer_bytes(const clt_pack_writer *w);
int clt_pack_writer_commit(clt_pack_writer *w); /* frees w in all cases */
void clt_pack_writer_abort(clt_pack_writer *w); /* removes the temporary file, frees w */

/* "dir/x.pack" + ".mean" → "dir/x.mean" (a path without ".pack" keeps its whole name). New string. */
char *clt_pack_side_path(const char *pack_path, const char *suffix);

/* A pack and its companions (.mean, .classes.txt, .report.txt) are separate files, so a packing
   command killed between them leaves a new pack beside old companions. Each companion therefore
   records the id of the pack it was written for (the pack's header crc32), and readers refuse one
   that does not match, naming both files. Companions without an id (older files) are accepted. */
/* The id of the pack at pack_path, from its checksummed header only. */
int clt_pack_read_id(const char *pack_path, uint32_t *id);
/* Checks every companion present beside the pack; -1 (each mismatch printed) when one is not its. */
int clt_pack_check_companions(const char *pack_path);

/* The class map beside a pack (<pack>.classes.txt): "label<TAB>original label<TAB>name" a line.
   names may be NULL, or hold NULL entries (written as "-"). */
int clt_pack_write_classes(const char *pack_path, int k, const int *orig, const char *const *names);
/* Reads it back: names[k] (new strings, "-" for unknown), orig[k]. Missing file: -1, silently if quiet;
   a map written for another pack: -1 with an error. */
int clt_pack_read_classes(const char *pack_path, int k, int *orig, char **names, int quiet);

/* Mean image: float32 [c][h][w] with a small header (see FORMAT.md). */
int clt_mean_write(const char *path, int c, int h, int w, uint64_t count, const float *mean);
int clt_mean_read(const char *path, int *c, int *h, int *w, uint64_t *count, float **mean);
/* The average over the h×w plane of channel ch of a [c][h][w] mean image. */
double clt_mean_channel_average(const float *mean, int ch, int h, int w);
/* The mean of a pack, recording the pack's id: at `path`, or beside the pack when path is NULL. */
int clt_pack_write_mean(const char *pack_path, const char *path, int c, int h, int w, uint64_t count, const float *mean);
/* The mean beside a pack, refused when it was written for another pack. */
int clt_pack_read_mean(const char *pack_path, int *c, int *h, int *w, uint64_t *count, float **mean);

/* Sums of 8-bit interleaved images for a mean, exact in integers so thread order cannot change it. */
typedef struct clt_mean_acc {
    int c, h, w;
    uint64_t count;
    uint64_t *sum; /* [c][h][w] */
} clt_mean_acc;
void clt_mean_acc_init(clt_mean_acc *a, int c, int h, int w);
void clt_mean_acc_add(clt_mean_acc *a, const uint8_t *hwc);
void clt_mean_acc_merge(clt_mean_acc *into, const clt_mean_acc *from);
void clt_mean_acc_result(const clt_mean_acc *a, float *mean);
void clt_mean_acc_free(clt_mean_acc *a);

#endif
