/* train.h — `cltransfer -c FILE.ini`: trains one network end to end on one device. */
#ifndef CLT_TRAIN_H
#define CLT_TRAIN_H

#include <stdbool.h>

#include "net/config.h"

typedef struct clt_train_options {
    bool resume;          /* continue from the newest snapshot in the output folder */
    const char *device;   /* overrides [device] select */
    bool quiet;           /* no progress line */
} clt_train_options;

/* Exit statuses of a training run. */
enum {
    CLT_EXIT_OK = 0,
    CLT_EXIT_ERROR = 1,     /* device, data or file error */
    CLT_EXIT_USAGE = 2,     /* bad command line or config */
    CLT_EXIT_DIVERGED = 3,  /* NaN or infinite loss */
    CLT_EXIT_INTERRUPTED = 128, /* + the signal number: 130 for SIGINT, 143 for SIGTERM */
};

int clt_train(const clt_config *cfg, const clt_train_options *opt);

struct clt_arch;
/* The arch a config trains on data of `classes` classes: [net] arch, widths, fc8 (the classes when
   0), dropout and init; the input stays the arch's own size (the trainer sets the pack's). */
void clt_config_arch(const clt_config *c, int classes, struct clt_arch *a);

/* The newest snapshot in `dir` (snapshot_iter_N.ckpt), or NULL; *iter gets N. */
char *clt_newest_snapshot(const char *dir, long long *iter);

#endif
