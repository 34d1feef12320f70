/* report.h — `cltransfer report RUN_FOLDER`: every network's metrics gathered into results.csv, the
   paper's Figures 2 and 3 and Table 1 recomputed (beside the paper's own numbers), and report.md
   stating by numeric rules which of the paper's findings the run reproduces. */
#ifndef CLT_REPORT_H
#define CLT_REPORT_H

#include "net/treatment.h"

/* argv[0] is "report"; returns the process exit status. */
int clt_report_main(int argc, char **argv);

typedef struct clt_report_options {
    int best;              /* the metric's K; 0: [report] best of RUN/report.ini, else 10 */
    double tolerance;      /* < 0: [report] tolerance of RUN/report.ini, else 0.005 */
    const char *reference; /* the paper's yosinski2014_networks.csv; NULL: searched for */
    const char *gnuplot;   /* NULL: $CLTRANSFER_GNUPLOT, else gnuplot on PATH */
    int partial;           /* include networks without final.ckpt in the analysis */
    int quiet;
} clt_report_options;

/* Writes results.csv, fig2.png, fig3.png (plots/ keeps their gnuplot scripts) and report.md into
   run_dir. Returns 0, or -1 when nothing could be read or written. */
int clt_report_folder(const char *run_dir, const clt_report_options *opt);

/* One network's result: a row of results.csv, or of the paper's networks CSV. */
typedef struct clt_result {
    char network[128];
    char treatment[16], split[32], base[4], target[8];
    int n;              /* layers copied / random; examples per class for reduced nets */
    int repeat;
    double metric;      /* mean of the K highest validation top-1 values (NaN: none) */
    double final_top1;  /* at the last validation (NaN: none) */
    int val_points;
    int val_images;     /* images in its validation pack (0: unknown) */
    int classes;        /* classes of its validation pack (0: unknown) */
    long long last_iter;
    int done;           /* final.ckpt exists */
    int dissimilar;     /* its split is the study's dissimilar split */
} clt_result;

/* Whether a network learnt nothing: its top-1 within two binomial standard errors of chance
   (1 / classes) on its validation set. 0 when the classes or the set's size are unknown. */
int clt_report_at_chance(const clt_result *r);

/* The mean of the k largest of v[0..n) (all of them when n < k); NaN when n is 0. */
double clt_report_best_mean(const double *v, int n, int k);

/* Reads a metrics.csv: the validation top-1 values in order, the last iteration seen. */
int clt_report_read_metrics(const char *path, double **top1, int *n, long long *last_iter);

/* Reads the paper's networks CSV into results (metric = top1_mean_best10). */
int clt_report_read_reference(const char *path, clt_result **out, int *n);

/* What the report computes from a set of results; NaN marks what the data cannot give. */
/* Figure 2's series are the first five treatments, so clt_treatment_name(series) names each. */
enum { CLT_F2_BASE = CLT_T_BASE, CLT_F2_SELFFER = CLT_T_SELFFER, CLT_F2_SELFFER_FT = CLT_T_SELFFER_FT,
       CLT_F2_TRANSFER = CLT_T_TRANSFER, CLT_F2_TRANSFER_FT = CLT_T_TRANSFER_FT, CLT_F2_SERIES };
enum { CLT_FINDINGS = 7 };

/* Error ratios compare nets trained toward tasks of different difficulty (a 97% half and a 78%
   half, or 500 against 1000 classes), where differences in top-1 would favour the hard task; a
   ratio 0.05 larger on average is the smallest gap findings 6 and 7 call a difference. */
#define CLT_REPORT_RATIO_MARGIN 0.05

typedef struct clt_finding {
    int verdict;        /* 1 reproduced, 0 not reproduced, -1 not tested (networks missing) */
    char detail[512];   /* the numbers the verdict rests on */
    /* How far the deciding number lies from the rule's bound, on the side of the verdict (top-1 as a
       fraction; NaN for the error-ratio rules 6 and 7), and the noise of that number: one network's
       seed spread (or, unmeasured, its validation spread) times sqrt(2) for a difference, over the
       square root of the networks averaged. */
    double margin, noise;
} clt_finding;

/* The noise the rules judge, measured on the results themselves. */
typedef struct clt_noise {
    double seed_sd;     /* pooled standard deviation of base nets over repeats (NaN: one repeat only) */
    int seed_nets, seed_groups; /* base nets and (split, target) groups with two or more repeats */
    /* The check on seed_sd: pooled standard deviation over repeats of one network's Δ from its own
       base of the same repeat, within groups of the same treatment, split, halves and n, over
       Figure 2's networks (NaN: none was trained twice). Two independent draws would give sqrt(2)·seed_sd. */
    double rep_delta_sd;
    int rep_delta_nets, rep_delta_groups;
    double val_sd;      /* binomial standard error of one base net's top-1 on its validation set */
    int val_images;     /* images in the base nets' validation sets (0: unknown) */
    /* The σ of one network that every margin's noise is built from: the seed spread, or the Δ
       spread over repeats / √2 where that is larger (the networks move more between seeds than the
       base nets do), or with neither measured the validation spread. */
    double net_sd;
    enum { CLT_NOISE_VALIDATION, CLT_NOISE_SEED, CLT_NOISE_REPEAT_DELTA } net_sd_from;
    /* σ of one Δ(n) of Figure 2: the mean of delta_nets networks at one n against the mean of
       delta_bases base nets (net_sd per network). */
    double delta_sd;
    int delta_nets, delta_bases;
} clt_noise;

typedef struct clt_analysis {
    /* Figure 2 (similar splits): mean top-1 and count per series and n (base at n = 0), and the mean
       difference of each network from its own base. */
    double fig2_mean[CLT_F2_SERIES][8], fig2_delta[CLT_F2_SERIES][8];
    int fig2_count[CLT_F2_SERIES][8];
    double base_mean;   /* baseB: every base net of the similar splits, pooled as the paper does */
    /* Table 1: AnB+ boost over baseB and over BnB+, for layers 1-7, 3-7, 5-7. */
    double boost_base[3], boost_selffer_ft[3];
    /* Table 1's boost for layers 1–7 against each AnB+ net's own base rather than the pooled baseB:
       the two part when the halves differ in difficulty and the AnB+ nets are not on both alike. */
    double boost_own_base;
    /* Figure 3: frozen transfer on the dissimilar split, random frozen nets, and every treatment's
       mean difference from its own base and mean error ratio err/err(base). */
    double dis_mean[2][8];      /* [target A, B][n], base at n = 0 */
    double rf_mean[8];          /* random frozen top-1, its base at n = 0 */
    double norm_sim[8], norm_dis[8], norm_rf[8];
    double ratio_sim[8], ratio_dis[8], ratio_rf[8];
    /* finding 7's comparison: the random split's transfer nets on the halves the random frozen nets
       were trained on (rf_halves: bit 0 A, bit 1 B), or all of them (rf_halves 0) where those
       halves have none or the random frozen nets were trained on something else */
    double ratio_sim_rf[8];
    int rf_halves;
    clt_noise noise;
    clt_finding findings[CLT_FINDINGS];
} clt_analysis;

/* whole_base: the top-1 of the 1000-class base net when the results hold none (the paper's text
   gives it, its networks CSV does not); NaN: use a whole-dataset base or the largest reduced net. */
void clt_report_analyse(const clt_result *r, int n, double tolerance, double whole_base, clt_analysis *a);

extern const char *const CLT_FINDING_NAMES[CLT_FINDINGS];

/* Between the report's files. */
#include "util/strbuf.h"

/* Figures 1–3 into run_dir (fig1.png, fig2.png, fig3.png; scripts in plots/). nets_root is where
   the networks' folders are (results' network names are relative to it). *fig1 says whether
   Figure 1 was drawn (it needs finished base nets' checkpoints). Returns 0, or -1 with why. */
int clt_report_plots(const char *run_dir, const char *nets_root, const clt_result *r, int n, const clt_analysis *ours,
                     const clt_result *ref, int nref, const clt_analysis *paper, const char *gnuplot, int *fig1, char *why,
                     size_t why_size);
/* Figure 1's gnuplot script into out, drawing png: conv1's filters of the base nets of the first
   similar split and of its fine-tuned transfer net with the largest n. Returns the panels drawn. */
int clt_report_filters_script(clt_sb *out, const char *nets_root, const clt_result *r, int n, const char *png);

#endif
