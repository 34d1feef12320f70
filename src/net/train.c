/* train.c — one network's training run: set-up (device, data, net, transfer or resume), the SGD
   loop with validation, logging, snapshots and signals, and the final checkpoint. */
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

#include "net/checkpoint.h"
#include "device/device.h"
#include "data/pack.h"
#include "net/net.h"
#include "data/reader.h"
#include "net/prefix_cache.h"
#include "net/solver.h"

static volatile sig_atomic_t stop_signal;
static void on_signal(int sig) { stop_signal = sig; }

char *clt_newest_snapshot(const char *dir, long long *iter) {
    DIR *dp = opendir(dir);
    if (!dp) return NULL;
    long long best = -1;
    struct dirent *e;
    while ((e = readdir(dp))) {
        long long it;
        char tail[8];
        if (sscanf(e->d_name, "snapshot_iter_%lld.ckp%1s", &it, tail) == 2 && !strcmp(tail, "t") &&
            strlen(e->d_name) == (size_t)snprintf(NULL, 0, "snapshot_iter_%lld.ckpt", it) && it > best)
            best = it;
    }
    closedir(dp);
    if (best < 0) return NULL;
    char name[64];
    snprintf(name, sizeof name, "snapshot_iter_%lld.ckpt", best);
    *iter = best;
    return clt_path_join(dir, name);
}

/* ---- the run's state ---- */

typedef struct run {
    const clt_config *cfg;
    clt_config eff; /* effective config, written to the output folder */
    clt_device dev;
    bool dev_open;
    clt_net net;
    bool net_made;
    clt_reader *train, *val;
    float *mean;
    int mean_c, mean_h, mean_w;
    int lowest; /* lowest trainable layer */
    int64_t iter;
    FILE *log, *metrics;
    char *out;
    bool tty, quiet;
    double start_time, elapsed_before;
    double last_top1;
    cl_mem loss_slots;
    float *host_in[2];
    int *host_labels[2];
    cl_event upload_done[2];
    clt_prefix_cache prefix;
} run;

static void logf_(run *r, const char *fmt, ...) CLT_PRINTF(2, 3);
static void logf_(run *r, const char *fmt, ...) {
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (r->tty && !r->quiet) fprintf(stderr, "\r\033[K");
    if (!r->quiet) fprintf(stderr, "%s\n", line);
    if (r->log) {
        fprintf(r->log, "%s\n", line);
        fflush(r->log);
    }
}

static void metrics_row(run *r, int64_t iter, const char *phase, double loss, double top1, double top5, double lr,
                        double ips) {
    fprintf(r->metrics, "%" PRId64 ",%s,%.6f,%s%.6f,%s%.6f,%.8g,%.1f,%.1f\n", iter, phase, loss, "", top1, "", top5,
            lr, ips, r->elapsed_before + clt_now() - r->start_time);
    fflush(r->metrics);
}

/* On resume the metrics file keeps only complete rows up to the snapshot's iteration, so it reads as
   if the run had never stopped. */
static int trim_metrics(const char *path, int64_t upto) {
    size_t len;
    if (!clt_file_exists(path)) return 0;
    char *text = clt_read_file(path, &len);
    if (!text) return -1;
    size_t cap = len + 1, out = 0;
    char *kept = clt_malloc(cap);
    char *save = NULL;
    bool header = true;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        long long it;
        bool complete = line + strlen(line) < text + len; /* had a newline */
        if (header || (complete && sscanf(line, "%lld,", &it) == 1 && it <= upto)) {
            out += snprintf(kept + out, cap - out, "%s\n", line);
        }
        header = false;
    }
    int rc = clt_write_file_atomic(path, kept, out);
    free(text);
    free(kept);
    return rc;
}

static int val_pass(run *r, double *loss_out, double *top1, double *top5) {
    clt_device *d = &r->dev;
    clt_net *net = &r->net;
    size_t count = clt_reader_count(r->val);
    int vb = r->cfg->val_batch;
    int c, h, w;
    clt_reader_shape(r->val, &c, &h, &w);
    float *images = clt_malloc((size_t)vb * c * h * w * sizeof(float));
    int *labels = clt_malloc(vb * sizeof(int)), *c1 = clt_malloc(vb * sizeof(int)), *c5 = clt_malloc(vb * sizeof(int));
    float *loss = clt_malloc(vb * sizeof(float));
    double sum_loss = 0;
    long n1 = 0, n5 = 0;
    int rc = 0;
    for (size_t start = 0; start < count && clt_device_ok(d); start += vb) {
        int n = (int)CLT_MIN((size_t)vb, count - start);
        if (clt_reader_val_batch(r->val, start, n, images, labels) != 0) {
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

static int validate(run *r) {
    double t0 = clt_now(), loss, top1, top5;
    if (val_pass(r, &loss, &top1, &top5) != 0 || clt_device_report(&r->dev) != 0) return -1;
    double ips = clt_reader_count(r->val) / (clt_now() - t0);
    metrics_row(r, r->iter, "val", loss, top1, top5, clt_solver_lr(r->cfg, r->iter), ips);
    logf_(r, "iter %" PRId64 " validation: loss %.4f top-1 %.4f top-5 %.4f (%.0f images/s)", r->iter, loss, top1,
          top5, ips);
    r->last_top1 = top1;
    if (!isfinite(loss)) return 1;
    return 0;
}

static int snapshot(run *r, const char *name) {
    char file[96];
    if (!name) snprintf(file, sizeof file, "snapshot_iter_%" PRId64 ".ckpt", r->iter);
    char *path = clt_path_join(r->out, name ? name : file);
    /* the loss window makes the first training row after a resume the uninterrupted run's */
    int display = (int)r->cfg->display;
    float *window = clt_malloc(display * sizeof(float));
    clt_download(&r->dev, window, r->loss_slots, 0, display * sizeof(float));
    clt_ckpt_blob extra[2] = {{"solver.loss_window", 1, {display}, (size_t)display, window},
                              {"mean", 3, {r->mean_c, r->mean_h, r->mean_w},
                               (size_t)r->mean_c * r->mean_h * r->mean_w, r->mean}};
    int rc = clt_device_report(&r->dev);
    if (rc == 0) rc = clt_checkpoint_save(path, &r->net, &r->dev, r->iter, r->cfg->seed, r->cfg->batch, extra, 2);
    free(window);
    if (rc == 0) logf_(r, "wrote %s", path);
    free(path);
    if (rc != 0 || name) return rc;
    /* keep the newest two snapshots: enough to resume, bounded on disk */
    DIR *dp = opendir(r->out);
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        long long it;
        if (sscanf(e->d_name, "snapshot_iter_%lld.ckpt", &it) == 1 && it < r->iter - r->cfg->snapshot &&
            strstr(e->d_name, ".tmp") == NULL) {
            char *old = clt_path_join(r->out, e->d_name);
            unlink(old);
            free(old);
        }
    }
    if (dp) closedir(dp);
    return 0;
}

static void format_eta(double s, char *buf, size_t n) {
    if (!isfinite(s) || s < 0) snprintf(buf, n, "?");
    else if (s < 120) snprintf(buf, n, "%.0fs", s);
    else if (s < 7200) snprintf(buf, n, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
    else snprintf(buf, n, "%.0fh%02.0fm", floor(s / 3600), fmod(s / 60, 60));
}

/* ---- set-up ---- */

static int open_output(run *r, bool resume) {
    const clt_config *c = r->cfg;
    r->out = clt_strdup(c->output);
    if (clt_mkdirs(r->out) != 0) return -1;
    long long snap_iter;
    char *snap = clt_newest_snapshot(r->out, &snap_iter);
    char *metrics = clt_path_join(r->out, "metrics.csv"), *final = clt_path_join(r->out, "final.ckpt");
    bool used = snap || clt_file_exists(metrics) || clt_file_exists(final);
    free(snap), free(metrics), free(final);
    if (used && !resume) {
        clt_error("%s already holds a run; pass --resume to continue it, or choose another [run] output", r->out);
        return -1;
    }
    return 0;
}

static int load_mean(run *r) {
    const clt_config *c = r->cfg;
    clt_mode mode = clt_config_mode(c);
    uint64_t count;
    if (c->mean[0]) return clt_mean_read(c->mean, &r->mean_c, &r->mean_h, &r->mean_w, &count, &r->mean);
    if ((mode == CLT_MODE_FROZEN || mode == CLT_MODE_FINETUNE)) {
        /* the study subtracts the base net's mean, also when the target is the other half */
        clt_checkpoint ck;
        if (clt_checkpoint_load(&ck, c->base) != 0) return -1;
        const clt_ckpt_blob *b = clt_checkpoint_find(&ck, "mean");
        if (b && b->ndims == 3) {
            r->mean_c = b->dims[0], r->mean_h = b->dims[1], r->mean_w = b->dims[2];
            r->mean = clt_malloc(b->count * sizeof(float));
            memcpy(r->mean, b->data, b->count * sizeof(float));
        }
        clt_checkpoint_free(&ck);
        if (r->mean) return 0;
        clt_warn("%s holds no mean image; using the training pack's", c->base);
    }
    char *path = clt_pack_side_path(c->train, ".mean");
    int rc = clt_mean_read(path, &r->mean_c, &r->mean_h, &r->mean_w, &count, &r->mean);
    free(path);
    return rc;
}

static int open_data(run *r) {
    const clt_config *c = r->cfg;
    if (load_mean(r) != 0) return -1;
    char *mean_path = clt_path_join(r->out, "mean.bin");
    if (clt_mean_write(mean_path, r->mean_c, r->mean_h, r->mean_w, 0, r->mean) != 0) {
        free(mean_path);
        return -1;
    }
    clt_reader_config rc = {.pack_path = c->train, .mean_path = mean_path, .crop = c->crop, .train = 1,
                            .mirror = c->mirror, .scale = (float)c->scale, .batch = c->batch,
                            .seed = (uint64_t)c->seed, .threads = c->threads};
    int err = clt_reader_open(&r->train, &rc);
    if (!err) {
        rc.pack_path = c->val;
        rc.train = 0;
        rc.batch = c->val_batch;
        err = clt_reader_open(&r->val, &rc);
    }
    free(mean_path);
    if (err) return -1;
    int tc = clt_reader_classes(r->train), vc = clt_reader_classes(r->val);
    if (tc != vc)
        clt_warn("%s has %d classes but %s has %d", c->train, tc, c->val, vc);
    return 0;
}

static int build_arch(run *r, clt_arch *a) {
    const clt_config *c = r->cfg;
    if (!strcmp(c->arch, "small")) clt_arch_small(a);
    else clt_arch_caffenet(a);
    clt_reader_shape(r->train, &a->in_c, &a->in_h, &a->in_w);
    if (c->widths[0]) {
        for (int i = 0; i < 5; i++) a->conv[i].out = c->widths[i];
        a->fc[0] = c->widths[5], a->fc[1] = c->widths[6];
    }
    int classes = c->classes ? c->classes : clt_reader_classes(r->train);
    a->fc[2] = c->fc8 ? c->fc8 : classes;
    if (a->fc[2] < classes) {
        clt_error("%s: [net] fc8 = %d is narrower than the %d classes of %s", c->source, a->fc[2], classes, c->train);
        return -1;
    }
    a->dropout = (float)c->dropout;
    if (!strcmp(c->init, "gaussian")) a->init = CLT_INIT_GAUSSIAN;
    if (!strcmp(c->init, "he")) a->init = CLT_INIT_HE;
    return clt_arch_check(a);
}

static int init_params(run *r, bool resume) {
    const clt_config *c = r->cfg;
    clt_net *net = &r->net;
    clt_mode mode = clt_config_mode(c);
    r->lowest = (mode == CLT_MODE_FROZEN || mode == CLT_MODE_RANDOM) ? c->layers + 1 : 1;
    long long snap_iter = 0;
    char *snap = resume ? clt_newest_snapshot(r->out, &snap_iter) : NULL;
    if (snap) {
        clt_checkpoint ck;
        int rc = clt_checkpoint_load(&ck, snap);
        if (rc == 0 && ck.seed != c->seed) {
            clt_error("%s was written with seed %" PRId64 ", but the config says %" PRId64, snap, ck.seed, c->seed);
            rc = -1;
        }
        if (rc == 0) rc = clt_checkpoint_apply(&ck, snap, net, &r->dev, 1, CLT_LAYERS, true);
        const clt_ckpt_blob *window = clt_checkpoint_find(&ck, "solver.loss_window");
        if (rc == 0 && window && window->count == (size_t)c->display)
            clt_upload(&r->dev, r->loss_slots, 0, window->data, window->count * sizeof(float));
        if (rc == 0) {
            r->iter = ck.iter;
            logf_(r, "resuming from %s at iteration %" PRId64, snap, r->iter);
        }
        clt_checkpoint_free(&ck);
        char *metrics = clt_path_join(r->out, "metrics.csv");
        if (rc == 0) rc = trim_metrics(metrics, r->iter);
        free(metrics);
        free(snap);
        return rc;
    }
    r->iter = 0;
    /* a fresh start: whatever a killed earlier attempt left in metrics.csv is void */
    char *metrics = clt_path_join(r->out, "metrics.csv");
    unlink(metrics);
    free(metrics);
    clt_net_init_layers(net, &r->dev, (uint64_t)c->seed, 1, CLT_LAYERS);
    if (mode == CLT_MODE_FROZEN || mode == CLT_MODE_FINETUNE) {
        clt_checkpoint ck;
        if (clt_checkpoint_load(&ck, c->base) != 0) return -1;
        int rc = clt_checkpoint_apply(&ck, c->base, net, &r->dev, 1, c->layers, false);
        clt_checkpoint_free(&ck);
        if (rc != 0) return -1;
        logf_(r, "copied layers 1..%d from %s (%s)", c->layers, c->base, mode == CLT_MODE_FROZEN ? "frozen" : "fine-tuned");
    } else if (mode == CLT_MODE_RANDOM) {
        logf_(r, "layers 1..%d random and frozen", c->layers);
    }
    return clt_device_report(&r->dev);
}

static int write_effective_config(run *r) {
    char *path = clt_path_join(r->out, "config.ini");
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    fprintf(mem, "; effective configuration of this run (defaults filled in)\n");
    clt_config_write(r->cfg, mem);
    fclose(mem);
    int rc = clt_write_file_atomic(path, buf, len);
    free(buf);
    free(path);
    return rc;
}

static void teardown(run *r) {
    for (int i = 0; i < 2; i++) {
        if (r->upload_done[i]) {
            clWaitForEvents(1, &r->upload_done[i]);
            clReleaseEvent(r->upload_done[i]);
        }
        free(r->host_in[i]);
        free(r->host_labels[i]);
    }
    clt_prefix_cache_close(&r->prefix);
    if (r->train) clt_reader_close(r->train);
    if (r->val) clt_reader_close(r->val);
    clt_free(r->loss_slots);
    if (r->net_made) clt_net_destroy(&r->net);
    if (r->dev_open) clt_device_close(&r->dev);
    if (r->log) fclose(r->log);
    if (r->metrics) fclose(r->metrics);
    free(r->mean);
    free(r->out);
}

/* ---- the loop ---- */

static void wait_upload(run *r, int slot) {
    if (r->upload_done[slot]) {
        clWaitForEvents(1, &r->upload_done[slot]);
        clReleaseEvent(r->upload_done[slot]);
        r->upload_done[slot] = NULL;
    }
}

/* Uploads host buffer `slot` into the net's input without blocking. Validation passes run through
   the same input buffers, so the batch staged before one is uploaded again after it from here. */
static int upload_batch(run *r, int slot) {
    clt_net *net = &r->net;
    cl_event e1 = NULL;
    wait_upload(r, slot);
    if (!clt_device_ok(&r->dev)) return -1;
    size_t floats = (size_t)r->cfg->batch * net->arch.in_c * net->arch.in_h * net->arch.in_w;
    cl_int err = clEnqueueWriteBuffer(r->dev.queue, net->input.data, CL_FALSE, 0, floats * sizeof(float),
                                      r->host_in[slot], 0, NULL, NULL);
    if (clt_check_cl(&r->dev, err, "clEnqueueWriteBuffer", "input batch"))
        err = clEnqueueWriteBuffer(r->dev.queue, net->labels, CL_FALSE, 0, r->cfg->batch * sizeof(int),
                                   r->host_labels[slot], 0, NULL, &e1);
    if (!clt_check_cl(&r->dev, err, "clEnqueueWriteBuffer", "labels")) return -1;
    r->upload_done[slot] = e1;
    return 0;
}

/* Fills host buffer `slot` with batch `iter` and uploads it without blocking: the host prepares the
   next batch while the device trains on this one. */
static int stage_batch(run *r, int slot, int64_t iter) {
    wait_upload(r, slot); /* the host buffer is the source of a write that may still be running */
    if (clt_reader_train_batch(r->train, (uint64_t)iter, r->host_in[slot], r->host_labels[slot]) != 0) return -1;
    return upload_batch(r, slot);
}

/* A run whose final.ckpt holds all of max_iter is done: --resume leaves it, its metrics.csv among
   its files, exactly as it is. Resuming it from its newest snapshot would trim metrics.csv back to
   that snapshot first, and a kill before the last rows were written again would leave a finished
   run with a shorter metrics.csv than it had. */
static bool finished(run *r) {
    char *final = clt_path_join(r->out, "final.ckpt");
    bool done = false;
    if (clt_file_exists(final)) {
        clt_checkpoint ck;
        if (clt_checkpoint_load(&ck, final) == 0) {
            done = ck.iter >= r->cfg->max_iter && ck.seed == r->cfg->seed;
            if (done && !r->quiet)
                fprintf(stderr, "%s: finished at iteration %" PRId64 "; nothing to resume\n", final, ck.iter);
            clt_checkpoint_free(&ck);
        }
    }
    free(final);
    return done;
}

int clt_train(const clt_config *cfg, const clt_train_options *opt) {
    run R = {0}, *r = &R;
    r->cfg = cfg;
    r->quiet = opt->quiet;
    r->tty = isatty(STDERR_FILENO);
    int status = CLT_EXIT_ERROR;
    if (open_output(r, opt->resume) != 0) {
        status = CLT_EXIT_USAGE;
        goto done;
    }
    if (opt->resume && finished(r)) {
        status = CLT_EXIT_OK;
        goto done;
    }
    {
        char *lp = clt_path_join(r->out, "log.txt");
        r->log = fopen(lp, "a");
        free(lp);
    }
    logf_(r, "run %s: config %s, output %s", cfg->name, cfg->source[0] ? cfg->source : "(defaults)", r->out);
    if (write_effective_config(r) != 0) goto done;
    const char *sel = opt->device ? opt->device : cfg->device;
    if (clt_device_open(&r->dev, sel[0] ? sel : NULL) != 0) goto done;
    r->dev_open = true;
    logf_(r, "device [%d] %s (%s, driver %s)", r->dev.index, r->dev.name, r->dev.platform_name, r->dev.driver_version);
    if (open_data(r) != 0) goto done;
    clt_arch arch;
    if (build_arch(r, &arch) != 0) goto done;
    /* one set of buffers serves both passes; validation may run larger batches than training */
    if (clt_net_create(&r->net, &r->dev, &arch, CLT_MAX(cfg->batch, cfg->val_batch)) != 0) goto done;
    r->net_made = true;
    r->loss_slots = clt_alloc(&r->dev, cfg->display * sizeof(float), "loss history");
    if (init_params(r, opt->resume) != 0) goto done;
    char note[256];
    if (clt_prefix_cache_open(&r->prefix, &r->net, &r->dev, r->lowest - 1, cfg->batch, clt_reader_count(r->train),
                              cfg->crop == 0 && !cfg->mirror, note, sizeof note) != 0 || clt_device_report(&r->dev) != 0)
        goto done;
    if (note[0]) logf_(r, "%s", note);

    char *mpath = clt_path_join(r->out, "metrics.csv");
    bool fresh = !clt_file_exists(mpath);
    r->metrics = fopen(mpath, "a");
    free(mpath);
    if (!r->metrics) {
        clt_error("cannot write %s/metrics.csv: %s", r->out, strerror(errno));
        goto done;
    }
    if (fresh) {
        fprintf(r->metrics, "iter,phase,loss,top1,top5,lr,images_per_s,elapsed_s\n");
        fflush(r->metrics);
    }
    {
        /* elapsed_s continues across resumes */
        r->elapsed_before = 0;
        char *lp = clt_path_join(r->out, "metrics.csv");
        size_t len;
        char *text = clt_read_file(lp, &len);
        free(lp);
        if (text) {
            char *last = NULL;
            for (char *p = strtok(text, "\n"); p; p = strtok(NULL, "\n")) last = p;
            char *comma = last ? strrchr(last, ',') : NULL;
            if (comma && last != text) r->elapsed_before = atof(comma + 1);
            free(text);
        }
    }

    clt_net *net = &r->net;
    clt_device *d = &r->dev;
    for (int i = 0; i < 2; i++) {
        r->host_in[i] = clt_malloc(net->input.count * sizeof(float));
        r->host_labels[i] = clt_malloc(cfg->batch * sizeof(int));
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    r->start_time = clt_now();
    if (r->iter == 0 && cfg->test_initialization && validate(r) != 0) goto done;
    double window_start = clt_now();
    int64_t window_iters = 0;
    float *losses = clt_malloc(cfg->display * sizeof(float));
    if (r->iter < cfg->max_iter && stage_batch(r, (int)(r->iter & 1), r->iter) != 0) goto loop_failed;
    while (r->iter < cfg->max_iter) {
        int64_t it = r->iter;
        uint64_t drop_seed = (uint64_t)cfg->seed * 1000003ULL + (uint64_t)it;
        clt_prefix_cache_forward(&r->prefix, net, d, r->train, (uint64_t)it, drop_seed);
        CLT_LAUNCH(d, "metrics_mean_loss", 1, (size_t[]){1}, NULL, CLT_INT(cfg->batch), CLT_MEM(net->loss),
                   CLT_MEM(r->loss_slots), CLT_INT(it % cfg->display));
        clt_net_backward(net, d, cfg->batch, r->lowest, drop_seed);
        clt_solver_update(net, d, cfg, it, r->lowest);
        clFlush(d->queue);
        r->iter = it + 1;
        window_iters++;
        /* the next batch is read and uploaded while the device works on this one */
        if (r->iter < cfg->max_iter && stage_batch(r, (int)(r->iter & 1), r->iter) != 0) goto loop_failed;
        if (!clt_device_ok(d)) goto loop_failed;

        bool at_display = r->iter % cfg->display == 0 || r->iter == cfg->max_iter;
        bool at_snapshot = r->iter % cfg->snapshot == 0 && r->iter < cfg->max_iter;
        if (at_display || at_snapshot || stop_signal) {
            /* the window is the iterations since the last display boundary: a pure function of iter */
            int64_t n = r->iter - (r->iter - 1) / cfg->display * cfg->display;
            clt_download(d, losses, r->loss_slots, 0, cfg->display * sizeof(float));
            if (clt_device_report(d) != 0) goto loop_failed;
            double sum = 0;
            for (int64_t k = r->iter - n; k < r->iter; k++) sum += losses[k % cfg->display];
            double loss = sum / (n ? n : 1);
            if (!isfinite(loss)) {
                long long snap_iter;
                char *snap = clt_newest_snapshot(r->out, &snap_iter);
                logf_(r, "error: the training loss became %s by iteration %" PRId64 "; stopping. The last good "
                      "snapshot is %s", isnan(loss) ? "NaN" : "infinite", r->iter, snap ? snap : "(none yet)");
                free(snap);
                status = CLT_EXIT_DIVERGED;
                goto loop_done;
            }
            if (at_display) {
                double now = clt_now(), ips = window_iters * cfg->batch / (now - window_start);
                metrics_row(r, r->iter, "train", loss, NAN, NAN, clt_solver_lr(cfg, it), ips);
                char eta[32];
                format_eta((cfg->max_iter - r->iter) * cfg->batch / ips, eta, sizeof eta);
                if (r->tty && !r->quiet)
                    fprintf(stderr, "\r\033[Kiter %" PRId64 "/%" PRId64 "  loss %.4f  val top-1 %.4f  %.0f images/s  ETA %s",
                            r->iter, cfg->max_iter, loss, r->last_top1, ips, eta);
                else if (!r->quiet)
                    fprintf(stderr, "iter %" PRId64 "/%" PRId64 " loss %.4f val top-1 %.4f %.0f images/s ETA %s\n",
                            r->iter, cfg->max_iter, loss, r->last_top1, ips, eta);
                if (r->log) fprintf(r->log, "iter %" PRId64 " loss %.6f lr %.6g %.1f images/s\n", r->iter, loss,
                                    clt_solver_lr(cfg, it), ips);
                window_start = now;
                window_iters = 0;
            }
        }
        if (r->iter % cfg->test_interval == 0 || r->iter == cfg->max_iter) {
            int v = validate(r);
            if (v < 0) goto loop_failed;
            if (v > 0) {
                logf_(r, "error: the validation loss is not finite at iteration %" PRId64 "; stopping", r->iter);
                status = CLT_EXIT_DIVERGED;
                goto loop_done;
            }
            if (r->iter < cfg->max_iter && upload_batch(r, (int)(r->iter & 1)) != 0) goto loop_failed;
        }
        if (at_snapshot && snapshot(r, NULL) != 0) goto loop_failed;
        if (stop_signal) {
            logf_(r, "signal %d: writing a snapshot at iteration %" PRId64 " before stopping", (int)stop_signal, r->iter);
            if (!at_snapshot && snapshot(r, NULL) != 0) goto loop_failed;
            status = 128 + (int)stop_signal;
            goto loop_done;
        }
    }
    if (snapshot(r, "final.ckpt") != 0) goto loop_failed;
    logf_(r, "done: %" PRId64 " iterations, final validation top-1 %.4f", r->iter, r->last_top1);
    status = CLT_EXIT_OK;
    goto loop_done;
loop_failed:
    clt_device_report(d);
    status = CLT_EXIT_ERROR;
loop_done:
    free(losses);
done:
    teardown(r);
    return status;
}
