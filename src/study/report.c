/* report.c — `cltransfer report RUN_FOLDER`: reads every network's config and metrics.csv, writes
   results.csv, the figures (report_plot.c) and report.md with the paper's numbers beside ours. */
#include "study/report.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/pack.h"
#include "net/config.h"
#include "net/treatment.h"
#include "util/ini.h"
#include "util/strbuf.h"
#include "util/util.h"

/* The paper's 1000-class base net (supplement A: 42.5% top-1 error). Its networks CSV has no such
   net, yet Figure 3 normalises the random-frozen nets by it. */
#define PAPER_WHOLE_BASE 0.575


/* ---------- reading ---------- */

static char *csv_field(char **cursor) {
    char *s = *cursor, *comma = strchr(s, ',');
    if (comma) {
        *comma = 0;
        *cursor = comma + 1;
    } else {
        *cursor = s + strlen(s);
    }
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\r' || s[n - 1] == '\n')) s[--n] = 0;
    return s;
}

static int column(char *header, const char *name) {
    char *cur = header;
    for (int i = 0; *cur || i == 0; i++) {
        char *f = csv_field(&cur);
        if (!strcmp(f, name)) return i;
        if (!*cur) break;
    }
    return -1;
}

int clt_report_read_metrics(const char *path, double **top1, int *n, long long *last_iter) {
    *top1 = NULL;
    *n = 0;
    *last_iter = 0;
    char *text = clt_read_file(path, NULL);
    if (!text) return -1;
    char *line = text, *eol = strchr(line, '\n');
    if (!eol) {
        free(text);
        return 0;
    }
    *eol = 0;
    char *hdr = clt_strdup(line), *hdr2 = clt_strdup(line), *hdr3 = clt_strdup(line);
    int c_iter = column(hdr, "iter"), c_phase = column(hdr2, "phase"), c_top1 = column(hdr3, "top1");
    free(hdr);
    free(hdr2);
    free(hdr3);
    if (c_iter < 0 || c_phase < 0 || c_top1 < 0) {
        clt_error("%s: the header lacks iter, phase or top1", path);
        free(text);
        return -1;
    }
    int cap = 0;
    for (line = eol + 1; *line; line = eol ? eol + 1 : line + strlen(line)) {
        eol = strchr(line, '\n');
        if (eol) *eol = 0;
        else if (!*line) break;
        char *cur = line, *iter = NULL, *phase = NULL, *t1 = NULL;
        for (int i = 0; *cur || i <= CLT_MAX(c_iter, CLT_MAX(c_phase, c_top1)); i++) {
            char *f = csv_field(&cur);
            if (i == c_iter) iter = f;
            if (i == c_phase) phase = f;
            if (i == c_top1) t1 = f;
            if (!*cur) break;
        }
        if (!iter || !phase) continue; /* a line cut short by a crash */
        char *end;
        long long it = strtoll(iter, &end, 10);
        if (end != iter) *last_iter = CLT_MAX(*last_iter, it);
        if (strcmp(phase, "val") || !t1 || !*t1) continue;
        double v = strtod(t1, &end);
        if (end == t1 || !isfinite(v)) continue;
        if (*n == cap) *top1 = clt_realloc(*top1, (size_t)(cap = cap ? cap * 2 : 64) * sizeof **top1);
        (*top1)[(*n)++] = v;
        if (!eol) break;
    }
    free(text);
    return 0;
}

static void normalise_target(char *t) {
    if (!strncmp(t, "all", 3)) snprintf(t, 8, "all"); /* the paper's CSV says all1000 */
}

int clt_report_read_reference(const char *path, clt_result **out, int *n) {
    *out = NULL;
    *n = 0;
    char *text = clt_read_file(path, NULL);
    if (!text) return -1;
    char *eol = strchr(text, '\n');
    if (!eol) {
        free(text);
        return -1;
    }
    *eol = 0;
    static const char *COLS[] = {"network", "treatment", "split", "base", "target", "n", "top1_mean_best10", "top1_last",
                                 "last_iter", "test_points"};
    int col[10];
    for (int k = 0; k < 10; k++) {
        char *h = clt_strdup(text);
        col[k] = column(h, COLS[k]);
        free(h);
        if (col[k] < 0) {
            clt_error("%s: no column %s", path, COLS[k]);
            free(text);
            return -1;
        }
    }
    int cap = 0;
    for (char *line = eol + 1, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *f[16] = {0}, *cur = line;
        for (int i = 0; i < 16; i++) {
            f[i] = csv_field(&cur);
            if (!*cur) break;
        }
        if (!f[col[9]] || !f[col[0]][0]) continue;
        if (*n == cap) *out = clt_realloc(*out, (size_t)(cap = cap ? cap * 2 : 160) * sizeof **out);
        clt_result *r = &(*out)[(*n)++];
        memset(r, 0, sizeof *r);
        snprintf(r->network, sizeof r->network, "%s", f[col[0]]);
        snprintf(r->treatment, sizeof r->treatment, "%s", f[col[1]]);
        snprintf(r->split, sizeof r->split, "%s", f[col[2]]);
        snprintf(r->base, sizeof r->base, "%s", f[col[3]]);
        snprintf(r->target, sizeof r->target, "%s", f[col[4]]);
        normalise_target(r->target);
        r->n = atoi(f[col[5]]);
        r->metric = atof(f[col[6]]);
        r->final_top1 = atof(f[col[7]]);
        r->last_iter = atoll(f[col[8]]);
        r->val_points = atoi(f[col[9]]);
        r->done = 1;
        r->dissimilar = !strcmp(r->split, "natman");
    }
    free(text);
    return 0;
}

/* Reads path with the project's INI reader and hands each setting to the handler, in file order. */
typedef int (*ini_handler)(void *user, const char *section, const char *key, const char *value);
static int read_ini(const char *path, bool continuation, ini_handler handler, void *user) {
    clt_ini_dialect dialect = {CLT_INI_MAX_BYTES, continuation};
    clt_ini ini;
    if (clt_ini_load(&ini, path, &dialect) != 0) return -1;
    for (int i = 0; i < ini.n; i++) handler(user, ini.e[i].section, ini.e[i].key, ini.e[i].value);
    clt_ini_free(&ini);
    return 0;
}

/* What a network's config says about it; read leniently, since the report must read configs of
   any version of the trainer. */
typedef struct net_info {
    char treatment[16], split[32], base[4], target[8];
    int layers, repeat, per_class;
} net_info;

static int net_info_handler(void *user, const char *section, const char *key, const char *value) {
    net_info *ni = user;
    if (!strcmp(section, "study")) {
        if (!strcmp(key, "treatment")) snprintf(ni->treatment, sizeof ni->treatment, "%s", value);
        if (!strcmp(key, "split")) snprintf(ni->split, sizeof ni->split, "%s", value);
        if (!strcmp(key, "base")) snprintf(ni->base, sizeof ni->base, "%s", value);
        if (!strcmp(key, "target")) snprintf(ni->target, sizeof ni->target, "%s", value);
        if (!strcmp(key, "repeat")) ni->repeat = atoi(value);
        if (!strcmp(key, "per_class")) ni->per_class = atoi(value);
    }
    if (!strcmp(section, "transfer") && !strcmp(key, "layers")) ni->layers = atoi(value);
    return 1;
}

/* RUN/report.ini, written by `cltransfer study`. */
typedef struct notes {
    int best;
    double tolerance;
    char study[64];
    clt_sb description;
    char dissimilar[32][32];
    char similar[32][32];
    int ndis, nsim;
    char section[64];
} notes;

static int notes_handler(void *user, const char *section, const char *key, const char *value) {
    notes *no = user;
    if (!strcmp(section, "report")) {
        if (!strcmp(key, "best")) no->best = atoi(value);
        if (!strcmp(key, "tolerance")) no->tolerance = atof(value);
        if (!strcmp(key, "study")) snprintf(no->study, sizeof no->study, "%s", value);
        if (!strcmp(key, "description")) clt_sb_printf(&no->description, "%s%s", no->description.len ? "\n" : "", value);
    }
    if (!strncmp(section, "split ", 6) && !strcmp(key, "dissimilar")) {
        int yes = !strcasecmp(value, "yes") || !strcasecmp(value, "true") || !strcmp(value, "1");
        if (yes && no->ndis < 32) snprintf(no->dissimilar[no->ndis++], 32, "%s", section + 6);
        if (!yes && no->nsim < 32) snprintf(no->similar[no->nsim++], 32, "%s", section + 6);
    }
    return 1;
}

static int split_dissimilar(const notes *no, const char *split) {
    for (int i = 0; i < no->ndis; i++)
        if (!strcmp(no->dissimilar[i], split)) return 1;
    for (int i = 0; i < no->nsim; i++)
        if (!strcmp(no->similar[i], split)) return 0;
    /* A folder not made by `cltransfer study`: the paper's name for it, or ours. */
    return !strcmp(split, "natman") || !strncmp(split, "dissimilar", 10);
}

typedef struct gather {
    clt_result *r;
    int n, cap, best, skipped;
    const notes *no;
    const char *root;
} gather;

/* Images and classes of the validation pack named by the trainer's config.ini (0 when it or the
   pack is gone): the size of the validation noise, and what chance is. */
static void read_val_pack(const char *dir, clt_result *r) {
    char *path = clt_path_join(dir, "config.ini");
    clt_config cfg;
    clt_config_defaults(&cfg);
    r->val_images = r->classes = 0;
    if (clt_file_exists(path) && clt_config_load(&cfg, path) == 0 && cfg.val[0] && clt_file_exists(cfg.val)) {
        clt_pack p;
        if (clt_pack_open(&p, cfg.val) == 0) {
            r->val_images = p.count > INT32_MAX ? INT32_MAX : (int)p.count;
            r->classes = p.classes;
            clt_pack_close(&p);
        }
    }
    free(path);
}

int clt_report_at_chance(const clt_result *r) {
    if (r->classes < 2 || r->val_images < 1 || !isfinite(r->metric)) return 0;
    double chance = 1.0 / r->classes;
    return r->metric <= chance + 2 * sqrt(chance * (1 - chance) / r->val_images);
}

static void read_net(gather *g, const char *dir) {
    char *cfg = clt_path_join(dir, "config.ini");
    if (!clt_file_exists(cfg)) {
        free(cfg);
        cfg = clt_path_join(dir, "net.ini");
    }
    net_info ni = {0};
    if (read_ini(cfg, false, net_info_handler, &ni) != 0 || !ni.treatment[0]) {
        g->skipped++;
        free(cfg);
        return;
    }
    free(cfg);
    if (g->n == g->cap) g->r = clt_realloc(g->r, (size_t)(g->cap = g->cap ? g->cap * 2 : 64) * sizeof *g->r);
    clt_result *r = &g->r[g->n++];
    memset(r, 0, sizeof *r);
    const char *rel = dir + strlen(g->root);
    while (*rel == '/') rel++;
    snprintf(r->network, sizeof r->network, "%s", rel);
    snprintf(r->treatment, sizeof r->treatment, "%s", ni.treatment);
    snprintf(r->split, sizeof r->split, "%s", ni.split);
    snprintf(r->base, sizeof r->base, "%s", ni.base);
    snprintf(r->target, sizeof r->target, "%s", ni.target);
    normalise_target(r->target);
    r->n = !strcmp(ni.treatment, "reduced") ? ni.per_class : ni.layers;
    r->repeat = ni.repeat;
    r->dissimilar = split_dissimilar(g->no, ni.split);
    char *metrics = clt_path_join(dir, "metrics.csv"), *final = clt_path_join(dir, "final.ckpt");
    double *top1 = NULL;
    int nv = 0;
    r->metric = r->final_top1 = NAN;
    if (clt_file_exists(metrics) && clt_report_read_metrics(metrics, &top1, &nv, &r->last_iter) == 0 && nv) {
        r->metric = clt_report_best_mean(top1, nv, g->best);
        r->final_top1 = top1[nv - 1];
    }
    r->val_points = nv;
    read_val_pack(dir, r);
    r->done = clt_file_exists(final);
    free(top1);
    free(metrics);
    free(final);
}

/* A folder holding config.ini or net.ini is a network; others are searched a few levels down. */
static void walk(gather *g, const char *dir, int depth) {
    char *c1 = clt_path_join(dir, "config.ini"), *c2 = clt_path_join(dir, "net.ini");
    int is_net = clt_file_exists(c1) || clt_file_exists(c2);
    free(c1);
    free(c2);
    if (is_net) {
        read_net(g, dir);
        return;
    }
    if (depth > 4) return;
    DIR *d = opendir(dir);
    if (!d) return;
    char **names = NULL;
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        /* A run folder's own data and plots hold no networks; below nets/ every name may be a split. */
        if (e->d_name[0] == '.' || (!depth && (!strcmp(e->d_name, "data") || !strcmp(e->d_name, "plots")))) continue;
        names = clt_realloc(names, (size_t)(nn + 1) * sizeof *names);
        names[nn++] = clt_strdup(e->d_name);
    }
    closedir(d);
    for (int i = 0; i < nn; i++) {
        char *p = clt_path_join(dir, names[i]);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) walk(g, p, depth + 1);
        free(p);
        free(names[i]);
    }
    free(names);
}

/* The list's order (net/treatment.h); unknown treatments last. */
static int treatment_rank(const char *t) {
    int i = clt_treatment_index(t);
    return i < 0 ? CLT_TREATMENTS : i;
}

static int cmp_result(const void *pa, const void *pb) {
    const clt_result *a = pa, *b = pb;
    int c;
    if ((c = strcmp(a->split, b->split))) return c;
    if ((c = treatment_rank(a->treatment) - treatment_rank(b->treatment))) return c;
    if ((c = strcmp(a->base, b->base))) return c;
    if ((c = strcmp(a->target, b->target))) return c;
    if ((c = a->n - b->n)) return c;
    if ((c = a->repeat - b->repeat)) return c;
    return strcmp(a->network, b->network);
}

/* ---------- writing ---------- */

static void num(clt_sb *b, double v) {
    if (isfinite(v)) clt_sb_printf(b, "%.5f", v);
}

static int write_results(const char *run_dir, const clt_result *r, int n, int best) {
    clt_sb b = {0};
    clt_sb_printf(&b, "network,treatment,split,base,target,n,repeat,top1_mean_best%d,top1_final,val_points,last_iter,done\n",
                  best);
    for (int i = 0; i < n; i++) {
        clt_sb_printf(&b, "%s,%s,%s,%s,%s,%d,%d,", r[i].network, r[i].treatment, r[i].split, r[i].base, r[i].target, r[i].n,
                      r[i].repeat);
        num(&b, r[i].metric);
        clt_sb_printf(&b, ",");
        num(&b, r[i].final_top1);
        clt_sb_printf(&b, ",%d,%lld,%d\n", r[i].val_points, r[i].last_iter, r[i].done);
    }
    char *path = clt_path_join(run_dir, "results.csv");
    int rc = clt_write_file_atomic(path, b.s ? b.s : "", b.len);
    free(path);
    clt_sb_free(&b);
    return rc;
}

/* "0.9012" or "–" in a table cell; signed for differences. */
static void cell(clt_sb *b, double v, int signed_) {
    if (!isfinite(v))
        clt_sb_printf(b, " – |");
    else
        clt_sb_printf(b, signed_ ? " %+.4f |" : " %.4f |", v);
}

static void cell_pair(clt_sb *b, double ours, double paper, int signed_) {
    cell(b, ours, signed_);
    cell(b, paper, signed_);
}
static const char *verdict_word(int v, int paper) {
    if (v < 0) return "not tested";
    if (paper) return v ? "holds" : "does not hold";
    return v ? "**reproduced**" : "**not reproduced**";
}

static char *find_reference(const char *given) {
    if (given) return clt_strdup(given);
    const char *env = getenv("CLTRANSFER_REFERENCE");
    if (env && *env) return clt_strdup(env);
    char *exe = clt_exe_dir();
    const char *cands[4] = {NULL, CLT_INSTALL_DATADIR "/reference/yosinski2014_networks.csv",
                            CLT_SOURCE_DIR "/conf/reference/yosinski2014_networks.csv", NULL};
    char *rel = exe ? clt_path_join(exe, "../share/cltransfer/reference/yosinski2014_networks.csv") : NULL;
    cands[0] = rel;
    char *found = NULL;
    for (int i = 0; i < 3 && !found; i++)
        if (cands[i] && clt_file_exists(cands[i])) found = clt_strdup(cands[i]);
    free(rel);
    free(exe);
    return found;
}

/* The noise paragraph: what τ must exceed, measured on this run. */
static void write_noise(clt_sb *b, const clt_noise *z, double tau) {
    clt_sb_printf(b, "**Noise.** ");
    if (isfinite(z->seed_sd))
        clt_sb_printf(b, "Seed spread: base nets differ by σ = %.4f between repeats (pooled over %d nets in %d split and "
                         "half groups). ", z->seed_sd, z->seed_nets, z->seed_groups);
    else
        clt_sb_printf(b, "Seed spread: not measured (every base net was trained once; `[split NAME] base_repeats = 3` "
                         "trains extra base nets for it). ");
    if (isfinite(z->rep_delta_sd)) {
        clt_sb_printf(b, "Checked on Figure 2's networks: one network's Δ from its own base (same repeat) differs by "
                         "σ = %.4f between repeats (pooled over %d nets in %d groups)",
                      z->rep_delta_sd, z->rep_delta_nets, z->rep_delta_groups);
        if (isfinite(z->seed_sd))
            clt_sb_printf(b, ", where two independent draws of the seed spread give √2·σ = %.4f", sqrt(2) * z->seed_sd);
        if (z->net_sd_from == CLT_NOISE_REPEAT_DELTA)
            clt_sb_printf(b, "; the larger, σ/√2 = %.4f a network, is the one the margins use", z->net_sd);
        clt_sb_printf(b, ". ");
    }
    if (isfinite(z->val_sd))
        clt_sb_printf(b, "Validation spread: σ = %.4f, the binomial standard error of one base net's top-1 on its %d "
                         "validation images (one image is %.4f). ", z->val_sd, z->val_images, 1.0 / z->val_images);
    else
        clt_sb_printf(b, "Validation spread: unknown (the validation packs were not found). ");
    if (isfinite(z->delta_sd))
        clt_sb_printf(b, "A Δ at one n (the mean of %d networks against the mean of %d base nets) then has σ ≈ %.4f%s; "
                         "τ = %.4f is %.1f of those.%s",
                      z->delta_nets, z->delta_bases, z->delta_sd,
                      z->net_sd_from == CLT_NOISE_VALIDATION ? " (the validation spread standing in for the seed spread)" : "", tau,
                      tau / z->delta_sd,
                      tau < 2 * z->delta_sd ? " **τ is under two σ: verdicts can be decided by noise (raise [report] "
                                              "tolerance, the repeats or the validation set).**"
                                            : "");
    clt_sb_printf(b, " The column *margin* says how far each rule's deciding number lies from its bound, and the "
                     "noise of that number (σ over the networks averaged).\n\n");
}

static const char *const NOISE_SOURCE[] = {
    [CLT_NOISE_VALIDATION] = "validation spread", [CLT_NOISE_SEED] = "seed spread",
    [CLT_NOISE_REPEAT_DELTA] = "Δ spread over repeats"};

/* "0.0031 (16 of 5000 images), σ 0.0035 from the seed spread" for the findings judged in top-1;
   "–" for the ratio rules. */
static void margin_cell(clt_sb *b, const clt_finding *f, const clt_noise *z) {
    if (f->verdict < 0 || !isfinite(f->margin)) {
        clt_sb_printf(b, " – |");
        return;
    }
    clt_sb_printf(b, " %.4f", f->margin);
    if (z->val_images > 0) clt_sb_printf(b, " (%.0f of %d images)", f->margin * z->val_images, z->val_images);
    if (isfinite(f->noise))
        clt_sb_printf(b, ", σ %.4f from the %s%s", f->noise, NOISE_SOURCE[z->net_sd_from],
                      f->margin < f->noise ? ": within the noise" : "");
    clt_sb_printf(b, " |");
}

static void write_findings(clt_sb *b, const clt_analysis *a, const clt_analysis *p, int have_paper, double tau) {
    clt_sb_printf(b, "## Findings\n\n");
    write_noise(b, &a->noise, tau);
    clt_sb_printf(b, "| finding | this run | margin | the paper's data, same rule |\n|---|---|---|---|\n");
    for (int i = 0; i < CLT_FINDINGS; i++) {
        clt_sb_printf(b, "| %s | %s: %s |", CLT_FINDING_NAMES[i], verdict_word(a->findings[i].verdict, 0),
                      a->findings[i].detail);
        margin_cell(b, &a->findings[i], &a->noise);
        if (have_paper)
            clt_sb_printf(b, " %s: %s |\n", verdict_word(p->findings[i].verdict, 1), p->findings[i].detail);
        else
            clt_sb_printf(b, " – |\n");
    }
    clt_sb_printf(
        b,
        "\n### The rules\n\n"
        "Every network is compared with its own base: the base net trained on the same split and target half (same "
        "repeat where there is one). Δ(n) is the mean over a treatment's networks at layer n of (top-1 − own base's "
        "top-1); an error ratio is (1 − top-1) / (1 − own base's top-1). τ = %.4f (top-1 as a fraction).\n\n"
        "1. **AnB ≈ baseB for n = 1, 2**: |Δ_AnB(1)| ≤ τ and |Δ_AnB(2)| ≤ τ.\n"
        "2. **BnB dips in the middle layers**: the lowest Δ_BnB(n) over n = 3..6 is at most −τ, and at least τ below "
        "Δ_BnB(1) and Δ_BnB(7) (those of the two that were trained).\n"
        "3. **BnB+ recovers to baseB**: Δ_BnB+(n) ≥ −τ at every n trained (fine-tuning leaves no drop; a BnB+ above "
        "its base is allowed and shown).\n"
        "4. **AnB falls as n grows**: the least-squares slope of Δ_AnB(n) over n is negative, and Δ_AnB at the largest "
        "n is at least τ below Δ_AnB at the smallest.\n"
        "5. **AnB+ above baseB**: Table 1's boost over layers 1–7 (mean AnB+ − pooled mean baseB) is at least τ, and so "
        "is the boost over BnB+ when BnB+ nets were trained (the control for the longer total training).\n"
        "6. **The dissimilar split transfers worse**: over the n trained on both splits, the mean error ratio of "
        "frozen transfer nets (AnB, BnA) on the dissimilar split is at least %.2f above that on the random split(s). "
        "Error ratios, not differences, because the halves of a dissimilar split can differ greatly in difficulty "
        "(Fashion-MNIST: garments ≈ 78%%, the rest ≈ 97%%), which caps how far the easy half can fall.\n"
        "7. **Random frozen layers do worse than transferred ones**: at every n trained both ways, the random-frozen "
        "nets' mean error ratio is above that of the frozen transfer nets of the random split(s), and on average by at "
        "least %.2f. The transfer nets compared are those trained on the same half as the random-frozen nets (and so "
        "measured against the same base nets), where there are such; both directions pooled otherwise (the paper's "
        "random-frozen nets learn all classes). An error ratio's scale follows its base's error, so pooling an easy "
        "half with a hard one would compare different scales.\n\n",
        tau, CLT_REPORT_RATIO_MARGIN, CLT_REPORT_RATIO_MARGIN);
}

static const char *SERIES_NAME[CLT_F2_SERIES] = {"baseB", "BnB", "BnB+", "AnB", "AnB+"};

/* Figure 2 point by point: mean top-1, its difference from the nets' own bases, and the count. */
static void fig2_table(clt_sb *b, const clt_analysis *a) {
    clt_sb_printf(b, "| n |");
    for (int s = 0; s < CLT_F2_SERIES; s++) clt_sb_printf(b, " %s |", SERIES_NAME[s]);
    clt_sb_printf(b, "\n|---|");
    for (int s = 0; s < CLT_F2_SERIES; s++) clt_sb_printf(b, "---|");
    clt_sb_printf(b, "\n");
    for (int k = 0; k < 8; k++) {
        clt_sb_printf(b, "| %d |", k);
        for (int s = 0; s < CLT_F2_SERIES; s++) {
            if (!a->fig2_count[s][k])
                clt_sb_printf(b, " |");
            else if (s == CLT_F2_BASE)
                clt_sb_printf(b, " %.4f (%d) |", a->fig2_mean[s][k], a->fig2_count[s][k]);
            else
                clt_sb_printf(b, " %.4f (%+.4f, %d) |", a->fig2_mean[s][k], a->fig2_delta[s][k], a->fig2_count[s][k]);
        }
        clt_sb_printf(b, "\n");
    }
}

static void fig3_table(clt_sb *b, const clt_analysis *a) {
    clt_sb_printf(b, "| n | dissimilar → A | dissimilar → B | random frozen | Δ AnB random split | Δ AnB dissimilar | "
                     "Δ random frozen | err ratio AnB random | err ratio AnB dissimilar | err ratio random frozen |\n"
                     "|---|---|---|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < 8; k++) {
        clt_sb_printf(b, "| %d |", k);
        cell(b, a->dis_mean[0][k], 0);
        cell(b, a->dis_mean[1][k], 0);
        cell(b, a->rf_mean[k], 0);
        cell(b, a->norm_sim[k], 1);
        cell(b, a->norm_dis[k], 1);
        cell(b, a->norm_rf[k], 1);
        cell(b, a->ratio_sim[k], 0);
        cell(b, a->ratio_dis[k], 0);
        cell(b, a->ratio_rf[k], 0);
        clt_sb_printf(b, "\n");
    }
}

static void counts_table(clt_sb *b, const clt_result *r, int n) {
    clt_sb_printf(b, "| split | treatment | finished / networks |\n|---|---|---|\n");
    for (int i = 0; i < n;) {
        int j = i, done = 0;
        while (j < n && !strcmp(r[j].split, r[i].split) && !strcmp(r[j].treatment, r[i].treatment)) done += r[j++].done;
        clt_sb_printf(b, "| %s%s | %s | %d / %d |\n", r[i].split, r[i].dissimilar ? " (dissimilar)" : "", r[i].treatment,
                      done, j - i);
        i = j;
    }
}

/* A study stopped part-way runs repeat by repeat (the study runner's order), so which repeats are
   whole says what its verdicts rest on. */
static void write_repeats_finished(clt_sb *b, const clt_result *r, int n) {
    int repeats = 0;
    for (int i = 0; i < n; i++) repeats = CLT_MAX(repeats, r[i].repeat + 1);
    clt_sb_printf(b, "Networks finished by repeat:");
    for (int k = 0; k < repeats; k++) {
        int of = 0, done = 0;
        for (int i = 0; i < n; i++)
            if (r[i].repeat == k) of++, done += r[i].done;
        clt_sb_printf(b, "%s %d of %d in repeat %d%s", k ? "," : "", done, of, k, done == of ? " (whole)" : "");
    }
    clt_sb_printf(b, ".\n\n");
}

/* Networks that learnt nothing stay in every mean (the paper keeps its random-frozen nets at chance
   too); naming them says which points of the figures they are, and for random frozen nets that a
   repeat can land either side of that cliff. */
static void write_at_chance(clt_sb *b, const clt_result *r, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!r[i].done || !clt_report_at_chance(&r[i])) continue;
        if (!k) clt_sb_printf(b, "**Networks that learnt nothing** (top-1 within two validation σ of chance, kept in every mean):");
        clt_sb_printf(b, "%s `%s` (top-1 %.4f, chance %.4f with %d classes)", k++ ? "," : "", r[i].network, r[i].metric,
                      1.0 / r[i].classes, r[i].classes);
    }
    if (k) clt_sb_printf(b, ".\n\n");
}

static void write_markdown(clt_sb *b, const char *run_dir, const notes *no, const clt_result *r, int n, int used, int best,
                           double tau, const clt_analysis *a, const clt_result *ref, int nref, const clt_analysis *p,
                           const char *ref_path, int plotted, int fig1, const char *plot_why) {
    int have = ref != NULL;
    clt_sb_printf(b, "# Transfer study report%s%s\n\n", no->study[0] ? ": " : "", no->study);
    if (no->description.len) clt_sb_printf(b, "%s\n\n", no->description.s);
    int done = 0;
    for (int i = 0; i < n; i++) done += r[i].done;
    clt_sb_printf(b,
                  "Run folder `%s`: %d networks, %d finished; %d enter the analysis%s. Every network's numbers are in "
                  "`results.csv`.\n\n"
                  "The metric of a network is the mean of its %d highest validation top-1 values%s. ",
                  run_dir, n, done, used, used < n ? " (unfinished ones are left out; `--partial` takes them in)" : "",
                  best, best == 10 ? ", as in the paper" : " (the paper used the 10 highest of 450; this study validates fewer times)");
    if (done < n) write_repeats_finished(b, r, n);
    if (have)
        clt_sb_printf(b,
                      "The paper's numbers come from `%s` (%d published networks: CaffeNet on ImageNet). The two studies "
                      "differ in data and scale, so compare shapes: the differences Δ of each network from its own base, "
                      "and the verdicts.\n\n",
                      ref_path, nref);
    else
        clt_sb_printf(b, "The paper's networks CSV was not found (pass `--reference FILE`): its columns are left empty.\n\n");

    /* The verdict in one sentence before the detail. */
    static const char *WORDS[3] = {"not tested", "not reproduced", "reproduced"};
    int count[3] = {0, 0, 0};
    for (int i = 0; i < CLT_FINDINGS; i++) count[a->findings[i].verdict + 1]++;
    clt_sb_printf(b, "**Verdict:** this run reproduces %d of the paper's %d findings", count[2], CLT_FINDINGS);
    for (int v = 2; v >= 0; v--) {
        if (!count[v]) continue;
        clt_sb_printf(b, "; %s:", WORDS[v]);
        for (int i = 0, k = 0; i < CLT_FINDINGS; i++)
            if (a->findings[i].verdict + 1 == v) clt_sb_printf(b, "%s (%d)", k++ ? "," : "", i + 1);
    }
    clt_sb_printf(b, ".\n\n");
    write_findings(b, a, p, have, tau);
    write_at_chance(b, r, n);

    if (fig1)
        clt_sb_printf(b, "## Figure 1: the first layer's filters\n\n![Figure 1](fig1.png)\n\n"
                         "conv1's filters (each scaled to its own range) of the base nets and of the fine-tuned transfer "
                         "net with the largest n, beside the base net it copied them from: the paper's opening point is "
                         "that such first-layer features (edges, blobs, Gabor-like patterns) appear in every net trained "
                         "on natural images, whatever the task, which makes them general. Fine-tuning leaves them close "
                         "to the copied ones.\n\n");
    clt_sb_printf(b, "## Figure 2: the random split%s\n\n", "");
    if (plotted) clt_sb_printf(b, "![Figure 2](fig2.png)\n\n");
    clt_sb_printf(b,
                  "Top-1 of every network (points) and the mean at each n (lines), this run beside the paper. baseB is "
                  "every base net of the random split(s) at n = 0; BnB and BnB+ pool both selffer directions (AnA, BnB), "
                  "AnB and AnB+ both transfer directions, as the paper pools them. Cells: mean top-1 (Δ from own base, "
                  "networks).\n\n**This run**\n\n");
    fig2_table(b, a);
    if (have) {
        clt_sb_printf(b, "\n**The paper** (splits 0–3)\n\n");
        fig2_table(b, p);
    }

    clt_sb_printf(b, "\n## Table 1: the boost of AnB+\n\nMean AnB+ top-1 over the layers of each range minus the pooled "
                     "baseB, and minus the mean BnB+ over the same layers, in points of top-1.\n\n"
                     "| layers | over baseB, this run | over baseB, paper | over BnB+, this run | over BnB+, paper |\n"
                     "|---|---|---|---|---|\n");
    static const char *RANGE[3] = {"1–7", "3–7", "5–7"};
    for (int g = 0; g < 3; g++) {
        clt_sb_printf(b, "| %s |", RANGE[g]);
        double v[4] = {a->boost_base[g], have ? p->boost_base[g] : NAN, a->boost_selffer_ft[g],
                       have ? p->boost_selffer_ft[g] : NAN};
        for (int k = 0; k < 4; k++) {
            if (isfinite(v[k]))
                clt_sb_printf(b, " %+.2f |", 100 * v[k]);
            else
                clt_sb_printf(b, " – |");
        }
        clt_sb_printf(b, "\n");
    }
    if (have) clt_sb_printf(b, "\nThe paper's Table 1 prints 1.6 / 1.4, 1.8 / 1.4 and 2.1 / 1.7.\n");

    clt_sb_printf(b, "\n## Figure 3: dissimilar split and random frozen layers\n\n");
    if (plotted) clt_sb_printf(b, "![Figure 3](fig3.png)\n\n");
    clt_sb_printf(b,
                  "Left: frozen transfer nets on the dissimilar split by target half (n = 0: the base nets). Middle: "
                  "random frozen nets (n = 0: their base). Right: each kind's mean difference from its own base, as the "
                  "paper's lower panel; the table adds the error ratios that findings 6 and 7 use. The paper's random "
                  "frozen nets are normalised by its 1000-class base net (top-1 %.3f, supplement A), which its networks "
                  "CSV lacks.\n\n**This run**\n\n",
                  PAPER_WHOLE_BASE);
    fig3_table(b, a);
    if (have) {
        clt_sb_printf(b, "\n**The paper** (natman split; random frozen on all 1000 classes)\n\n");
        fig3_table(b, p);
    }

    int reduced = 0;
    for (int i = 0; i < n; i++) reduced += !strcmp(r[i].treatment, "reduced");
    if (reduced) {
        clt_sb_printf(b, "\n## Reduced datasets (supplement B)\n\n| examples per class | top-1, this run | paper |\n|---|---|---|\n");
        for (int i = 0; i < n; i++) {
            if (strcmp(r[i].treatment, "reduced")) continue;
            double pv = NAN;
            for (int k = 0; k < nref; k++)
                if (!strcmp(ref[k].treatment, "reduced") && ref[k].n == r[i].n) pv = ref[k].metric;
            clt_sb_printf(b, "| %d |", r[i].n);
            cell_pair(b, r[i].metric, pv, 0);
            clt_sb_printf(b, "\n");
        }
    }

    clt_sb_printf(b, "\n## Networks\n\n");
    counts_table(b, r, n);
    clt_sb_printf(b, "\n## Files\n\n- `results.csv`: one row per network (metric = `top1_mean_best%d`).\n", best);
    if (plotted)
        clt_sb_printf(b, "- %s`fig2.png`, `fig3.png`; their gnuplot scripts, with the data inline, in `plots/`.\n",
                      fig1 ? "`fig1.png`, " : "");
    else
        clt_sb_printf(b, "- Figures skipped: %s.\n", plot_why);
}

int clt_report_folder(const char *run_dir, const clt_report_options *opt) {
    notes no = {0};
    no.tolerance = -1;
    char *ini = clt_path_join(run_dir, "report.ini");
    if (clt_file_exists(ini) && read_ini(ini, true, notes_handler, &no) != 0) clt_warn("%s: cannot be read; using defaults", ini);
    free(ini);
    int best = opt->best > 0 ? opt->best : no.best > 0 ? no.best : 10;
    double tau = opt->tolerance >= 0 ? opt->tolerance : no.tolerance >= 0 ? no.tolerance : 0.005;

    char *nets = clt_path_join(run_dir, "nets");
    struct stat st;
    const char *root = stat(nets, &st) == 0 && S_ISDIR(st.st_mode) ? nets : run_dir;
    gather g = {0};
    g.best = best;
    g.no = &no;
    g.root = root;
    walk(&g, root, 0);
    int rc = 0;
    if (!g.n) {
        clt_error("%s: no networks found (folders holding config.ini or net.ini with a [study] treatment)", run_dir);
        rc = -1;
        goto out;
    }
    qsort(g.r, (size_t)g.n, sizeof *g.r, cmp_result);
    if (write_results(run_dir, g.r, g.n, best) != 0) {
        rc = -1;
        goto out;
    }

    clt_result *use = clt_malloc((size_t)g.n * sizeof *use);
    int used = 0;
    for (int i = 0; i < g.n; i++) {
        use[i] = g.r[i];
        if (!use[i].done && !opt->partial) use[i].metric = NAN;
        used += isfinite(use[i].metric);
    }
    clt_analysis ours, paper;
    clt_report_analyse(use, g.n, tau, NAN, &ours);

    char *ref_path = find_reference(opt->reference);
    clt_result *ref = NULL;
    int nref = 0;
    if (ref_path && clt_report_read_reference(ref_path, &ref, &nref) != 0) {
        free(ref);
        ref = NULL;
        nref = 0;
    }
    if (ref) clt_report_analyse(ref, nref, tau, PAPER_WHOLE_BASE, &paper);

    char why[256] = "";
    const char *gp = opt->gnuplot ? opt->gnuplot : getenv("CLTRANSFER_GNUPLOT");
    int fig1 = 0;
    int plotted = clt_report_plots(run_dir, root, use, g.n, &ours, ref, nref, ref ? &paper : NULL, gp && *gp ? gp : "gnuplot",
                                   &fig1, why, sizeof why) == 0;
    if (!plotted && !opt->quiet) clt_warn("figures skipped: %s", why);

    clt_sb md = {0};
    write_markdown(&md, run_dir, &no, g.r, g.n, used, best, tau, &ours, ref, nref, ref ? &paper : NULL,
                   ref_path ? ref_path : "", plotted, fig1, why);
    char *md_path = clt_path_join(run_dir, "report.md");
    rc = clt_write_file_atomic(md_path, md.s, md.len);
    if (rc == 0 && !opt->quiet) {
        fprintf(stderr, "report: %s (%d networks", md_path, g.n);
        int rep = 0, tested = 0;
        for (int i = 0; i < CLT_FINDINGS; i++) {
            rep += ours.findings[i].verdict == 1;
            tested += ours.findings[i].verdict >= 0;
        }
        fprintf(stderr, "; %d of %d tested findings reproduced)\n", rep, tested);
    }
    free(md_path);
    clt_sb_free(&md);
    free(ref);
    free(ref_path);
    free(use);
out:
    free(g.r);
    free(nets);
    clt_sb_free(&no.description);
    return rc;
}

static void usage(FILE *out) {
    fprintf(out,
            "usage: cltransfer report [options] RUN_FOLDER\n"
            "\n"
            "Reads every network under RUN_FOLDER (folders holding config.ini or net.ini and metrics.csv, as\n"
            "`cltransfer study` or `cltransfer -c` leave them) and writes into RUN_FOLDER:\n"
            "  results.csv   one row per network: network, treatment, split, base, target, n, repeat, the metric\n"
            "                (mean of the K highest validation top-1 values), final top-1, val points, last iter, done\n"
            "  fig2.png      the paper's Figure 2 (random split) beside the paper's own data\n"
            "  fig3.png      Figure 3 (dissimilar split, random frozen layers, both normalised by their base)\n"
            "  plots/        the gnuplot scripts of the figures, data inline\n"
            "  report.md     the figures, Table 1 and every point beside the paper's numbers, and which of the\n"
            "                paper's findings the run reproduces, by numeric rules stated in it\n"
            "\n"
            "  --best K           the metric's K (default: [report] best of the study, else 10 as the paper)\n"
            "  --tolerance T      τ of the findings' rules, in top-1 as a fraction (default: the study's, else 0.005)\n"
            "  --partial          also analyse networks that have not finished\n"
            "  --reference FILE   the paper's yosinski2014_networks.csv (default: installed or source copy;\n"
            "                     env CLTRANSFER_REFERENCE)\n"
            "  --gnuplot PROGRAM  gnuplot to run (default: env CLTRANSFER_GNUPLOT, else gnuplot on PATH); without\n"
            "                     it the figures are skipped and the rest is written\n"
            "  -q, --quiet        no summary on stderr\n"
            "  -h, --help         this help\n");
}

int clt_report_main(int argc, char **argv) {
    static const struct option opts[] = {{"best", required_argument, 0, 'b'},      {"tolerance", required_argument, 0, 't'},
                                         {"partial", no_argument, 0, 'p'},         {"reference", required_argument, 0, 'r'},
                                         {"gnuplot", required_argument, 0, 'g'},   {"quiet", no_argument, 0, 'q'},
                                         {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    clt_report_options o = {0};
    o.tolerance = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'b':
            o.best = (int)strtol(optarg, &end, 10);
            if (*end || o.best < 1) {
                clt_error("--best %s: expected a whole number of at least 1", optarg);
                return 2;
            }
            break;
        case 't':
            o.tolerance = strtod(optarg, &end);
            if (*end || !(o.tolerance >= 0 && o.tolerance < 1)) {
                clt_error("--tolerance %s: expected a fraction of top-1 in [0, 1), e.g. 0.005", optarg);
                return 2;
            }
            break;
        case 'p': o.partial = 1; break;
        case 'r': o.reference = optarg; break;
        case 'g': o.gnuplot = optarg; break;
        case 'q': o.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1) {
        clt_error("report needs one RUN_FOLDER (see cltransfer report --help)");
        return 2;
    }
    return clt_report_folder(argv[optind], &o) == 0 ? 0 : 1;
}
