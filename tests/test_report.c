/* test_report.c — the report's numbers: the metric, metrics.csv reading, Table 1 and the findings on
   the paper's own networks, and constructed results where every finding holds, or fails, by design. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "study/report.h"
#include "testutil.h"
#include "util/util.h"

static void test_best_mean(void) {
    double v[12] = {0.5, 0.9, 0.1, 0.7, 0.8, 0.2, 0.6, 0.3, 0.95, 0.4, 0.85, 0.65};
    t_check(fabs(clt_report_best_mean(v, 12, 2) - 0.925) < 1e-12, "mean of the 2 best");
    /* the 10 best leave out 0.1 and 0.2 */
    t_check(fabs(clt_report_best_mean(v, 12, 10) - 6.65 / 10) < 1e-12, "mean of the 10 best of 12");
    t_check(fabs(clt_report_best_mean(v, 3, 10) - 0.5) < 1e-12, "fewer than K values: their mean");
    t_check(isnan(clt_report_best_mean(v, 0, 10)), "no values: NaN");
}

static void test_read_metrics(void) {
    char path[] = "/tmp/clt_test_report_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return;
    close(fd);
    const char *text = "iter,phase,loss,top1,top5,lr,images_per_s,elapsed_s\n"
                       "10,train,2.3,nan,nan,0.01,40,1\n"
                       "10,val,1.0,0.7172,1.0,0.01,150,2\n"
                       "20,train,1.5,,,0.01,40,3\n"
                       "20,val,0.6,0.7546,1.0,0.01,150,4\n"
                       "30,va";
    clt_write_file_atomic(path, text, strlen(text));
    double *top1;
    int n;
    long long last;
    int rc = clt_report_read_metrics(path, &top1, &n, &last);
    t_check(rc == 0 && n == 2 && top1[0] == 0.7172 && top1[1] == 0.7546,
            "metrics.csv: the validation top-1 values, train rows and a cut line ignored");
    t_check(last == 30, "metrics.csv: the last iteration seen (%lld)", last);
    free(top1);
    unlink(path);
}

static void test_paper(void) {
    const char *src = getenv("CLT_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/conf/reference/yosinski2014_networks.csv", src ? src : CLT_SOURCE_DIR);
    clt_result *r;
    int n;
    if (clt_report_read_reference(path, &r, &n) != 0) {
        t_check(0, "read %s", path);
        return;
    }
    clt_analysis a;
    clt_report_analyse(r, n, 0.005, 0.575, &a);
    /* The paper's Table 1: 1.6 / 1.4, 1.8 / 1.4, 2.1 / 1.7 points. */
    static const double BASE[3] = {1.6, 1.8, 2.1}, SFT[3] = {1.4, 1.4, 1.7};
    int ok = 1;
    for (int g = 0; g < 3; g++) ok &= fabs(100 * a.boost_base[g] - BASE[g]) < 0.05 && fabs(100 * a.boost_selffer_ft[g] - SFT[g]) < 0.05;
    t_check(ok, "Table 1 from the published networks is the paper's (%.2f/%.2f %.2f/%.2f %.2f/%.2f)", 100 * a.boost_base[0],
            100 * a.boost_selffer_ft[0], 100 * a.boost_base[1], 100 * a.boost_selffer_ft[1], 100 * a.boost_base[2],
            100 * a.boost_selffer_ft[2]);
    t_check(fabs(a.base_mean - 0.62510) < 5e-5, "baseB of the published random splits is 0.625 (%.5f)", a.base_mean);
    for (int i = 0; i < CLT_FINDINGS; i++)
        t_check(a.findings[i].verdict == 1, "on the paper's data, %s holds: %s", CLT_FINDING_NAMES[i], a.findings[i].detail);
    free(r);
}

/* A study's results built to order: a random split r (bases 0.90) and a dissimilar split d (bases
   A 0.80, B 0.95), every treatment at n = 1..7; Δ arrays are differences from the own base, ratios
   are error ratios err/err(base). */
typedef struct design {
    double sf[8], sft[8], tr[8], trft[8]; /* random split, Δ */
    double dis_ratio[8], rf_ratio[8];
} design;

static int add(clt_result *r, int n, const char *t, const char *split, const char *base, const char *target, int k,
               double v, int dissimilar) {
    clt_result *x = &r[n];
    memset(x, 0, sizeof *x);
    snprintf(x->network, sizeof x->network, "%s/%s%d%s", split, t, k, target);
    snprintf(x->treatment, sizeof x->treatment, "%s", t);
    snprintf(x->split, sizeof x->split, "%s", split);
    snprintf(x->base, sizeof x->base, "%s", base);
    snprintf(x->target, sizeof x->target, "%s", target);
    x->n = k;
    x->metric = x->final_top1 = v;
    x->done = 1;
    x->dissimilar = dissimilar;
    return n + 1;
}

static int build(const design *d, clt_result *r) {
    int n = 0;
    n = add(r, n, "base", "r", "", "A", 0, 0.90, 0);
    n = add(r, n, "base", "r", "", "B", 0, 0.90, 0);
    n = add(r, n, "base", "d", "", "A", 0, 0.80, 1);
    n = add(r, n, "base", "d", "", "B", 0, 0.95, 1);
    for (int k = 1; k <= 7; k++) {
        for (int h = 0; h < 2; h++) {
            const char *me = h ? "B" : "A", *other = h ? "A" : "B";
            n = add(r, n, "selffer", "r", me, me, k, 0.90 + d->sf[k], 0);
            n = add(r, n, "selffer_ft", "r", me, me, k, 0.90 + d->sft[k], 0);
            n = add(r, n, "transfer", "r", other, me, k, 0.90 + d->tr[k], 0);
            n = add(r, n, "transfer_ft", "r", other, me, k, 0.90 + d->trft[k], 0);
            double eb = h ? 0.05 : 0.20;
            n = add(r, n, "transfer", "d", other, me, k, 1 - eb * d->dis_ratio[k], 1);
        }
        n = add(r, n, "random_frozen", "r", "", "B", k, 1 - 0.10 * d->rf_ratio[k], 0);
    }
    return n;
}

/* Results under which every finding holds with τ = 0.005. */
static const design HOLDS = {
    .sf = {0, 0, 0.001, -0.010, -0.020, -0.030, -0.010, 0},
    .sft = {0, 0.001, 0.002, 0.003, 0.002, 0.001, 0.002, 0.001},
    .tr = {0, 0.001, -0.002, -0.010, -0.020, -0.040, -0.060, -0.080},
    .trft = {0, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02},
    .dis_ratio = {1, 1.3, 1.6, 1.9, 2.2, 2.5, 2.8, 3.1},
    .rf_ratio = {1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5},
};

static void test_constructed(void) {
    const design holds = HOLDS;
    clt_result r[256];
    clt_analysis a;
    int n = build(&holds, r);
    clt_report_analyse(r, n, 0.005, NAN, &a);
    for (int i = 0; i < CLT_FINDINGS; i++)
        t_check(a.findings[i].verdict == 1, "constructed to hold: %s: %s", CLT_FINDING_NAMES[i], a.findings[i].detail);
    t_check(fabs(a.boost_base[0] - 0.02) < 1e-9 && fabs(a.boost_selffer_ft[0] - (0.02 - 0.012 / 7)) < 1e-9,
            "Table 1 of the constructed results (%.5f, %.5f)", a.boost_base[0], a.boost_selffer_ft[0]);
    t_check(fabs(a.fig2_delta[CLT_F2_TRANSFER][7] + 0.08) < 1e-9 && a.fig2_count[CLT_F2_TRANSFER][7] == 2,
            "Figure 2: AnB at n = 7 pools both directions");
    t_check(fabs(a.ratio_dis[4] - 2.2) < 1e-9 && fabs(a.norm_dis[4] + (0.20 + 0.05) * 1.2 / 2) < 1e-9,
            "Figure 3: dissimilar error ratio and difference at n = 4");

    design fails = {
        .sf = {0, 0, 0, -0.002, -0.003, -0.004, -0.002, 0},        /* no dip deeper than τ */
        .sft = {0, -0.01, -0.02, -0.02, -0.01, -0.01, -0.01, -0.01}, /* fine-tuning does not recover */
        .tr = {0, 0.02, 0.025, 0.03, 0.03, 0.035, 0.04, 0.04},      /* no fall; not ≈ base at n = 1 */
        .trft = {0, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001}, /* no boost */
        .dis_ratio = {1, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7},          /* dissimilar transfers better */
        .rf_ratio = {1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5},           /* random filters better */
    };
    n = build(&fails, r);
    clt_report_analyse(r, n, 0.005, NAN, &a);
    for (int i = 0; i < CLT_FINDINGS; i++)
        t_check(a.findings[i].verdict == 0, "constructed to fail: %s: %s", CLT_FINDING_NAMES[i], a.findings[i].detail);

    /* One rule at a time at its edge: a dip of exactly τ still counts, a hair less does not. */
    design edge = holds;
    for (int k = 3; k <= 6; k++) edge.sf[k] = -0.005;
    n = build(&edge, r);
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(a.findings[1].verdict == 1, "a BnB dip of exactly τ counts");
    for (int k = 3; k <= 6; k++) edge.sf[k] = -0.0049;
    n = build(&edge, r);
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(a.findings[1].verdict == 0, "a BnB dip just under τ does not");

    /* Only base nets: nothing can be tested. */
    n = build(&holds, r);
    clt_report_analyse(r, 4, 0.005, NAN, &a);
    int untested = 1;
    for (int i = 0; i < CLT_FINDINGS; i++) untested &= a.findings[i].verdict == -1;
    t_check(untested, "with base nets only, every finding is 'not tested'");
}

/* Finding 7 on halves of unequal difficulty: random frozen nets trained on B are compared with the
   transfer nets trained on B, not with both directions pooled, whose error ratios on the easy half
   A are of another scale. Without random frozen nets on one half, both directions are pooled. */
static void test_random_frozen_same_half(void) {
    clt_result r[64];
    int n = 0;
    n = add(r, n, "base", "r", "", "A", 0, 0.95, 0);
    n = add(r, n, "base", "r", "", "B", 0, 0.90, 0);
    for (int k = 1; k <= 7; k++) {
        n = add(r, n, "transfer", "r", "A", "B", k, 0.89, 0); /* error ratio 1.1 */
        n = add(r, n, "transfer", "r", "B", "A", k, 0.90, 0); /* error ratio 2.0 */
        n = add(r, n, "random_frozen", "r", "", "B", k, 0.87, 0); /* error ratio 1.3 */
    }
    clt_analysis a;
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(a.rf_halves == 2 && fabs(a.ratio_sim_rf[3] - 1.1) < 1e-9 && fabs(a.ratio_sim[3] - 1.55) < 1e-9,
            "random frozen on B: compared with the transfer nets trained on B (%.3f), not both directions (%.3f)",
            a.ratio_sim_rf[3], a.ratio_sim[3]);
    t_check(a.findings[6].verdict == 1 && strstr(a.findings[6].detail, "trained on B as they are"),
            "(7) holds against the nets trained on the same half: %s", a.findings[6].detail);
    for (int i = 0; i < n; i++)
        if (!strcmp(r[i].treatment, "random_frozen")) snprintf(r[i].target, sizeof r[i].target, "all");
    clt_report_analyse(r, n, 0.005, 0.90, &a); /* their base: a whole-class net at 0.90 */
    t_check(a.rf_halves == 0 && a.findings[6].verdict == 0 && strstr(a.findings[6].detail, "both directions"),
            "random frozen on all classes: both directions pooled, and (7) fails (%s)", a.findings[6].detail);
}

/* (5) in a run part-way, on halves of unequal difficulty: only the AnB+ nets onto the hard half B
   are in. The paper's rule compares them with baseB pooled over both halves and misses their boost;
   the finding then also says what they gain over their own base. */
static void test_boost_one_direction(void) {
    clt_result r[16];
    int n = 0;
    n = add(r, n, "base", "r", "", "A", 0, 0.97, 0);
    n = add(r, n, "base", "r", "", "B", 0, 0.93, 0);
    for (int k = 1; k <= 7; k++) n = add(r, n, "transfer_ft", "r", "A", "B", k, 0.936, 0);
    clt_analysis a;
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(fabs(a.boost_base[0] + 0.014) < 1e-9 && fabs(a.boost_own_base - 0.006) < 1e-9,
            "AnB+ onto B only: -0.014 against the pooled baseB, +0.006 against its own base (%.4f, %.4f)",
            a.boost_base[0], a.boost_own_base);
    t_check(a.findings[4].verdict == 0 && strstr(a.findings[4].detail, "against its own base an AnB+ net is +0.0060"),
            "(5) keeps the paper's rule and says the own-base boost: %s", a.findings[4].detail);
    for (int k = 1; k <= 7; k++) n = add(r, n, "transfer_ft", "r", "B", "A", k, 0.976, 0);
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(a.findings[4].verdict == 1 && !strstr(a.findings[4].detail, "own base"),
            "both directions in: the pooled and own-base boosts agree, and nothing is added: %s", a.findings[4].detail);
}

/* The noise beside the verdicts: base nets' spread over repeats, pooled within split and half, and
   the binomial spread of the validation set; margins are the distance from the rule's bound. */
static void test_noise(void) {
    clt_result r[256];
    clt_analysis a;
    const design holds = HOLDS;
    int n = build(&holds, r);
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(!isfinite(a.noise.seed_sd) && a.noise.seed_groups == 0, "one repeat: no seed spread (%g)", a.noise.seed_sd);
    t_check(!isfinite(a.noise.val_sd) && a.noise.val_images == 0, "validation size unknown: no validation spread");
    t_check(fabs(a.findings[0].margin - 0.003) < 1e-9, "(1) margin: τ − the larger |Δ| (%.5f)", a.findings[0].margin);
    t_check(!isfinite(a.findings[5].margin), "(6) is an error-ratio rule: no top-1 margin");

    /* Two more repeats of the random split's base nets: A 0.90, 0.91, 0.89 and B 0.90, 0.92, 0.88;
       pooled variance (0.0002 + 0.0008) / 4, σ = 0.0158. Every net validated on 5000 images. */
    const double extra[4] = {0.91, 0.89, 0.92, 0.88};
    for (int k = 0; k < 4; k++) {
        n = add(r, n, "base", "r", "", k < 2 ? "A" : "B", 0, extra[k], 0);
        r[n - 1].repeat = 1 + k % 2;
    }
    for (int i = 0; i < n; i++) r[i].val_images = 5000;
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(fabs(a.noise.seed_sd - sqrt(0.001 / 4)) < 1e-9 && a.noise.seed_groups == 2 && a.noise.seed_nets == 6,
            "seed spread pooled over both halves (%.5f, %d groups, %d nets)", a.noise.seed_sd, a.noise.seed_groups,
            a.noise.seed_nets);
    double val = 0;
    int bases = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(r[i].treatment, "base")) val += r[i].metric * (1 - r[i].metric) / 5000, bases++;
    t_check(fabs(a.noise.val_sd - sqrt(val / bases)) < 1e-9 && a.noise.val_images == 5000,
            "validation spread is the binomial standard error (%.5f)", a.noise.val_sd);
    /* (1): the 2 AnB nets at n = 1 against the random split's 6 base nets */
    double want = a.noise.seed_sd * sqrt(1.0 / 2 + 1.0 / a.fig2_count[CLT_F2_BASE][0]);
    t_check(fabs(a.findings[0].noise - want) < 1e-9, "(1) noise: σ·sqrt(1/2 + 1/bases) (%.5f, want %.5f)",
            a.findings[0].noise, want);
    t_check(a.noise.delta_nets == 2 && a.noise.delta_bases == 6 && fabs(a.noise.delta_sd - want) < 1e-9,
            "the typical Δ(n): 2 networks against 6 base nets (%d, %d, %.5f)", a.noise.delta_nets, a.noise.delta_bases,
            a.noise.delta_sd);
}

/* The noise model checked on the networks: a network's Δ from its same-repeat base, pooled over
   repeats within each treatment, split, halves and n; random frozen nets (whose deep prefixes can
   fail to train at all) and repeats without their base stay out. */
static void test_repeat_deltas(void) {
    clt_result r[32];
    int n = 0;
    const double base_b[2] = {0.90, 0.92}, transfer[2] = {0.91, 0.94}, selffer[2] = {0.90, 0.92},
                 random_frozen[2] = {0.75, 0.20};
    for (int k = 0; k < 2; k++) {
        n = add(r, n, "base", "r", "", "B", 0, base_b[k], 0);
        n = add(r, n, "transfer_ft", "r", "A", "B", 3, transfer[k], 0); /* Δ +0.01, +0.02 */
        n = add(r, n, "selffer", "r", "B", "B", 1, selffer[k], 0);      /* Δ 0, 0 */
        n = add(r, n, "random_frozen", "r", "", "B", 5, random_frozen[k], 0);
        for (int i = n - 4; i < n; i++) r[i].repeat = k;
    }
    n = add(r, n, "transfer_ft", "r", "A", "B", 3, 0.99, 0); /* repeat 2 has no base net */
    r[n - 1].repeat = 2;
    clt_analysis a;
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(a.noise.rep_delta_groups == 2 && a.noise.rep_delta_nets == 4 && fabs(a.noise.rep_delta_sd - 0.005) < 1e-9,
            "Δ spread over repeats: (0.00005 + 0) / 2 pooled, σ 0.005 (%.5f, %d groups, %d nets)", a.noise.rep_delta_sd,
            a.noise.rep_delta_groups, a.noise.rep_delta_nets);
    t_check(a.noise.net_sd_from == CLT_NOISE_SEED && fabs(a.noise.net_sd - sqrt(0.0002)) < 1e-9,
            "base nets 0.02 apart: the seed spread (0.0141) outweighs the Δ spread / √2 (0.0035) and is used");
    r[4].metric = 0.90; /* repeat 1's base B as repeat 0's: Δs +0.01, +0.04 and 0, +0.02 */
    clt_report_analyse(r, n, 0.005, NAN, &a);
    t_check(a.noise.net_sd_from == CLT_NOISE_REPEAT_DELTA && fabs(a.noise.net_sd - sqrt(0.000325 / 2)) < 1e-9 &&
                a.noise.delta_bases == 2 &&
                fabs(a.noise.delta_sd - a.noise.net_sd * sqrt(1.0 / a.noise.delta_nets + 0.5)) < 1e-9,
            "equal base nets: the Δ spread / √2 (%.5f) is the networks' noise, and a Δ(n)'s (%.5f)", a.noise.net_sd,
            a.noise.delta_sd);
    clt_report_analyse(r, 4, 0.005, NAN, &a);
    t_check(!isfinite(a.noise.rep_delta_sd) && a.noise.rep_delta_groups == 0, "one repeat: no Δ spread");
}

/* Chance is 1 / classes; a network counts as having learnt nothing within two binomial σ of it. */
static void test_at_chance(void) {
    clt_result x = {.metric = 0.205, .classes = 5, .val_images = 5000};
    t_check(clt_report_at_chance(&x), "0.205 on 5 classes and 5000 images is chance (2σ = 0.0113)");
    x.metric = 0.22;
    t_check(!clt_report_at_chance(&x), "0.22 is above chance by more than 2σ");
    x.metric = 0.2;
    x.classes = 0;
    t_check(!clt_report_at_chance(&x), "classes unknown: not judged");
    x.classes = 5;
    x.metric = NAN;
    t_check(!clt_report_at_chance(&x), "no metric: not judged");
}

int main(void) {
    test_best_mean();
    test_read_metrics();
    test_paper();
    test_constructed();
    test_random_frozen_same_half();
    test_boost_one_direction();
    test_noise();
    test_repeat_deltas();
    test_at_chance();
    return t_done();
}
