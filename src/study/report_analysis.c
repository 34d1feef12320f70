/* report_analysis.c — the numbers behind the report: the study's metric, the series of Figures 2
   and 3, Table 1, and the numeric rules that decide whether each of the paper's findings holds.
   The same code runs on a study's results and on the paper's published networks. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static const char *SERIES_TREATMENT[CLT_F2_SERIES] = {"base", "selffer", "selffer_ft", "transfer", "transfer_ft"};

static void figure2(const clt_result *r, int n, double whole_base, clt_analysis *a) {
    acc m[CLT_F2_SERIES][8], d[CLT_F2_SERIES][8], base = {0, 0};
    memset(m, 0, sizeof m);
    memset(d, 0, sizeof d);
    for (int i = 0; i < n; i++) {
        if (!usable(&r[i]) || !similar(&r[i])) continue;
        for (int s = 0; s < CLT_F2_SERIES; s++) {
            if (!is(&r[i], SERIES_TREATMENT[s])) continue;
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
static void table1(const clt_result *r, int n, clt_analysis *a) {
    static const int FROM[3] = {1, 3, 5};
    for (int g = 0; g < 3; g++) {
        acc ft = {0, 0}, sft = {0, 0};
        for (int i = 0; i < n; i++) {
            if (!usable(&r[i]) || !similar(&r[i]) || r[i].n < FROM[g] || r[i].n > 7) continue;
            if (is(&r[i], "transfer_ft")) add(&ft, r[i].metric);
            if (is(&r[i], "selffer_ft")) add(&sft, r[i].metric);
        }
        a->boost_base[g] = mean(&ft) - a->base_mean;
        a->boost_selffer_ft[g] = mean(&ft) - mean(&sft);
    }
}

static void figure3(const clt_result *r, int n, double whole_base, clt_analysis *a) {
    acc dis[2][8], rf[8], ns[8], nd[8], nr[8], rs[8], rd[8], rr[8];
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
        int t = !strcmp(x->target, "A") ? 0 : !strcmp(x->target, "B") ? 1 : -1;
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

static void findings(clt_analysis *a, double tau) {
    clt_finding *f = a->findings;
    char buf[320];
    const double *sf = a->fig2_delta[CLT_F2_SELFFER], *sft = a->fig2_delta[CLT_F2_SELFFER_FT],
                 *tr = a->fig2_delta[CLT_F2_TRANSFER];

    /* (1) */
    if (!isfinite(tr[1]) || !isfinite(tr[2]))
        verdict(&f[0], -1, "needs frozen transfer nets (AnB) at n = 1 and 2 with their bases");
    else
        verdict(&f[0], fabs(tr[1]) <= tau + EPS && fabs(tr[2]) <= tau + EPS, "AnB − own base: n=1 %+.4f, n=2 %+.4f (rule: both within ±%.4f)",
                tr[1], tr[2], tau);

    /* (2) */
    int mid = -1;
    for (int k = 3; k <= 6; k++)
        if (isfinite(sf[k]) && (mid < 0 || sf[k] < sf[mid])) mid = k;
    int ends = isfinite(sf[1]) + isfinite(sf[7]);
    if (mid < 0 || !ends)
        verdict(&f[1], -1, "needs selffer nets (BnB) at some n in 3..6 and at n = 1 or 7");
    else {
        int ok = sf[mid] <= -tau + EPS;
        if (isfinite(sf[1])) ok &= sf[mid] <= sf[1] - tau + EPS;
        if (isfinite(sf[7])) ok &= sf[mid] <= sf[7] - tau + EPS;
        list_layers(buf, sizeof buf, sf, 1, 7);
        verdict(&f[1], ok,
                "BnB − own base: %s; lowest of n=3..6 is n=%d at %+.4f (rule: at least %.4f below 0 and below n=1 and n=7)",
                buf, mid, sf[mid], tau);
    }

    /* (3) */
    double lo = INFINITY, sum = 0;
    int cnt = 0;
    for (int k = 1; k <= 7; k++)
        if (isfinite(sft[k])) lo = fmin(lo, sft[k]), sum += sft[k], cnt++;
    if (!cnt)
        verdict(&f[2], -1, "needs fine-tuned selffer nets (BnB+)");
    else {
        list_layers(buf, sizeof buf, sft, 1, 7);
        verdict(&f[2], lo >= -tau - EPS, "BnB+ − own base: %s; lowest %+.4f, mean %+.4f (rule: no n below −%.4f)", buf, lo,
                sum / cnt, tau);
    }

    /* (4) */
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int first = -1, last = -1;
    cnt = 0;
    for (int k = 1; k <= 7; k++) {
        if (!isfinite(tr[k])) continue;
        if (first < 0) first = k;
        last = k;
        sx += k, sy += tr[k], sxx += (double)k * k, sxy += k * tr[k], cnt++;
    }
    if (cnt < 2)
        verdict(&f[3], -1, "needs frozen transfer nets (AnB) at two or more n");
    else {
        double slope = (cnt * sxy - sx * sy) / (cnt * sxx - sx * sx);
        list_layers(buf, sizeof buf, tr, 1, 7);
        verdict(&f[3], slope < 0 && tr[last] <= tr[first] - tau + EPS,
                "AnB − own base: %s; slope %+.4f per layer, n=%d − n=%d = %+.4f (rule: slope < 0 and a fall of at least %.4f)",
                buf, slope, last, first, tr[last] - tr[first], tau);
    }

    /* (5) */
    if (!isfinite(a->boost_base[0]))
        verdict(&f[4], -1, "needs fine-tuned transfer nets (AnB+) and base nets");
    else if (!isfinite(a->boost_selffer_ft[0]))
        verdict(&f[4], a->boost_base[0] >= tau - EPS,
                "AnB+ − baseB over layers 1–7: %+.4f (rule: at least %+.4f; no BnB+ nets for the control)", a->boost_base[0],
                tau);
    else
        verdict(&f[4], a->boost_base[0] >= tau - EPS && a->boost_selffer_ft[0] >= tau - EPS,
                "AnB+ − baseB over layers 1–7: %+.4f, AnB+ − BnB+: %+.4f (rule: both at least %+.4f)", a->boost_base[0],
                a->boost_selffer_ft[0], tau);

    /* (6) and (7): error ratios over the layers both sides have. */
    double ds = 0, dd = 0;
    cnt = 0;
    for (int k = 1; k <= 7; k++)
        if (isfinite(a->ratio_sim[k]) && isfinite(a->ratio_dis[k])) ds += a->ratio_sim[k], dd += a->ratio_dis[k], cnt++;
    if (!cnt)
        verdict(&f[5], -1, "needs frozen transfer nets on both a random and a dissimilar split at a common n");
    else
        verdict(&f[5], dd / cnt >= ds / cnt + RATIO_MARGIN - EPS,
                "mean error ratio err(AnB)/err(own base) over %d common n: dissimilar %.3f, random %.3f (rule: dissimilar at "
                "least %.2f higher)",
                cnt, dd / cnt, ds / cnt, RATIO_MARGIN);

    double rs = 0, rr = 0;
    int every = 1;
    cnt = 0;
    for (int k = 1; k <= 7; k++)
        if (isfinite(a->ratio_sim[k]) && isfinite(a->ratio_rf[k])) {
            rs += a->ratio_sim[k], rr += a->ratio_rf[k], cnt++;
            every &= a->ratio_rf[k] > a->ratio_sim[k];
        }
    if (!cnt)
        verdict(&f[6], -1, "needs random frozen nets and frozen transfer nets (random split) at a common n");
    else
        verdict(&f[6], every && rr / cnt >= rs / cnt + RATIO_MARGIN - EPS,
                "mean error ratio over %d common n: random frozen %.3f, transferred (AnB) %.3f; random frozen worse at %s "
                "(rule: worse at every n and at least %.2f higher on average)",
                cnt, rr / cnt, rs / cnt, every ? "every n" : "not every n", RATIO_MARGIN);
}

void clt_report_analyse(const clt_result *r, int n, double tolerance, double whole_base, clt_analysis *a) {
    memset(a, 0, sizeof *a);
    figure2(r, n, whole_base, a);
    table1(r, n, a);
    figure3(r, n, whole_base, a);
    findings(a, tolerance);
}
