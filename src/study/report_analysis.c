/* report_analysis.c — the numbers behind the report: the study's metric, the series of Figures 2
   and 3, Table 1, and the numeric rules that decide whether each of the paper's findings holds.
   The same code runs on a study's results and on the paper's published networks. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/treatment.h"
#include "study/report.h"
#include "util/util.h"

#define RATIO_MARGIN CLT_REPORT_RATIO_MARGIN
/* The rules' bounds are inclusive; top-1 values read from text are not exact in binary. */
#define EPS 1e-9

const char *const CLT_FINDING_NAMES[CLT_FINDINGS] = {
    "(1) AnB ≈ baseB for n = 1, 2: the first two layers are general",
    "(2) BnB dips in the middle layers: fragile co-adaptation",
    "(3) BnB+ recovers to baseB: fine-tuning prevents the drop",
    "(4) AnB falls as n grows: higher layers are specific",
    "(5) AnB+ is above baseB: transferred features boost generalisation",
    "(6) the dissimilar split transfers worse than the random split",
    "(7) random frozen layers do worse than transferred ones",
};

static int cmp_desc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

double clt_report_best_mean(const double *v, int n, int k) {
    if (n <= 0) return NAN;
    double *s = clt_malloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_desc);
    int m = CLT_MIN(n, k);
    double sum = 0;
    for (int i = 0; i < m; i++) sum += s[i];
    free(s);
    return sum / m;
}

static int is(const clt_result *r, const char *treatment) { return !strcmp(r->treatment, treatment); }
static int usable(const clt_result *r) { return isfinite(r->metric); }
/* Figure 2's splits: random halves, not the dissimilar one nor the whole dataset. */
static int similar(const clt_result *r) { return !r->dissimilar && strcmp(r->split, "whole") && strcmp(r->target, "all"); }

/* A network's own base: the base net on the same split and target (same repeat if there is one);
   for nets on the whole dataset, its base net, else the reduced net with the most examples. */
static double own_base(const clt_result *r, int n, const clt_result *x, double whole_base) {
    double sum = 0, same = NAN;
    int cnt = 0;
    for (int i = 0; i < n; i++) {
        if (!is(&r[i], "base") || !usable(&r[i]) || strcmp(r[i].split, x->split) || strcmp(r[i].target, x->target)) continue;
        if (r[i].repeat == x->repeat) same = r[i].metric;
        sum += r[i].metric;
        cnt++;
    }
    if (isfinite(same)) return same;
    if (cnt) return sum / cnt;
    if (strcmp(x->target, "all")) return NAN;
    if (isfinite(whole_base)) return whole_base;
    int best = -1;
    for (int i = 0; i < n; i++)
        if (is(&r[i], "reduced") && usable(&r[i]) &&
            (best < 0 || r[i].n > r[best].n || (r[i].n == r[best].n && r[i].repeat == x->repeat)))
            best = i;
    return best >= 0 ? r[best].metric : NAN;
}

typedef struct acc {
    double sum;
    int n;
} acc;
static void add(acc *a, double v) {
    if (!isfinite(v)) return;
    a->sum += v;
    a->n++;
}
static double mean(const acc *a) { return a->n ? a->sum / a->n : NAN; }


static void figure2(const clt_result *r, int n, double whole_base, clt_analysis *a) {
    acc m[CLT_F2_SERIES][8], d[CLT_F2_SERIES][8], base = {0, 0};
    memset(m, 0, sizeof m);
    memset(d, 0, sizeof d);
    for (int i = 0; i < n; i++) {
        if (!usable(&r[i]) || !similar(&r[i])) continue;
        for (int s = 0; s < CLT_F2_SERIES; s++) {
            if (!is(&r[i], clt_treatment_name(s))) continue;
            int k = s == CLT_F2_BASE ? 0 : r[i].n;
            if (k < 0 || k > 7) continue;
            add(&m[s][k], r[i].metric);
            add(&d[s][k], r[i].metric - own_base(r, n, &r[i], whole_base));
            if (s == CLT_F2_BASE) add(&base, r[i].metric);
        }
    }
    for (int s = 0; s < CLT_F2_SERIES; s++)
        for (int k = 0; k < 8; k++) {
            a->fig2_mean[s][k] = mean(&m[s][k]);
            a->fig2_delta[s][k] = mean(&d[s][k]);
            a->fig2_count[s][k] = m[s][k].n;
        }
    a->base_mean = mean(&base);
}

/* Table 1 as the paper computes it: pooled means over the layers of a range, against the pooled
   baseB and the pooled BnB+ of the same layers. */
static void table1(const clt_result *r, int n, double whole_base, clt_analysis *a) {
    static const int FROM[3] = {1, 3, 5};
    acc own = {0, 0};
    for (int g = 0; g < 3; g++) {
        acc ft = {0, 0}, sft = {0, 0};
        for (int i = 0; i < n; i++) {
            if (!usable(&r[i]) || !similar(&r[i]) || r[i].n < FROM[g] || r[i].n > 7) continue;
            if (is(&r[i], "transfer_ft")) add(&ft, r[i].metric);
            if (is(&r[i], "selffer_ft")) add(&sft, r[i].metric);
            if (g == 0 && is(&r[i], "transfer_ft")) add(&own, r[i].metric - own_base(r, n, &r[i], whole_base));
        }
        a->boost_base[g] = mean(&ft) - a->base_mean;
        a->boost_selffer_ft[g] = mean(&ft) - mean(&sft);
    }
    a->boost_own_base = mean(&own);
}

/* 0 for A, 1 for B, -1 for anything else (all classes). */
static int half_of(const clt_result *x) { return !strcmp(x->target, "A") ? 0 : !strcmp(x->target, "B") ? 1 : -1; }

/* The halves the random frozen nets learn: bit 0 A, bit 1 B; 0 when one learns anything else. */
static int random_frozen_halves(const clt_result *r, int n) {
    int halves = 0;
    for (int i = 0; i < n; i++) {
        if (!usable(&r[i]) || !is(&r[i], "random_frozen")) continue;
        int t = half_of(&r[i]);
        if (t < 0) return 0;
        halves |= 1 << t;
    }
    return halves;
}

static void figure3(const clt_result *r, int n, double whole_base, clt_analysis *a) {
    acc dis[2][8], rf[8], ns[8], nd[8], nr[8], rs[8], rd[8], rr[8], rs_rf[8];
    /* Finding 7 compares like with like where it can: the transfer nets trained on the half(s) the
       random frozen nets were trained on, against the same base nets. An error ratio's scale
       depends on its base's error, so on halves of unequal difficulty (Fashion-MNIST's random
       split: about 94% against 89%) pooling both directions mixes the two scales. */
    int rf_halves = random_frozen_halves(r, n);
    memset(rs_rf, 0, sizeof rs_rf);
    memset(dis, 0, sizeof dis);
    memset(rf, 0, sizeof rf);
    memset(ns, 0, sizeof ns);
    memset(nd, 0, sizeof nd);
    memset(nr, 0, sizeof nr);
    memset(rs, 0, sizeof rs);
    memset(rd, 0, sizeof rd);
    memset(rr, 0, sizeof rr);
    for (int i = 0; i < n; i++) {
        const clt_result *x = &r[i];
        if (!usable(x)) continue;
        int t = half_of(x);
        if (x->dissimilar && t >= 0 && is(x, "base")) add(&dis[t][0], x->metric);
        if (x->n < 1 || x->n > 7) continue;
        double b = own_base(r, n, x, whole_base);
        double diff = x->metric - b, ratio = (1 - x->metric) / (1 - b);
        if (is(x, "transfer") && x->dissimilar && t >= 0) {
            add(&dis[t][x->n], x->metric);
            add(&nd[x->n], diff);
            add(&rd[x->n], ratio);
        }
        if (is(x, "transfer") && similar(x)) {
            add(&ns[x->n], diff);
            add(&rs[x->n], ratio);
            if (t >= 0 && (rf_halves >> t & 1)) add(&rs_rf[x->n], ratio);
        }
        if (is(x, "random_frozen")) {
            add(&rf[x->n], x->metric);
            add(&rf[0], b);
            add(&nr[x->n], diff);
            add(&rr[x->n], ratio);
        }
    }
    for (int k = 0; k < 8; k++) {
        a->dis_mean[0][k] = mean(&dis[0][k]);
        a->dis_mean[1][k] = mean(&dis[1][k]);
        a->rf_mean[k] = mean(&rf[k]);
        a->norm_sim[k] = mean(&ns[k]);
        a->norm_dis[k] = mean(&nd[k]);
        a->norm_rf[k] = mean(&nr[k]);
        a->ratio_sim[k] = mean(&rs[k]);
        a->ratio_dis[k] = mean(&rd[k]);
        a->ratio_rf[k] = mean(&rr[k]);
    }
    /* ... else (some n without such nets, or random frozen nets of all classes) both directions */
    bool same_half = rf_halves != 0;
    for (int k = 1; k <= 7; k++)
        if (rr[k].n && !rs_rf[k].n) same_half = false;
    a->rf_halves = same_half ? rf_halves : 0;
    for (int k = 0; k < 8; k++) a->ratio_sim_rf[k] = same_half ? mean(&rs_rf[k]) : a->ratio_sim[k];
}

static void verdict(clt_finding *f, int v, const char *fmt, ...) CLT_PRINTF(3, 4);
static void verdict(clt_finding *f, int v, const char *fmt, ...) {
    f->verdict = v;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->detail, sizeof f->detail, fmt, ap);
    va_end(ap);
}

/* Appends "n=1 +0.0031, n=2 −0.0013" for the layers where v is known. */
static int list_layers(char *buf, size_t size, const double *v, int from, int to) {
    int len = 0, cnt = 0;
    buf[0] = 0;
    for (int k = from; k <= to; k++) {
        if (!isfinite(v[k])) continue;
        len += snprintf(buf + len, size - (size_t)len, "%sn=%d %+.4f", cnt ? ", " : "", k, v[k]);
        cnt++;
        if ((size_t)len >= size) break;
    }
    return cnt;
}

/* The pooled standard deviation of v[i] within groups of results alike under `same` (NaN values
   stay out; groups of one add nothing): *nets and *groups count what entered. NaN when none did. */
static double pooled_sd(const clt_result *r, const double *v, int n,
                        int (*same)(const clt_result *, const clt_result *), int *nets, int *groups) {
    double ss = 0;
    int df = 0;
    *nets = *groups = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(v[i])) continue;
        int first = 1;
        for (int j = 0; j < i && first; j++) first = !(isfinite(v[j]) && same(&r[j], &r[i]));
        if (!first) continue;
        acc g = {0, 0};
        for (int j = i; j < n; j++)
            if (isfinite(v[j]) && same(&r[j], &r[i])) add(&g, v[j]);
        if (g.n < 2) continue;
        double m = mean(&g);
        for (int j = i; j < n; j++)
            if (isfinite(v[j]) && same(&r[j], &r[i])) ss += (v[j] - m) * (v[j] - m);
        df += g.n - 1;
        *nets += g.n;
        (*groups)++;
    }
    return df ? sqrt(ss / df) : NAN;
}

static int same_split_and_target(const clt_result *a, const clt_result *b) {
    return !strcmp(a->split, b->split) && !strcmp(a->target, b->target);
}

/* The spread the rules must exceed: base nets over repeats (pooled within each split and target)
   and the binomial spread of one base net's top-1 on its validation set. */
static void measure_noise(const clt_result *r, int n, clt_noise *z) {
    double val_var = 0, *metric = clt_malloc((size_t)(n > 0 ? n : 1) * sizeof *metric);
    int nval = 0, images = 0;
    for (int i = 0; i < n; i++) {
        metric[i] = is(&r[i], "base") && usable(&r[i]) ? r[i].metric : NAN;
        if (isfinite(metric[i]) && r[i].val_images > 0) {
            val_var += r[i].metric * (1 - r[i].metric) / r[i].val_images;
            images += r[i].val_images;
            nval++;
        }
    }
    z->seed_sd = pooled_sd(r, metric, n, same_split_and_target, &z->seed_nets, &z->seed_groups);
    z->val_sd = nval ? sqrt(val_var / nval) : NAN;
    z->val_images = nval ? images / nval : 0;
    free(metric);
}

/* The base net of x's own split, target and repeat; NaN when that repeat's base is missing. */
static double same_repeat_base(const clt_result *r, int n, const clt_result *x) {
    for (int i = 0; i < n; i++)
        if (is(&r[i], "base") && usable(&r[i]) && r[i].repeat == x->repeat && same_split_and_target(&r[i], x))
            return r[i].metric;
    return NAN;
}

static int same_network_over_repeats(const clt_result *a, const clt_result *b) {
    return !strcmp(a->treatment, b->treatment) && same_split_and_target(a, b) && !strcmp(a->base, b->base) &&
           a->n == b->n;
}

/* The networks of Figure 2 other than base nets: those rules 1–5 judge by Δ. */
static int in_figure2(const clt_result *r) {
    return similar(r) && (is(r, "selffer") || is(r, "selffer_ft") || is(r, "transfer") || is(r, "transfer_ft"));
}

/* How much a network's Δ from its own base moves between repeats, measured on Figure 2's networks
   rather than inferred from the base nets: the noise model behind rules 1–5's margins is checked
   by it. Random frozen nets stay out: a deep random prefix sometimes fails to train at all (a
   repeat at 0.2 beside one at 0.75), a spread of its own that rule 7's error ratios judge. */
static void measure_repeat_deltas(const clt_result *r, int n, clt_noise *z) {
    double *delta = clt_malloc((size_t)(n > 0 ? n : 1) * sizeof *delta);
    for (int i = 0; i < n; i++)
        delta[i] = in_figure2(&r[i]) && usable(&r[i]) ? r[i].metric - same_repeat_base(r, n, &r[i]) : NAN;
    z->rep_delta_sd = pooled_sd(r, delta, n, same_network_over_repeats, &z->rep_delta_nets, &z->rep_delta_groups);
    free(delta);
}

/* One network's noise (clt_noise.net_sd). A Δ from a same-repeat base holds two draws, hence √2. */
static void choose_net_sd(clt_noise *z) {
    double from_deltas = z->rep_delta_sd / sqrt(2);
    if (isfinite(from_deltas) && !(z->seed_sd >= from_deltas)) {
        z->net_sd = from_deltas;
        z->net_sd_from = CLT_NOISE_REPEAT_DELTA;
    } else if (isfinite(z->seed_sd)) {
        z->net_sd = z->seed_sd;
        z->net_sd_from = CLT_NOISE_SEED;
    } else {
        z->net_sd = z->val_sd;
        z->net_sd_from = CLT_NOISE_VALIDATION;
    }
}

/* The noise of a difference between means over m1 and m2 networks. */
static double diff_noise(const clt_analysis *a, int m1, int m2) {
    if (m1 < 1 || m2 < 1) return NAN;
    return a->noise.net_sd * sqrt(1.0 / m1 + 1.0 / m2);
}

static int count_at(const clt_analysis *a, int series, int k) { return a->fig2_count[series][k]; }
static int base_count(const clt_analysis *a) { return count_at(a, CLT_F2_BASE, 0); }

/* (1) AnB ≈ baseB at n = 1, 2. */
static void rule_general_first_layers(const clt_analysis *a, double tau, clt_finding *f) {
    const double *tr = a->fig2_delta[CLT_F2_TRANSFER];
    if (!isfinite(tr[1]) || !isfinite(tr[2])) {
        verdict(f, -1, "needs frozen transfer nets (AnB) at n = 1 and 2 with their bases");
        return;
    }
    verdict(f, fabs(tr[1]) <= tau + EPS && fabs(tr[2]) <= tau + EPS,
            "AnB − own base: n=1 %+.4f, n=2 %+.4f (rule: both within ±%.4f)", tr[1], tr[2], tau);
    double worst = fmax(fabs(tr[1]), fabs(tr[2]));
    f->margin = f->verdict ? tau - worst : worst - tau;
    int k = fabs(tr[1]) > fabs(tr[2]) ? 1 : 2;
    f->noise = diff_noise(a, count_at(a, CLT_F2_TRANSFER, k), base_count(a));
}

/* (2) BnB dips in the middle layers. */
static void rule_selffer_dip(const clt_analysis *a, double tau, clt_finding *f) {
    const double *sf = a->fig2_delta[CLT_F2_SELFFER];
    char buf[320];
    int mid = -1;
    for (int k = 3; k <= 6; k++)
        if (isfinite(sf[k]) && (mid < 0 || sf[k] < sf[mid])) mid = k;
    if (mid < 0 || !(isfinite(sf[1]) || isfinite(sf[7]))) {
        verdict(f, -1, "needs selffer nets (BnB) at some n in 3..6 and at n = 1 or 7");
        return;
    }
    /* the smallest of the three gaps decides */
    double gap = -tau - sf[mid];
    if (isfinite(sf[1])) gap = fmin(gap, sf[1] - tau - sf[mid]);
    if (isfinite(sf[7])) gap = fmin(gap, sf[7] - tau - sf[mid]);
    list_layers(buf, sizeof buf, sf, 1, 7);
    verdict(f, gap >= -EPS,
            "BnB − own base: %s; lowest of n=3..6 is n=%d at %+.4f (rule: at least %.4f below 0 and below n=1 and n=7)",
            buf, mid, sf[mid], tau);
    f->margin = f->verdict ? gap : -gap;
    f->noise = diff_noise(a, count_at(a, CLT_F2_SELFFER, mid), base_count(a));
}

/* (3) BnB+ recovers to baseB. */
static void rule_selffer_ft_recovers(const clt_analysis *a, double tau, clt_finding *f) {
    const double *sft = a->fig2_delta[CLT_F2_SELFFER_FT];
    char buf[320];
    double sum = 0;
    int cnt = 0, low = -1;
    for (int k = 1; k <= 7; k++)
        if (isfinite(sft[k])) {
            if (low < 0 || sft[k] < sft[low]) low = k;
            sum += sft[k], cnt++;
        }
    if (!cnt) {
        verdict(f, -1, "needs fine-tuned selffer nets (BnB+)");
        return;
    }
    list_layers(buf, sizeof buf, sft, 1, 7);
    verdict(f, sft[low] >= -tau - EPS, "BnB+ − own base: %s; lowest %+.4f, mean %+.4f (rule: no n below −%.4f)", buf,
            sft[low], sum / cnt, tau);
    f->margin = fabs(sft[low] + tau);
    f->noise = diff_noise(a, count_at(a, CLT_F2_SELFFER_FT, low), base_count(a));
}

/* (4) AnB falls as n grows. */
static void rule_transfer_falls(const clt_analysis *a, double tau, clt_finding *f) {
    const double *tr = a->fig2_delta[CLT_F2_TRANSFER];
    char buf[320];
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int first = -1, last = -1, cnt = 0;
    for (int k = 1; k <= 7; k++) {
        if (!isfinite(tr[k])) continue;
        if (first < 0) first = k;
        last = k;
        sx += k, sy += tr[k], sxx += (double)k * k, sxy += k * tr[k], cnt++;
    }
    if (cnt < 2) {
        verdict(f, -1, "needs frozen transfer nets (AnB) at two or more n");
        return;
    }
    double slope = (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx), fall = tr[first] - tr[last];
    list_layers(buf, sizeof buf, tr, 1, 7);
    verdict(f, slope < 0 && fall >= tau - EPS,
            "AnB − own base: %s; slope %+.4f per layer, n=%d − n=%d = %+.4f (rule: slope < 0 and a fall of at least %.4f)",
            buf, slope, last, first, -fall, tau);
    f->margin = fabs(fall - tau);
    f->noise = diff_noise(a, count_at(a, CLT_F2_TRANSFER, first), count_at(a, CLT_F2_TRANSFER, last));
}

/* (5) AnB+ above baseB, and above BnB+ (the control for the longer total training). */
static void rule_transfer_ft_boost(const clt_analysis *a, double tau, clt_finding *f) {
    int ft = 0, sft = 0;
    for (int k = 1; k <= 7; k++) ft += count_at(a, CLT_F2_TRANSFER_FT, k), sft += count_at(a, CLT_F2_SELFFER_FT, k);
    if (!isfinite(a->boost_base[0])) {
        verdict(f, -1, "needs fine-tuned transfer nets (AnB+) and base nets");
        return;
    }
    double lowest = a->boost_base[0];
    int against = base_count(a);
    if (!isfinite(a->boost_selffer_ft[0]))
        verdict(f, a->boost_base[0] >= tau - EPS,
                "AnB+ − baseB over layers 1–7: %+.4f (rule: at least %+.4f; no BnB+ nets for the control)", a->boost_base[0],
                tau);
    else {
        verdict(f, a->boost_base[0] >= tau - EPS && a->boost_selffer_ft[0] >= tau - EPS,
                "AnB+ − baseB over layers 1–7: %+.4f, AnB+ − BnB+: %+.4f (rule: both at least %+.4f)", a->boost_base[0],
                a->boost_selffer_ft[0], tau);
        if (a->boost_selffer_ft[0] < lowest) lowest = a->boost_selffer_ft[0], against = sft;
    }
    /* The paper's rule pools baseB over both halves; a reader of a part-way run (one direction in)
       or of halves of unequal difficulty needs the number that rule hides. */
    if (isfinite(a->boost_own_base) && fabs(a->boost_own_base - a->boost_base[0]) >= tau / 2) {
        size_t len = strlen(f->detail);
        snprintf(f->detail + len, sizeof f->detail - len,
                 "; against its own base an AnB+ net is %+.4f on average: the AnB+ nets' own bases lie %+.4f "
                 "from the pooled baseB (base nets that differ, AnB+ nets on some of them only)",
                 a->boost_own_base, a->boost_base[0] - a->boost_own_base);
    }
    f->margin = fabs(lowest - tau);
    f->noise = diff_noise(a, ft, against);
}

/* (6) The dissimilar split transfers worse: error ratios over the layers both splits have. */
static void rule_dissimilar_worse(const clt_analysis *a, clt_finding *f) {
    double ds = 0, dd = 0;
    int cnt = 0;
    for (int k = 1; k <= 7; k++)
        if (isfinite(a->ratio_sim[k]) && isfinite(a->ratio_dis[k])) ds += a->ratio_sim[k], dd += a->ratio_dis[k], cnt++;
    if (!cnt) {
        verdict(f, -1, "needs frozen transfer nets on both a random and a dissimilar split at a common n");
        return;
    }
    verdict(f, dd / cnt >= ds / cnt + RATIO_MARGIN - EPS,
            "mean error ratio err(AnB)/err(own base) over %d common n: dissimilar %.3f, random %.3f (rule: dissimilar at "
            "least %.2f higher)",
            cnt, dd / cnt, ds / cnt, RATIO_MARGIN);
}

/* (7) Random frozen layers do worse than transferred ones. */
static void rule_random_worse(const clt_analysis *a, clt_finding *f) {
    double rs = 0, rr = 0;
    int every = 1, cnt = 0;
    for (int k = 1; k <= 7; k++)
        if (isfinite(a->ratio_sim_rf[k]) && isfinite(a->ratio_rf[k])) {
            rs += a->ratio_sim_rf[k], rr += a->ratio_rf[k], cnt++;
            every &= a->ratio_rf[k] > a->ratio_sim_rf[k];
        }
    if (!cnt) {
        verdict(f, -1, "needs random frozen nets and frozen transfer nets (random split) at a common n");
        return;
    }
    char against[64];
    if (a->rf_halves)
        snprintf(against, sizeof against, "frozen transfer nets trained on %s as they are",
                 a->rf_halves == 1 ? "A" : a->rf_halves == 2 ? "B" : "A and B");
    else
        snprintf(against, sizeof against, "frozen transfer nets (AnB, both directions)");
    verdict(f, every && rr / cnt >= rs / cnt + RATIO_MARGIN - EPS,
            "mean error ratio over %d common n: random frozen %.3f, %s %.3f; random frozen worse at %s "
            "(rule: worse at every n and at least %.2f higher on average)",
            cnt, rr / cnt, against, rs / cnt, every ? "every n" : "not every n", RATIO_MARGIN);
}

/* The typical Δ(n): the most networks any Figure 2 treatment has at one n. */
static void delta_noise(clt_analysis *a) {
    clt_noise *z = &a->noise;
    z->delta_nets = 0;
    for (int s = CLT_F2_SELFFER; s < CLT_F2_SERIES; s++)
        for (int k = 1; k <= 7; k++) z->delta_nets = CLT_MAX(z->delta_nets, count_at(a, s, k));
    z->delta_bases = base_count(a);
    z->delta_sd = diff_noise(a, z->delta_nets, z->delta_bases);
}

static void findings(clt_analysis *a, double tau) {
    clt_finding *f = a->findings;
    delta_noise(a);
    for (int i = 0; i < CLT_FINDINGS; i++) f[i].margin = f[i].noise = NAN;
    rule_general_first_layers(a, tau, &f[0]);
    rule_selffer_dip(a, tau, &f[1]);
    rule_selffer_ft_recovers(a, tau, &f[2]);
    rule_transfer_falls(a, tau, &f[3]);
    rule_transfer_ft_boost(a, tau, &f[4]);
    rule_dissimilar_worse(a, &f[5]);
    rule_random_worse(a, &f[6]);
}

void clt_report_analyse(const clt_result *r, int n, double tolerance, double whole_base, clt_analysis *a) {
    memset(a, 0, sizeof *a);
    figure2(r, n, whole_base, a);
    table1(r, n, whole_base, a);
    figure3(r, n, whole_base, a);
    measure_noise(r, n, &a->noise);
    measure_repeat_deltas(r, n, &a->noise);
    choose_net_sd(&a->noise);
    findings(a, tolerance);
}
