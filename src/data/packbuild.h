/* packbuild.h — building a pack from image files on all cores (decode, warp, re-encode, in input order),
   the report of what was skipped and why, and the mean image of an existing pack. */
#ifndef CLT_PACKBUILD_H
#define CLT_PACKBUILD_H

#include <stddef.h>
#include <stdint.h>

#include "data/pack.h"
#include "util/util.h"

#define CLT_SOURCE_MAX_BYTES (256u << 20) /* a source image file larger than this is skipped */

/* What went wrong (or was noteworthy) while gathering and packing, for the summary and <pack>.report.txt. */
typedef struct clt_pack_report_item {
    int skipped; /* 1: the input was left out; 0: a note (kept with a decoder warning, an empty folder…) */
    char *kind, *what, *why;
} clt_pack_report_item;
typedef struct clt_pack_report {
    clt_pack_report_item *items;
    size_t n, cap, skipped;
} clt_pack_report;
void clt_pack_report_add(clt_pack_report *r, int skipped, const char *kind, const char *what, const char *why_fmt, ...)
    CLT_PRINTF(5, 6);
void clt_pack_report_free(clt_pack_report *r);
/* Prints counts by kind and the first `first` items of each group to stderr. */
void clt_pack_report_print(const clt_pack_report *r, int first);
/* Writes every item, one "skipped|note<TAB>kind<TAB>what<TAB>why" a line, after the summary lines given. */
/* Writes the report beside the pack (<pack>.report.txt), naming the pack's id. */
int clt_pack_report_write(const clt_pack_report *r, const char *pack_path, const char *summary);

typedef struct clt_pack_item {
    char *path;
    int label;      /* in the pack: 0..classes-1 */
    int orig_label; /* before a class list remapped it */
} clt_pack_item;

typedef struct clt_pack_build_config {
    const char *out_path;
    int channels, height, width; /* stored image shape: channels 1 (grey) or 3 (RGB) */
    int encoding;                /* CLT_PACK_JPEG or CLT_PACK_RAW */
    int quality;                 /* JPEG quality 1..100 */
    int subsampling;             /* 444, 422, 420 */
    int classes;
    int threads;  /* 0: all cores */
    int progress; /* as clt_progress_start's mode */
} clt_pack_build_config;

/* Packs items in their order, skipping (and reporting in `report`) those that cannot be read or decoded.
   Writes out_path, <pack>.mean (mean of the stored pixels, as decoded from the pack) and
   <pack>.report.txt; prints a summary. *packed gets the number stored. 0 ok (even with skips),
   -1 if nothing could be packed or writing failed (no pack is left behind). */
int clt_pack_build(const clt_pack_build_config *cfg, const clt_pack_item *items, size_t n, clt_pack_report *report,
                   uint64_t *packed);

/* Mean image of a pack, decoding every record on `threads` workers (0: all cores). Fills acc. */
int clt_pack_mean(const char *pack_path, int threads, int progress, clt_mean_acc *acc);


#endif
