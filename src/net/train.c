/* train.c — one network's training run: the output folder (locked), the checks that make a resume
   exact, device, data and net, transfer or resume, the SGD loop with validation, logging, snapshots
   and signals, and the final checkpoint. Every step returns an exit status (train.h). */
#include "net/train.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/pack.h"
#include "data/reader.h"
#include "device/device.h"
#include "net/checkpoint.h"
#include "net/net.h"
#include "net/prefix_cache.h"
#include "net/solver.h"

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

static const char METRICS_HEADER[] = "iter,phase,loss,top1,top5,lr,images_per_s,elapsed_s";

/* Whether `name` is snapshot_iter_N.ckpt exactly; N in *iter. */
static bool snapshot_name(const char *name, long long *iter) {
    long long it;
    char tail[8];
    if (sscanf(name, "snapshot_iter_%lld.ckp%1s", &it, tail) != 2 || strcmp(tail, "t") || it < 0 ||
        strlen(name) != (size_t)snprintf(NULL, 0, "snapshot_iter_%lld.ckpt", it))
        return false;
    *iter = it;
    return true;
}

static int newest_first(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The iterations of every snapshot in dir, newest first; returns how many. */
static int list_snapshots(const char *dir, long long **iters) {
    *iters = NULL;
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    int n = 0, cap = 0;
    struct dirent *e;
    long long it;
    while ((e = readdir(dp)))
        if (snapshot_name(e->d_name, &it)) {
            if (n == cap) *iters = clt_realloc(*iters, (size_t)(cap = cap ? 2 * cap : 8) * sizeof **iters);
            (*iters)[n++] = it;
        }
    closedir(dp);
    if (n > 1) qsort(*iters, (size_t)n, sizeof **iters, newest_first);
    return n;
}

static char *snapshot_path(const char *dir, long long iter) {
    char name[64];
    snprintf(name, sizeof name, "snapshot_iter_%lld.ckpt", iter);
    return clt_path_join(dir, name);
}

char *clt_newest_snapshot(const char *dir, long long *iter) {
    long long *iters;
    int n = list_snapshots(dir, &iters);
    char *path = n ? snapshot_path(dir, iters[0]) : NULL;
    if (n) *iter = iters[0];
    free(iters);
    return path;
}

/* ---- the training run's state ---- */

typedef struct training {
    const clt_config *cfg;
    clt_device dev;
    bool dev_open;
    clt_net net;
    bool net_made;
    clt_reader *train, *val;
    float *mean;
    int mean_c, mean_h, mean_w;
    char *mean_origin; /* what the user named that the mean came from */
    int lowest;        /* lowest trainable layer */
    int64_t iter;
    FILE *log, *metrics;
    char *out;
    int lock;          /* the run folder's lock, -1 before it is taken */
    bool tty, quiet;
    double start_time, elapsed_before;
    double last_top1;  /* NAN until this process validates */
    int64_t last_val_iter;
    int64_t final_iter; /* of a readable final.ckpt of this seed, -1 when there is none */
    cl_mem loss_slots;
    float *losses;     /* host copy of loss_slots */
    float *host_in[2];
    int *host_labels[2];
    cl_event upload_done[2];
    clt_prefix_cache prefix; /* frozen layers' outputs kept across epochs (net/prefix_cache.h) */
} training;

static void log_line(training *t, const char *fmt, ...) CLT_PRINTF(2, 3);
static void log_line(training *t, const char *fmt, ...) {
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (t->tty && !t->quiet) fprintf(stderr, "\r\033[K");
    if (!t->quiet) fprintf(stderr, "%s\n", line);
    if (t->log) {
        fprintf(t->log, "%s\n", line);
        fflush(t->log);
    }
}

static char *out_file(const training *t, const char *name) { return clt_path_join(t->out, name); }

static void metrics_row(training *t, int64_t iter, const char *phase, double loss, double top1, double top5, double lr,
                        double ips) {
    fprintf(t->metrics, "%" PRId64 ",%s,%.6f,%.6f,%.6f,%.8g,%.1f,%.1f\n", iter, phase, loss, top1, top5, lr, ips,
            t->elapsed_before + clt_now() - t->start_time);
    fflush(t->metrics);
}

/* ---- the output folder ---- */

/* Creates and locks the output folder, so that no second trainer, resume or study works in it at the
   same time, then clears what killed writers left. A folder holding a run needs --resume. */
static int open_output(training *t, bool resume) {
    t->out = clt_strdup(t->cfg->output);
    if (clt_mkdirs(t->out) != 0) return CLT_EXIT_ERROR;
    t->lock = clt_lock_folder(t->out, "two trainers in one folder would mix their files");
    if (t->lock < 0) return CLT_EXIT_ERROR;
    clt_remove_abandoned_tmp(t->out);
    long long snap_iter;
    char *snap = clt_newest_snapshot(t->out, &snap_iter);
    char *metrics = out_file(t, "metrics.csv"), *final = out_file(t, "final.ckpt");
    bool used = snap || clt_file_exists(metrics) || clt_file_exists(final);
    free(snap), free(metrics), free(final);
    if (used && !resume) {
        clt_error("%s already holds a run; pass --resume to continue it, or choose another [run] output", t->out);
        return CLT_EXIT_USAGE;
    }
    char *path = out_file(t, "log.txt");
    t->log = fopen(path, "ae");
    free(path);
    clt_log_errors_to(t->log);
    return CLT_EXIT_OK;
}

/* A run whose final.ckpt holds all of max_iter is done: --resume leaves it, its metrics.csv among
   its files, exactly as it is. Resuming it from its newest snapshot would trim metrics.csv back to
   that snapshot first, and a kill before the last rows were written again would leave a finished
   run with a shorter metrics.csv than it had. A final.ckpt past max_iter cannot be shortened. */
static int check_finished(training *t, bool *done) {
    *done = false;
    char *final = out_file(t, "final.ckpt");
    int status = CLT_EXIT_OK;
    clt_checkpoint ck;
    if (clt_file_exists(final) && clt_checkpoint_load(&ck, final) == 0) {
        if (ck.seed == t->cfg->seed && ck.iter > t->cfg->max_iter) {
            clt_error("%s holds %" PRId64 " iterations, more than solver.max_iter = %" PRId64
                      ": a finished run cannot be shortened; start one in another folder",
                      final, ck.iter, t->cfg->max_iter);
            status = CLT_EXIT_USAGE;
        } else if (ck.seed == t->cfg->seed && ck.iter == t->cfg->max_iter) {
            *done = true;
        }
        if (ck.seed == t->cfg->seed) t->final_iter = ck.iter;
        if (*done && !t->quiet) fprintf(stderr, "%s: finished at iteration %" PRId64 "; nothing to resume\n", final, ck.iter);
        clt_checkpoint_free(&ck);
    } else if (clt_file_exists(final)) {
        clt_warn("%s cannot be read (above); resuming from the snapshots", final);
    }
    free(final);
    return status;
}

/* Keys a resume may change: where the run is and who runs it, how long it goes and how often it
   snapshots. Every other key decides the bits of the result, so it must be the run's. */
static const char *const MAY_CHANGE_ON_RESUME[] = {"run.name", "run.output", "device.select", "data.threads",
                                                   "solver.max_iter", "solver.snapshot", NULL};

/* A resume continues the run in the folder: its config.ini says what that run is. */
static int check_resume_config(training *t) {
    long long snap_iter;
    char *snap = clt_newest_snapshot(t->out, &snap_iter), *final = out_file(t, "final.ckpt");
    bool has_run = snap || clt_file_exists(final);
    free(final);
    char *path = out_file(t, "config.ini");
    int status = CLT_EXIT_OK;
    if (has_run && !clt_file_exists(path)) {
        clt_error("%s is missing, so a resume cannot tell whether it continues the run with the run's own settings; "
                  "restore it, or train afresh in another folder", path);
        status = CLT_EXIT_ERROR;
    } else if (has_run) {
        clt_config before;
        clt_config_defaults(&before);
        char diff[2048];
        if (clt_config_load(&before, path) != 0) {
            clt_error("%s, the config of the run to resume, cannot be read (above)", path);
            status = CLT_EXIT_ERROR;
        } else if (clt_config_differences(t->cfg, &before, MAY_CHANGE_ON_RESUME, diff, sizeof diff) > 0) {
            clt_error("--resume would continue the run in %s with other settings than it was trained with: %s. "
                      "A resume is exact only with the run's own settings (%s); only the output, device, "
                      "threads, max_iter and snapshot may change",
                      t->out, diff, path);
            status = CLT_EXIT_USAGE;
        }
    }
    free(snap);
    free(path);
    return status;
}

static int write_effective_config(training *t) {
    char *path = out_file(t, "config.ini");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    fprintf(mem, "; effective configuration of this run (defaults filled in)\n");
    clt_config_write(t->cfg, mem);
    fclose(mem);
    int rc = clt_write_file_atomic(path, buf, len);
    free(buf);
    free(path);
    return rc == 0 ? CLT_EXIT_OK : CLT_EXIT_ERROR;
}

static int open_device(training *t, const char *selector) {
    const char *sel = selector ? selector : t->cfg->device;
    if (clt_device_open(&t->dev, sel[0] ? sel : NULL) != 0) return CLT_EXIT_ERROR;
    t->dev_open = true;
    log_line(t, "device [%d] %s (%s, driver %s)", t->dev.index, t->dev.name, t->dev.platform_name,
             t->dev.driver_version);
    return CLT_EXIT_OK;
}

/* ---- data ---- */

/* The mean image: the config's, the base net's for transfer runs (the study subtracts the base's
   mean, also when the target is the other half), else the training pack's. */
static int load_mean_image(training *t) {
    const clt_config *c = t->cfg;
    clt_mode mode = clt_config_mode(c);
    uint64_t count;
    if (c->mean[0]) {
        t->mean_origin = clt_strdup(c->mean);
        return clt_mean_read(c->mean, &t->mean_c, &t->mean_h, &t->mean_w, &count, &t->mean);
    }
    if (mode == CLT_MODE_FROZEN || mode == CLT_MODE_FINETUNE) {
        clt_checkpoint ck;
        if (clt_checkpoint_load(&ck, c->base) != 0) return -1;
        const clt_ckpt_blob *b = clt_checkpoint_find(&ck, "mean");
        if (b && b->ndims == 3) {
            t->mean_c = b->dims[0], t->mean_h = b->dims[1], t->mean_w = b->dims[2];
            t->mean = clt_malloc(b->count * sizeof(float));
            memcpy(t->mean, b->data, b->count * sizeof(float));
            size_t n = strlen(c->base) + 32;
            t->mean_origin = clt_malloc(n);
            snprintf(t->mean_origin, n, "of the base net %s", c->base);
        }
        clt_checkpoint_free(&ck);
        if (t->mean) return 0;
        clt_warn("%s holds no mean image; using the training pack's", c->base);
    }
    t->mean_origin = clt_pack_side_path(c->train, ".mean");
    return clt_pack_read_mean(c->train, &t->mean_c, &t->mean_h, &t->mean_w, &count, &t->mean);
}

/* What the reader subtracts: the mean image, or with mean_kind = channel each channel's plane set
   to its average (done again on a base net's mean that is already flat, it changes nothing). */
static int load_mean(training *t) {
    if (load_mean_image(t) != 0) return -1;
    if (strcmp(t->cfg->mean_kind, "channel")) return 0;
    size_t plane = (size_t)t->mean_h * t->mean_w;
    for (int ch = 0; ch < t->mean_c; ch++) {
        float avg = (float)clt_mean_channel_average(t->mean, ch, t->mean_h, t->mean_w);
        for (size_t i = 0; i < plane; i++) t->mean[ch * plane + i] = avg;
    }
    return 0;
}

/* Opens a pack only to see that it is one, so that a missing or wrong pack is named before its mean
   or its companions are. */
static int check_pack(const char *path) {
    clt_pack p;
    if (clt_pack_open(&p, path) != 0) return -1;
    clt_pack_close(&p);
    return 0;
}

/* Class counts are known before the first iteration: a net narrower than the training labels, or a
   validation pack with classes the net never learns, is a config error then, not NaN or a useless
   accuracy at the end. */
static int check_classes(training *t) {
    const clt_config *c = t->cfg;
    int tc = clt_reader_classes(t->train), vc = clt_reader_classes(t->val);
    int classes = c->classes ? c->classes : tc;
    if (classes < tc) {
        clt_error("%s: data.classes = %d, but the training pack %s has %d classes (labels 0..%d): the net would have "
                  "no output for labels %d..%d", c->source, classes, c->train, tc, tc - 1, classes, tc - 1);
        return CLT_EXIT_USAGE;
    }
    if (vc > classes) {
        clt_error("%s: the validation pack %s has %d classes, but the net learns %d (from %s%s): its labels %d..%d "
                  "could never be predicted", c->source, c->val, vc, classes, c->classes ? "data.classes" : "the training pack ",
                  c->classes ? "" : c->train, classes, vc - 1);
        return CLT_EXIT_USAGE;
    }
    if (vc < tc) log_line(t, "note: %s has %d classes, %s has %d", c->val, vc, c->train, tc);
    return CLT_EXIT_OK;
}

static int open_data(training *t) {
    const clt_config *c = t->cfg;
    if (check_pack(c->train) != 0 || check_pack(c->val) != 0) return CLT_EXIT_ERROR;
    if (load_mean(t) != 0) return CLT_EXIT_ERROR;
    char *mean_path = out_file(t, "mean.bin");
    if (clt_mean_write(mean_path, t->mean_c, t->mean_h, t->mean_w, 0, t->mean) != 0) {
        free(mean_path);
        return CLT_EXIT_ERROR;
    }
    clt_reader_config rc = {.pack_path = c->train, .mean_path = mean_path, .mean_origin = t->mean_origin,
                            .crop = c->crop, .train = 1, .mirror = c->mirror, .scale = (float)c->scale,
                            .batch = c->batch, .seed = (uint64_t)c->seed, .threads = c->threads};
    int err = clt_reader_open(&t->train, &rc);
    if (!err) {
        rc.pack_path = c->val;
        rc.train = 0;
        rc.batch = c->val_batch;
        err = clt_reader_open(&t->val, &rc);
    }
    free(mean_path);
    if (err) return CLT_EXIT_ERROR;
    return check_classes(t);
}

/* ---- the net ---- */

void clt_config_arch(const clt_config *c, int classes, clt_arch *a) {
    if (!strcmp(c->arch, "small")) clt_arch_small(a);
    else clt_arch_caffenet(a);
    if (c->widths[0]) {
        for (int i = 0; i < 5; i++) a->conv[i].out = c->widths[i];
        a->fc[0] = c->widths[5], a->fc[1] = c->widths[6];
    }
    a->fc[2] = c->fc8 ? c->fc8 : classes;
    a->dropout = (float)c->dropout;
    if (!strcmp(c->init, "gaussian")) a->init = CLT_INIT_GAUSSIAN;
    if (!strcmp(c->init, "he")) a->init = CLT_INIT_HE;
}

static int build_arch(training *t, clt_arch *a) {
    const clt_config *c = t->cfg;
    int classes = c->classes ? c->classes : clt_reader_classes(t->train);
    clt_config_arch(c, classes, a);
    clt_reader_shape(t->train, &a->in_c, &a->in_h, &a->in_w);
    if (a->fc[2] < classes) {
        clt_error("%s: [net] fc8 = %d is narrower than the %d classes of %s", c->source, a->fc[2], classes, c->train);
        return -1;
    }
    return clt_arch_check(a);
}

static int build_net(training *t) {
    const clt_config *c = t->cfg;
    clt_arch arch;
    if (build_arch(t, &arch) != 0) return CLT_EXIT_USAGE;
    /* one set of buffers serves both passes; validation may run larger batches than training */
    if (clt_net_create(&t->net, &t->dev, &arch, CLT_MAX(c->batch, c->val_batch)) != 0) return CLT_EXIT_ERROR;
    t->net_made = true;
    t->loss_slots = clt_alloc(&t->dev, c->display * sizeof(float), "loss history");
    t->losses = clt_malloc(c->display * sizeof(float));
    for (int i = 0; i < 2; i++) {
        t->host_in[i] = clt_malloc(t->net.input.count * sizeof(float));
        t->host_labels[i] = clt_malloc(c->batch * sizeof(int));
    }
    return clt_device_report(&t->dev) == 0 ? CLT_EXIT_OK : CLT_EXIT_ERROR;
}

/* ---- resume ---- */

/* On resume the metrics file keeps only complete rows up to the snapshot's iteration, so it reads as
   if the run had never stopped; elapsed_s continues from its last kept row. A snapshot's run always
   has a metrics.csv (it is written before the first iteration), so a missing one, or one that is not
   a metrics file, was lost or replaced: continuing would make a history that never was. */
static int trim_metrics(training *t, int64_t upto) {
    char *path = out_file(t, "metrics.csv");
    int status = CLT_EXIT_ERROR;
    size_t len;
    bool exists = clt_file_exists(path);
    char *text = exists ? clt_read_file(path, &len) : NULL;
    if (!text) {
        clt_error("%s %s: the run's rows before iteration %" PRId64 " are lost, so a resume would leave a history "
                  "with a hole; restore it, or train afresh in another folder",
                  path, exists ? "cannot be read (above)" : "is missing", upto);
        free(path);
        return status;
    }
    char *kept = clt_malloc(len + 2);
    size_t out = 0;
    int line_no = 0;
    const char *last_row = NULL;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        bool complete = line + strlen(line) < text + len; /* it had a newline: not cut by a kill */
        long long it;
        char phase[8];
        bool row = sscanf(line, "%lld,%7[a-z],", &it, phase) == 2 && (!strcmp(phase, "train") || !strcmp(phase, "val"));
        if (line_no == 1 ? strcmp(line, METRICS_HEADER) != 0 : complete && !row) {
            clt_error("%s:%d: not a line of a metrics file ('%.60s'); restore the run's metrics.csv, or train afresh "
                      "in another folder", path, line_no, line);
            goto done;
        }
        if (line_no == 1 || (complete && it <= upto)) {
            out += (size_t)snprintf(kept + out, len + 2 - out, "%s\n", line);
            if (line_no > 1) last_row = line;
        }
    }
    if (line_no == 0) {
        clt_error("%s is empty, not the run's metrics; restore it, or train afresh in another folder", path);
        goto done;
    }
    const char *comma = last_row ? strrchr(last_row, ',') : NULL;
    t->elapsed_before = comma ? atof(comma + 1) : 0;
    if (clt_write_file_atomic(path, kept, out) == 0) status = CLT_EXIT_OK;
done:
    free(text);
    free(kept);
    free(path);
    return status;
}

/* Loads a checkpoint to resume from and checks it is this run's: snapshot `iter`, or final.ckpt when
   iter is FINAL. *damaged says the file itself is bad (a previous snapshot may do), otherwise a
   failure is the config's. */
#define FINAL (-1LL)
static int load_resume_point(training *t, long long iter, clt_checkpoint *ck, bool *damaged) {
    const clt_config *c = t->cfg;
    char *path = iter == FINAL ? out_file(t, "final.ckpt") : snapshot_path(t->out, iter);
    int status = CLT_EXIT_OK;
    *damaged = false;
    bool loaded = clt_checkpoint_load(ck, path) == 0;
    if (!loaded) {
        *damaged = true;
        status = CLT_EXIT_ERROR;
    } else if ((iter != FINAL && ck->iter != iter) || ck->images_seen != ck->iter * ck->batch) {
        clt_error("%s says iteration %" PRId64 " (%" PRId64 " images seen) inside, not the %lld of its name", path,
                  ck->iter, ck->images_seen, iter);
        *damaged = true;
        status = CLT_EXIT_ERROR;
    } else if (ck->seed != c->seed || ck->batch != c->batch) {
        clt_error("%s was written with seed %" PRId64 " and batch %d, but the config says seed %" PRId64
                  " and batch %d: a resume is exact only with the run's own", path, ck->seed, ck->batch, c->seed,
                  c->batch);
        status = CLT_EXIT_USAGE;
    } else if (ck->iter > c->max_iter) {
        clt_error("%s is at iteration %" PRId64 ", past solver.max_iter = %" PRId64
                  ": a run cannot be shortened; start one in another folder", path, ck->iter, c->max_iter);
        status = CLT_EXIT_USAGE;
    }
    if (status != CLT_EXIT_OK && loaded) clt_checkpoint_free(ck);
    free(path);
    return status;
}

static char *resume_point_name(long long iter) {
    char name[64];
    if (iter == FINAL) snprintf(name, sizeof name, "final.ckpt");
    else snprintf(name, sizeof name, "snapshot_iter_%lld.ckpt", iter);
    return clt_strdup(name);
}

/* Resumes from the newest checkpoint that loads: final.ckpt when it is ahead of every snapshot (a
   finished run whose max_iter was raised), else the newest snapshot. A damaged one (truncated,
   flipped, empty) is named and the one before it tried, down to the oldest. */
static int resume_from(training *t, const long long *points, int n) {
    clt_checkpoint ck;
    int chosen = -1;
    for (int i = 0; i < n && chosen < 0; i++) {
        bool damaged;
        int status = load_resume_point(t, points[i], &ck, &damaged);
        if (status == CLT_EXIT_OK) chosen = i;
        else if (!damaged) return status;
        else if (i + 1 < n) {
            char *bad = resume_point_name(points[i]), *next = resume_point_name(points[i + 1]);
            clt_warn("%s is damaged (above); falling back to %s", bad, next);
            free(bad), free(next);
        }
    }
    if (chosen < 0) {
        clt_error("no checkpoint in %s can be resumed from (%d damaged); delete them to train afresh", t->out, n);
        return CLT_EXIT_ERROR;
    }
    char *name = resume_point_name(points[chosen]), *path = out_file(t, name);
    free(name);
    int rc = clt_checkpoint_apply(&ck, path, &t->net, &t->dev, 1, CLT_LAYERS, true);
    const clt_ckpt_blob *window = clt_checkpoint_find(&ck, "solver.loss_window");
    if (rc == 0 && window && window->count == (size_t)t->cfg->display)
        clt_upload(&t->dev, t->loss_slots, 0, window->data, window->count * sizeof(float));
    t->iter = ck.iter;
    clt_checkpoint_free(&ck);
    if (rc == 0) log_line(t, "resuming from %s at iteration %" PRId64, path, t->iter);
    free(path);
    if (rc != 0 || clt_device_report(&t->dev) != 0) return CLT_EXIT_ERROR;
    return trim_metrics(t, t->iter);
}

static int init_fresh(training *t) {
    const clt_config *c = t->cfg;
    clt_mode mode = clt_config_mode(c);
    t->iter = 0;
    /* a fresh start: whatever a killed earlier attempt left in metrics.csv is void */
    char *metrics = out_file(t, "metrics.csv");
    unlink(metrics);
    free(metrics);
    clt_net_init_layers(&t->net, &t->dev, (uint64_t)c->seed, 1, CLT_LAYERS);
    if (mode == CLT_MODE_FROZEN || mode == CLT_MODE_FINETUNE) {
        clt_checkpoint ck;
        if (clt_checkpoint_load(&ck, c->base) != 0) return CLT_EXIT_ERROR;
        int rc = clt_checkpoint_apply(&ck, c->base, &t->net, &t->dev, 1, c->layers, false);
        clt_checkpoint_free(&ck);
        if (rc != 0) return CLT_EXIT_USAGE; /* the base is another net than the config's */
        log_line(t, "copied layers 1..%d from %s (%s)", c->layers, c->base, mode == CLT_MODE_FROZEN ? "frozen" : "fine-tuned");
    } else if (mode == CLT_MODE_RANDOM) {
        log_line(t, "layers 1..%d random and frozen", c->layers);
    }
    return clt_device_report(&t->dev) == 0 ? CLT_EXIT_OK : CLT_EXIT_ERROR;
}

static int init_params(training *t, bool resume) {
    clt_mode mode = clt_config_mode(t->cfg);
    t->lowest = (mode == CLT_MODE_FROZEN || mode == CLT_MODE_RANDOM) ? t->cfg->layers + 1 : 1;
    if (!resume) return init_fresh(t);
    long long *iters;
    int n = list_snapshots(t->out, &iters);
    long long *points = clt_malloc((size_t)(n + 1) * sizeof *points);
    int np = 0;
    if (t->final_iter >= 0 && (n == 0 || t->final_iter > iters[0])) points[np++] = FINAL;
    for (int i = 0; i < n; i++) points[np++] = iters[i];
    int status = np ? resume_from(t, points, np) : init_fresh(t);
    free(iters);
    free(points);
    return status;
}

static int open_prefix_cache(training *t) {
    char note[256];
    if (clt_prefix_cache_open(&t->prefix, &t->net, &t->dev, t->lowest - 1, t->cfg->batch, clt_reader_count(t->train),
                              t->cfg->crop == 0 && !t->cfg->mirror, note, sizeof note) != 0) {
        clt_device_report(&t->dev);
        return CLT_EXIT_ERROR;
    }
    if (note[0]) log_line(t, "%s", note);
    return CLT_EXIT_OK;
}

static int open_metrics(training *t) {
    char *path = out_file(t, "metrics.csv");
    bool fresh = !clt_file_exists(path);
    t->metrics = fopen(path, "ae");
    if (!t->metrics) {
        clt_error("cannot write %s: %s", path, strerror(errno));
        free(path);
        return CLT_EXIT_ERROR;
    }
    free(path);
    if (fresh) {
        fprintf(t->metrics, "%s\n", METRICS_HEADER);
        fflush(t->metrics);
    }
    return CLT_EXIT_OK;
}

/* ---- validation and snapshots ---- */

static int val_pass(training *t, double *loss_out, double *top1, double *top5) {
    clt_device *d = &t->dev;
    clt_net *net = &t->net;
    size_t count = clt_reader_count(t->val);
    int vb = t->cfg->val_batch;
    int c, h, w;
    clt_reader_shape(t->val, &c, &h, &w);
    float *images = clt_malloc((size_t)vb * c * h * w * sizeof(float));
    int *labels = clt_malloc(vb * sizeof(int)), *c1 = clt_malloc(vb * sizeof(int)), *c5 = clt_malloc(vb * sizeof(int));
    float *loss = clt_malloc(vb * sizeof(float));
    double sum_loss = 0;
    long n1 = 0, n5 = 0;
    int rc = 0;
    for (size_t start = 0; start < count && clt_device_ok(d); start += vb) {
        int n = (int)CLT_MIN((size_t)vb, count - start);
        if (clt_reader_val_batch(t->val, start, n, images, labels) != 0) {
            rc = -1;
            break;
        }
        /* a pass over n < batch images uses CNHW strides of n throughout, so the reader's
           [c][n][h][w] block goes in as it is */
        clt_upload(d, net->input.data, 0, images, (size_t)n * c * h * w * sizeof(float));
        clt_upload(d, net->labels, 0, labels, n * sizeof(int));
        clt_net_forward(net, d, n, false, 0);
        clt_net_accuracy(net, d, n);
        clt_download(d, loss, net->loss, 0, n * sizeof(float));
        clt_download(d, c1, net->correct1, 0, n * sizeof(int));
        clt_download(d, c5, net->correct5, 0, n * sizeof(int));
        for (int i = 0; i < n; i++) sum_loss += loss[i], n1 += c1[i], n5 += c5[i];
    }
    free(images), free(labels), free(c1), free(c5), free(loss);
    *top1 = (double)n1 / count;
    *top5 = (double)n5 / count;
    *loss_out = sum_loss / count;
    return rc;
}

static int validate(training *t) {
    double t0 = clt_now(), loss, top1, top5;
    if (val_pass(t, &loss, &top1, &top5) != 0 || clt_device_report(&t->dev) != 0) return CLT_EXIT_ERROR;
    double ips = clt_reader_count(t->val) / (clt_now() - t0);
    metrics_row(t, t->iter, "val", loss, top1, top5, clt_solver_lr(t->cfg, t->iter), ips);
    log_line(t, "iter %" PRId64 " validation: loss %.4f top-1 %.4f top-5 %.4f (%.0f images/s)", t->iter, loss, top1,
             top5, ips);
    t->last_top1 = top1;
    t->last_val_iter = t->iter;
    if (!isfinite(loss)) {
        log_line(t, "error: the validation loss is not finite at iteration %" PRId64 "; stopping", t->iter);
        return CLT_EXIT_DIVERGED;
    }
    return CLT_EXIT_OK;
}

/* Keeps the newest two snapshots: enough to resume (and to fall back once), bounded on disk. */
static void remove_old_snapshots(training *t) {
    long long *iters;
    int n = list_snapshots(t->out, &iters);
    for (int i = 2; i < n; i++) {
        char *old = snapshot_path(t->out, iters[i]);
        unlink(old);
        free(old);
    }
    free(iters);
}

static int snapshot(training *t, const char *name) {
    char file[96];
    if (!name) snprintf(file, sizeof file, "snapshot_iter_%" PRId64 ".ckpt", t->iter);
    char *path = out_file(t, name ? name : file);
    /* the loss window makes the first training row after a resume the uninterrupted run's */
    int display = (int)t->cfg->display;
    clt_download(&t->dev, t->losses, t->loss_slots, 0, display * sizeof(float));
    clt_ckpt_blob extra[2] = {{"solver.loss_window", 1, {display}, (size_t)display, t->losses},
                              {"mean", 3, {t->mean_c, t->mean_h, t->mean_w},
                               (size_t)t->mean_c * t->mean_h * t->mean_w, t->mean}};
    int rc = clt_device_report(&t->dev);
    if (rc == 0) rc = clt_checkpoint_save(path, &t->net, &t->dev, t->iter, t->cfg->seed, t->cfg->batch, extra, 2);
    if (rc == 0) log_line(t, "wrote %s", path);
    free(path);
    if (rc == 0 && !name) remove_old_snapshots(t);
    return rc == 0 ? CLT_EXIT_OK : CLT_EXIT_ERROR;
}

/* ---- the loop ---- */

static void format_eta(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0) snprintf(buf, n, "?");
    else if (s < 120) snprintf(buf, n, "%.0fs", s);
    else if (s < 7200) snprintf(buf, n, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else snprintf(buf, n, "%.0fh%02.0fm", floor(s / 3600), fmod(s / 60, 60));
}

/* Uploads host buffer `slot` into the net's input without blocking. Validation passes run through
   the same input buffers, so the batch staged before one is uploaded again after it from here. */
static int upload_batch(training *t, int slot) {
    clt_net *net = &t->net;
    clt_wait(&t->upload_done[slot]);
    size_t floats = (size_t)t->cfg->batch * net->arch.in_c * net->arch.in_h * net->arch.in_w;
    /* the queue is in order, so the labels' event stands for both writes */
    clt_upload_async(&t->dev, net->input.data, 0, t->host_in[slot], floats * sizeof(float), "input batch", NULL);
    clt_upload_async(&t->dev, net->labels, 0, t->host_labels[slot], t->cfg->batch * sizeof(int), "labels",
                     &t->upload_done[slot]);
    return clt_device_ok(&t->dev) ? 0 : -1;
}

/* Fills host buffer `slot` with batch `iter` and uploads it without blocking: the host prepares the
   next batch while the device trains on this one. */
static int stage_batch(training *t, int slot, int64_t iter) {
    clt_wait(&t->upload_done[slot]); /* the host buffer is the source of a write that may still be running */
    if (clt_reader_train_batch(t->train, (uint64_t)iter, t->host_in[slot], t->host_labels[slot]) != 0) return -1;
    return upload_batch(t, slot);
}

/* One SGD step on the staged batch; the next batch is read and uploaded while the device works. */
static int train_step(training *t) {
    const clt_config *cfg = t->cfg;
    clt_device *d = &t->dev;
    int64_t it = t->iter;
    uint64_t drop_seed = (uint64_t)cfg->seed * 1000003ULL + (uint64_t)it;
    clt_prefix_cache_forward(&t->prefix, &t->net, d, t->train, (uint64_t)it, drop_seed);
    CLT_LAUNCH(d, "metrics_mean_loss", 1, (size_t[]){1}, NULL, CLT_INT(cfg->batch), CLT_MEM(t->net.loss),
               CLT_MEM(t->loss_slots), CLT_INT(it % cfg->display));
    clt_net_backward(&t->net, d, cfg->batch, t->lowest, drop_seed);
    clt_solver_update(&t->net, d, cfg, it, t->lowest);
    clt_flush(d);
    t->iter = it + 1;
    if (t->iter < cfg->max_iter && stage_batch(t, (int)(t->iter & 1), t->iter) != 0) return -1;
    return clt_device_ok(d) ? 0 : -1;
}

/* The mean training loss of the iterations since the last display boundary (a pure function of
   iter, so a resumed run prints the uninterrupted run's rows). */
static int window_loss(training *t, double *loss) {
    const clt_config *cfg = t->cfg;
    int64_t n = t->iter - (t->iter - 1) / cfg->display * cfg->display;
    clt_download(&t->dev, t->losses, t->loss_slots, 0, cfg->display * sizeof(float));
    if (clt_device_report(&t->dev) != 0) return -1;
    double sum = 0;
    for (int64_t k = t->iter - n; k < t->iter; k++) sum += t->losses[k % cfg->display];
    *loss = sum / (n ? n : 1);
    return 0;
}

static void display_progress(training *t, double loss, double ips) {
    const clt_config *cfg = t->cfg;
    metrics_row(t, t->iter, "train", loss, NAN, NAN, clt_solver_lr(cfg, t->iter - 1), ips);
    char eta[32], top1[16];
    format_eta((cfg->max_iter - t->iter) * cfg->batch / ips, eta, sizeof eta);
    if (isnan(t->last_top1)) snprintf(top1, sizeof top1, "-");
    else snprintf(top1, sizeof top1, "%.4f", t->last_top1);
    if (t->tty && !t->quiet)
        fprintf(stderr, "\r\033[Kiter %" PRId64 "/%" PRId64 "  loss %.4f  val top-1 %s  %.0f images/s  ETA %s", t->iter,
                cfg->max_iter, loss, top1, ips, eta);
    else if (!t->quiet)
        fprintf(stderr, "iter %" PRId64 "/%" PRId64 " loss %.4f val top-1 %s %.0f images/s ETA %s\n", t->iter,
                cfg->max_iter, loss, top1, ips, eta);
    if (t->log)
        fprintf(t->log, "iter %" PRId64 " loss %.6f lr %.6g %.1f images/s\n", t->iter, loss,
                clt_solver_lr(cfg, t->iter - 1), ips);
}

static int train_loop(training *t) {
    const clt_config *cfg = t->cfg;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    t->start_time = clt_now();
    if (t->iter == 0 && cfg->test_initialization) {
        int v = validate(t);
        if (v != CLT_EXIT_OK) return v;
    }
    double window_start = clt_now();
    int64_t window_iters = 0;
    if (t->iter < cfg->max_iter && stage_batch(t, (int)(t->iter & 1), t->iter) != 0) {
        clt_device_report(&t->dev);
        return CLT_EXIT_ERROR;
    }
    while (t->iter < cfg->max_iter) {
        if (train_step(t) != 0) {
            clt_device_report(&t->dev); /* a reader's error is printed where it happens */
            return CLT_EXIT_ERROR;
        }
        window_iters++;
        bool at_display = t->iter % cfg->display == 0 || t->iter == cfg->max_iter;
        bool at_snapshot = t->iter % cfg->snapshot == 0 && t->iter < cfg->max_iter;
        if (at_display || at_snapshot || stop_signal) {
            double loss;
            if (window_loss(t, &loss) != 0) return CLT_EXIT_ERROR;
            if (!isfinite(loss)) {
                long long snap_iter;
                char *snap = clt_newest_snapshot(t->out, &snap_iter);
                log_line(t, "error: the training loss became %s by iteration %" PRId64 "; stopping. The last good "
                         "snapshot is %s", isnan(loss) ? "NaN" : "infinite", t->iter, snap ? snap : "(none yet)");
                free(snap);
                return CLT_EXIT_DIVERGED;
            }
            if (at_display) {
                double now = clt_now();
                display_progress(t, loss, window_iters * cfg->batch / (now - window_start));
                window_start = now;
                window_iters = 0;
            }
        }
        if (t->iter % cfg->test_interval == 0 || t->iter == cfg->max_iter) {
            int v = validate(t);
            if (v != CLT_EXIT_OK) return v;
            if (t->iter < cfg->max_iter && upload_batch(t, (int)(t->iter & 1)) != 0) {
                clt_device_report(&t->dev);
                return CLT_EXIT_ERROR;
            }
        }
        if (at_snapshot && snapshot(t, NULL) != CLT_EXIT_OK) return CLT_EXIT_ERROR;
        if (stop_signal) {
            log_line(t, "signal %d: writing a snapshot at iteration %" PRId64 " before stopping", (int)stop_signal, t->iter);
            if (!at_snapshot && snapshot(t, NULL) != CLT_EXIT_OK) return CLT_EXIT_ERROR;
            return CLT_EXIT_INTERRUPTED + (int)stop_signal;
        }
    }
    return CLT_EXIT_OK;
}

static int finish(training *t) {
    if (snapshot(t, "final.ckpt") != CLT_EXIT_OK) return CLT_EXIT_ERROR;
    if (t->last_val_iter == t->iter)
        log_line(t, "done: %" PRId64 " iterations, final validation top-1 %.4f", t->iter, t->last_top1);
    else /* resumed from a snapshot at max_iter, whose validation row metrics.csv already holds */
        log_line(t, "done: %" PRId64 " iterations (validated before the resume; see metrics.csv)", t->iter);
    return CLT_EXIT_OK;
}

static void teardown(training *t) {
    for (int i = 0; i < 2; i++) {
        clt_wait(&t->upload_done[i]);
        free(t->host_in[i]);
        free(t->host_labels[i]);
    }
    clt_prefix_cache_close(&t->prefix);
    if (t->train) clt_reader_close(t->train);
    if (t->val) clt_reader_close(t->val);
    clt_free(t->loss_slots);
    if (t->net_made) clt_net_destroy(&t->net);
    if (t->dev_open) clt_device_close(&t->dev);
    clt_log_errors_to(NULL);
    if (t->log) fclose(t->log);
    if (t->metrics) fclose(t->metrics);
    if (t->lock >= 0) close(t->lock);
    free(t->losses);
    free(t->mean);
    free(t->mean_origin);
    free(t->out);
}

int clt_train(const clt_config *cfg, const clt_train_options *opt) {
    training T = {.cfg = cfg, .quiet = opt->quiet, .tty = isatty(STDERR_FILENO), .lock = -1, .last_top1 = NAN,
                  .last_val_iter = -1, .final_iter = -1};
    training *t = &T;
    bool done = false;
    int status = open_output(t, opt->resume);
    /* a finished run is left as it is only when it is the run asked for */
    if (status == CLT_EXIT_OK && opt->resume) status = check_resume_config(t);
    if (status == CLT_EXIT_OK && opt->resume) status = check_finished(t, &done);
    if (status == CLT_EXIT_OK && !done) {
        log_line(t, "run %s: config %s, output %s", cfg->name, cfg->source[0] ? cfg->source : "(defaults)", t->out);
        status = write_effective_config(t);
        /* data first: a wrong pack, mean or base is named before the device compiles anything */
        if (status == CLT_EXIT_OK) status = open_data(t);
        if (status == CLT_EXIT_OK) status = open_device(t, opt->device);
        if (status == CLT_EXIT_OK) status = build_net(t);
        if (status == CLT_EXIT_OK) status = init_params(t, opt->resume);
        if (status == CLT_EXIT_OK) status = open_prefix_cache(t);
        if (status == CLT_EXIT_OK) status = open_metrics(t);
        if (status == CLT_EXIT_OK) status = train_loop(t);
        if (status == CLT_EXIT_OK) status = finish(t);
    }
    teardown(t);
    return status;
}
