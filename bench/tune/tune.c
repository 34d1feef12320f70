/* tune.c — the CLBlast parameter search behind `cltransfer-bench tune`: times candidate parameter
   sets through clt_gemm on the nets' own shapes (so CLBlast's padding, transposes and the
   direct/indirect switch are all in the measurement), checks every candidate's results, and keeps
   only what beats the parameters already in effect when both are timed side by side. */
#include "tune/tune.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/gemm.h"
#include "device/tuning.h"
#include "net/config.h"
#include "net/net.h"
#include "util/util.h"

typedef struct candidate {
    char kernel[16];
    int n;
    char names[CLT_TUNING_MAX_PARAMS][32];
    size_t values[CLT_TUNING_MAX_PARAMS];
    double score, first_s; /* geometric-mean GFLOP/s; seconds of the first (compiling) pass */
    bool ok;
    /* race mode only: d->gemm.layout (a clt_gemm_layout), .keep_temp and .split_k (0/1) for this
       candidate; -1 leaves what is in effect */
    int layout, temp, splitk;
} candidate;

/* ---- the search's constants ---- */

/* Beyond this many accumulators per work-item no device keeps them in registers. */
enum { MAX_ACCUMULATORS = 256 };
/* Random mutations tried for one that fits before giving up on a parent. */
enum { MUTATION_TRIES = 400 };
/* Duplicate or unmutable candidates in a row after which the search is over. */
enum { MAX_STALE = 2000 };
/* A runner-up within this fraction of the leader may be mutated instead of the leader. */
static const double RUNNER_UP_RATIO = 0.8;
/* The final race keeps what is in effect unless a candidate beats it by this factor; one whose
   first pass (compile included) took over SLOW_COMPILE_S must win by SLOW_COMPILE_MARGIN more,
   as every cold start pays its compile. */
static const double INCUMBENT_MARGIN = 1.03, SLOW_COMPILE_MARGIN = 1.2;
static const double SLOW_COMPILE_S = 60;
/* Budget shares: the kernel's own Xgemm search, then the shape classes' searches together, then
   XgemmDirect gets this share of what is left (at least MIN_DIRECT_S); the threshold the rest. */
static const double XGEMM_SHARE = 0.4, CLASSES_SHARE = 0.35, DIRECT_SHARE_OF_REST = 0.75;
static const double MIN_DIRECT_S = 10, MIN_DIRECT_BUDGET_FLOOR_FROM = 100; /* the floor holds from this budget on */
/* XGEMM_MIN_INDIRECT_SIZE that sends every call to the direct kernel: above the cube root of any
   product a layer makes. */
static const size_t DIRECT_ALWAYS = (size_t)1 << 20;
/* Two thresholds whose predicted times are within this factor are a tie (the smaller wins). */
static const double THRESHOLD_TIE = 1.001;

/* ---- search spaces: wider than CLBlast's own tuner, which stops at vector width 8 and tiles of
   128 and so misses what a 16-wide SIMD CPU under PoCL wants ---- */

typedef struct dim {
    const char *name;
    size_t v[8];
    int n;
} dim;

static const dim xgemm_dims[] = {
    {"GEMMK", {0, 1}, 2},          {"MWG", {16, 32, 64, 128, 256}, 5}, {"NWG", {16, 32, 64, 128, 256}, 5},
    {"KWG", {8, 16, 32, 64}, 4},   {"MDIMC", {1, 2, 4, 8, 16, 32}, 6}, {"NDIMC", {1, 2, 4, 8, 16, 32}, 6},
    {"MDIMA", {1, 2, 4, 8, 16, 32}, 6}, {"NDIMB", {1, 2, 4, 8, 16, 32}, 6}, {"KWI", {1, 2, 4, 8}, 4},
    {"VWM", {1, 2, 4, 8, 16}, 5},  {"VWN", {1, 2, 4, 8, 16}, 5},      {"STRM", {0, 1}, 2},
    {"STRN", {0, 1}, 2},           {"SA", {0, 1}, 2},                 {"SB", {0, 1}, 2},
    {"KREG", {1, 2, 4, 8, 16}, 5}};
static const dim direct_dims[] = {
    {"WGD", {8, 16, 32, 64, 128}, 5},   {"MDIMCD", {1, 2, 4, 8, 16, 32}, 6}, {"NDIMCD", {1, 2, 4, 8, 16, 32}, 6},
    {"MDIMAD", {1, 2, 4, 8, 16, 32}, 6}, {"NDIMBD", {1, 2, 4, 8, 16, 32}, 6}, {"KWID", {1, 2, 4, 8, 16}, 5},
    {"VWMD", {1, 2, 4, 8, 16}, 5},      {"VWND", {1, 2, 4, 8, 16}, 5},      {"PADA", {0, 1}, 2},
    {"PADB", {0, 1}, 2}};

/* Starting points: what measured well on PoCL CPUs (AVX-512 and AVX2) and the shapes CLBlast's own
   database favours on GPUs. Each is checked against the device's limits before use. */
static const char *const xgemm_seeds[] = {
    "GEMMK=0 KREG=1 KWG=16 KWI=1 MDIMA=2 MDIMC=2 MWG=32 NDIMB=8 NDIMC=8 NWG=128 SA=0 SB=0 STRM=0 STRN=0 VWM=16 VWN=8",
    "GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=4 MDIMC=4 MWG=64 NDIMB=4 NDIMC=4 NWG=32 SA=0 SB=0 STRM=0 STRN=0 VWM=8 VWN=4",
    "GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=4 MDIMC=4 MWG=64 NDIMB=8 NDIMC=8 NWG=128 SA=0 SB=0 STRM=0 STRN=0 VWM=8 VWN=4",
    "GEMMK=0 KREG=1 KWG=16 KWI=2 MDIMA=8 MDIMC=8 MWG=128 NDIMB=16 NDIMC=16 NWG=128 SA=0 SB=0 STRM=1 STRN=1 VWM=8 VWN=4",
    "GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=16 MDIMC=16 MWG=64 NDIMB=8 NDIMC=8 NWG=64 SA=0 SB=0 STRM=0 STRN=0 VWM=4 VWN=4",
    "GEMMK=0 KREG=1 KWG=32 KWI=2 MDIMA=16 MDIMC=16 MWG=64 NDIMB=16 NDIMC=16 NWG=64 SA=1 SB=1 STRM=0 STRN=0 VWM=4 VWN=4",
    "GEMMK=0 KREG=1 KWG=16 KWI=2 MDIMA=8 MDIMC=16 MWG=128 NDIMB=32 NDIMC=8 NWG=64 SA=1 SB=1 STRM=1 STRN=0 VWM=4 VWN=2",
};
/* Seeds for a shape class's search, tried before the kernel-wide seeds: small output tiles, for
   products with a narrow side of C or a long k, where a wide tile is mostly padding and CLBlast
   copies the long operand to pad it (measured on the small net: bench/RESULTS.md). */
static const char *const class_seeds[] = {
    "GEMMK=0 KREG=1 KWG=16 KWI=1 MDIMA=1 MDIMC=1 MWG=16 NDIMB=2 NDIMC=2 NWG=32 SA=0 SB=0 STRM=0 STRN=0 VWM=16 VWN=8",
    "GEMMK=0 KREG=1 KWG=16 KWI=1 MDIMA=1 MDIMC=1 MWG=16 NDIMB=1 NDIMC=1 NWG=16 SA=0 SB=0 STRM=0 STRN=0 VWM=16 VWN=8",
    "GEMMK=0 KREG=1 KWG=16 KWI=1 MDIMA=2 MDIMC=2 MWG=32 NDIMB=2 NDIMC=2 NWG=32 SA=0 SB=0 STRM=0 STRN=0 VWM=16 VWN=8",
    "GEMMK=0 KREG=1 KWG=16 KWI=1 MDIMA=2 MDIMC=2 MWG=32 NDIMB=4 NDIMC=4 NWG=64 SA=0 SB=0 STRM=0 STRN=0 VWM=16 VWN=8",
};
static const char *const direct_seeds[] = {
    "KWID=2 MDIMAD=8 MDIMCD=8 NDIMBD=8 NDIMCD=8 PADA=1 PADB=1 VWMD=4 VWND=1 WGD=32",
    "KWID=2 MDIMAD=8 MDIMCD=8 NDIMBD=8 NDIMCD=8 PADA=1 PADB=1 VWMD=8 VWND=1 WGD=64",
    "KWID=2 MDIMAD=16 MDIMCD=16 NDIMBD=8 NDIMCD=8 PADA=1 PADB=1 VWMD=2 VWND=2 WGD=32",
    "KWID=2 MDIMAD=8 MDIMCD=8 NDIMBD=16 NDIMCD=16 PADA=1 PADB=1 VWMD=4 VWND=4 WGD=64",
};

static uint64_t rng_state = 0x5eed;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t *param_slot(candidate *c, const char *name) {
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->names[i], name)) return &c->values[i];
    if (c->n == CLT_TUNING_MAX_PARAMS) return NULL;
    snprintf(c->names[c->n], sizeof c->names[0], "%s", name);
    c->values[c->n] = 0;
    return &c->values[c->n++];
}
static size_t param_of(const candidate *c, const char *name) {
    return clt_tuning_get(c->n, (const char(*)[32])c->names, c->values, name, 0);
}

static bool parse_params(candidate *c, const char *kernel, const char *text) {
    memset(c, 0, sizeof *c);
    c->layout = -1, c->temp = -1, c->splitk = -1;
    snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
    char *copy = clt_strdup(text), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = 0;
        size_t *s = param_slot(c, tok);
        if (s) *s = strtoull(eq + 1, NULL, 10);
    }
    free(copy);
    return c->n > 0;
}

static bool same_params(const candidate *a, const candidate *b) {
    if (strcmp(a->kernel, b->kernel) || a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
        if (param_of(b, a->names[i]) != a->values[i]) return false;
    return true;
}

/* Structural rules (shared with the database loader) plus what this device can launch. */
static bool fits(clt_device *d, const candidate *c) {
    char why[200];
    if (!clt_tuning_valid(c->kernel, c->n, (const char(*)[32])c->names, c->values, why, sizeof why)) return false;
    size_t local_bytes, threads, work;
    if (!strcmp(c->kernel, "Xgemm")) {
        size_t gemmk = param_of(c, "GEMMK");
        if (gemmk == 1) {
            /* CLBlast's second kernel has no local memory and takes k one step at a time. */
            if (param_of(c, "KWG") != 1 || param_of(c, "KWI") != 1 || param_of(c, "SA") || param_of(c, "SB") || param_of(c, "STRM") ||
                param_of(c, "STRN") || param_of(c, "MDIMA") != param_of(c, "MDIMC") || param_of(c, "NDIMB") != param_of(c, "NDIMC"))
                return false;
        } else if (param_of(c, "KREG") != 1 || param_of(c, "KWG") < 8) {
            return false;
        }
        threads = param_of(c, "MDIMC") * param_of(c, "NDIMC");
        local_bytes = 4 * (param_of(c, "SA") * param_of(c, "KWG") * param_of(c, "MWG") + param_of(c, "SB") * param_of(c, "KWG") * param_of(c, "NWG"));
        work = (param_of(c, "MWG") / param_of(c, "MDIMC")) * (param_of(c, "NWG") / param_of(c, "NDIMC"));
    } else {
        size_t wgd = param_of(c, "WGD");
        threads = param_of(c, "MDIMCD") * param_of(c, "NDIMCD");
        local_bytes = 4 * (wgd * (wgd + param_of(c, "PADA")) + wgd * (wgd + param_of(c, "PADB")));
        work = (wgd / param_of(c, "MDIMCD")) * (wgd / param_of(c, "NDIMCD"));
    }
    return threads <= d->max_work_group && local_bytes <= d->local_mem && work <= MAX_ACCUMULATORS && work >= 1;
}

/* Changes one or two parameters to a neighbouring value; keeps trying until the result fits. */
static bool mutate(clt_device *d, const candidate *from, candidate *to, const dim *dims, int ndims) {
    for (int tries = 0; tries < MUTATION_TRIES; tries++) {
        *to = *from;
        int changes = 1 + (int)(rnd() % 2);
        for (int ch = 0; ch < changes; ch++) {
            const dim *dm = &dims[rnd() % (uint64_t)ndims];
            size_t *v = param_slot(to, dm->name);
            if (!v) continue;
            int at = 0;
            while (at < dm->n && dm->v[at] != *v) at++;
            int next;
            if (at == dm->n || rnd() % 4 == 0) next = (int)(rnd() % (uint64_t)dm->n);
            else next = at + ((rnd() & 1) ? 1 : -1);
            if (next < 0 || next >= dm->n) continue;
            *v = dm->v[next];
        }
        /* Loading-thread shapes follow the compute shape unless a mutation moved them on purpose. */
        if (!strcmp(to->kernel, "Xgemm") && param_of(to, "GEMMK") == 1) {
            *param_slot(to, "KWG") = 1, *param_slot(to, "KWI") = 1, *param_slot(to, "SA") = 0, *param_slot(to, "SB") = 0;
            *param_slot(to, "STRM") = 0, *param_slot(to, "STRN") = 0;
            *param_slot(to, "MDIMA") = param_of(to, "MDIMC"), *param_slot(to, "NDIMB") = param_of(to, "NDIMC");
        } else if (!strcmp(to->kernel, "Xgemm")) {
            *param_slot(to, "KREG") = 1;
            if (param_of(to, "KWG") < 8) *param_slot(to, "KWG") = 16;
            if (param_of(to, "KWI") > param_of(to, "KWG")) *param_slot(to, "KWI") = 2;
            /* MDIMA/NDIMB only shape the loads into local memory: without SA/SB they change the
               program text (a recompile) and nothing else, so they follow MDIMC/NDIMC. */
            candidate norm = *to;
            if (!param_of(to, "SA")) *param_slot(&norm, "MDIMA") = param_of(to, "MDIMC");
            if (!param_of(to, "SB")) *param_slot(&norm, "NDIMB") = param_of(to, "NDIMC");
            if (fits(d, &norm)) *to = norm;
        }
        if (!same_params(to, from) && fits(d, to)) return true;
    }
    return false;
}

/* ---- measuring ---- */

typedef struct workload {
    clt_gemm_case *cases;
    int n;
} workload;

static double gmean(const double *x, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += log(x[i] > 0 ? x[i] : 1e-9);
    return exp(s / n);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sets the GEMM routine so the candidate's kernel is the one that runs. */
static int select_kernel(clt_device *d, const candidate *c, char *why, size_t why_len) {
    const char threshold[1][32] = {"XGEMM_MIN_INDIRECT_SIZE"};
    size_t v[1] = {!strcmp(c->kernel, "Xgemm") ? 1 : DIRECT_ALWAYS};
    if (clt_tuning_override(d, "GemmRoutine", 1, threshold, v, why, why_len) != 0) return -1;
    return clt_tuning_override(d, c->kernel, c->n, (const char(*)[32])c->names, c->values, why, why_len);
}

static void race_switches(clt_device *d, const candidate *c) {
    if (c->layout >= 0) d->gemm.layout = (clt_gemm_layout)c->layout;
    if (c->temp >= 0) d->gemm.keep_temp = c->temp;
    if (c->splitk >= 0) d->gemm.split_k = c->splitk;
}

/* First pass: compiles and checks every case. Returns false with why for a candidate to drop. */
static bool first_pass(clt_device *d, workload *w, candidate *c, char *why, size_t why_len) {
    if (select_kernel(d, c, why, why_len) != 0) return false;
    race_switches(d, c);
    double t0 = clt_now();
    for (int i = 0; i < w->n; i++) {
        clt_gemm_case_reset(d, &w->cases[i]);
        clt_gemm_case_run(d, &w->cases[i]);
        clt_finish(d);
        if (!clt_device_ok(d)) {
            snprintf(why, why_len, "%.200s", d->error);
            d->failed = 0; /* a candidate the device refuses is dropped; the search goes on */
            return false;
        }
        if (!clt_gemm_case_check(d, &w->cases[i], why, why_len)) return false;
    }
    c->first_s = clt_now() - t0;
    return true;
}

/* Times candidates side by side: every repeat runs each candidate's pass over the workload in
   turn, so machine noise lands on all of them. Scores are geometric means over the cases of the
   best GFLOP/s. */
static int race(clt_device *d, workload *w, candidate **cs, int nc, int repeats, double *per_case /* nc×w->n or NULL */) {
    double *t = clt_malloc((size_t)nc * w->n * repeats * sizeof(double));
    char why[256];
    for (int r = 0; r < repeats; r++)
        for (int j = 0; j < nc; j++) {
            if (select_kernel(d, cs[j], why, sizeof why) != 0) {
                clt_error("%s", why);
                free(t);
                return -1;
            }
            race_switches(d, cs[j]);
            for (int i = 0; i < w->n; i++) {
                double s = clt_gemm_case_time(d, &w->cases[i]);
                if (s < 0) {
                    clt_error("%s", d->error);
                    free(t);
                    return -1;
                }
                t[((size_t)j * w->n + i) * repeats + r] = s;
            }
        }
    double *g = clt_malloc(w->n * sizeof(double));
    for (int j = 0; j < nc; j++) {
        for (int i = 0; i < w->n; i++) {
            double *ts = t + ((size_t)j * w->n + i) * repeats;
            qsort(ts, (size_t)repeats, sizeof *ts, cmp_double);
            /* Other work on the machine only ever slows a run down, so the fastest of the repeats
               is the least noisy estimate of what the parameters can do. */
            g[i] = clt_gemm_flops(&w->cases[i].s) / ts[0] * 1e-9;
            if (per_case) per_case[(size_t)j * w->n + i] = g[i];
        }
        cs[j]->score = gmean(g, w->n);
    }
    free(g);
    free(t);
    return 0;
}

static void print_cand(FILE *out, const candidate *c) {
    fprintf(out, "%s", c->kernel);
    for (int i = 0; i < c->n; i++) fprintf(out, " %s=%zu", c->names[i], c->values[i]);
}

/* The parameters in effect for `kernel`; -1 (device failed) if CLBlast does not report one. */
static int current(clt_device *d, const char *kernel, candidate *c) {
    memset(c, 0, sizeof *c);
    c->layout = -1, c->temp = -1, c->splitk = -1;
    snprintf(c->kernel, sizeof c->kernel, "%s", kernel);
    const dim *dims = !strcmp(kernel, "Xgemm") ? xgemm_dims : direct_dims;
    int nd = !strcmp(kernel, "Xgemm") ? (int)CLT_ARRAY_LEN(xgemm_dims) : (int)CLT_ARRAY_LEN(direct_dims);
    for (int i = 0; i < nd; i++) {
        size_t v = 0;
        if (clt_tuning_param(d, kernel, dims[i].name, &v) != 0) return -1;
        *param_slot(c, dims[i].name) = v;
    }
    return 0;
}

/* Searches one kernel within `budget` seconds; *best comes back as the winner (the incumbent
   unless something beat it in the final side-by-side race). Load from other work on the machine
   drifts over minutes, so a candidate is never judged against an old number: it races the best so
   far, and its standing is the ratio between the two in that race. */
/* start: the incumbent (NULL: what is in effect); for_class: a shape class's search, which tries
   the class seeds first. */
static int search(clt_device *d, workload *w, const char *kernel, double budget, int max_candidates, int verbose,
                  const candidate *start, bool for_class, candidate *best) {
    double t_end = clt_now() + budget;
    bool xg = !strcmp(kernel, "Xgemm");
    const dim *dims = xg ? xgemm_dims : direct_dims;
    int nd = xg ? (int)CLT_ARRAY_LEN(xgemm_dims) : (int)CLT_ARRAY_LEN(direct_dims);
    const char *seeds[CLT_ARRAY_LEN(class_seeds) + CLT_ARRAY_LEN(xgemm_seeds) + CLT_ARRAY_LEN(direct_seeds)];
    int nseeds = 0;
    for (size_t i = 0; xg && for_class && i < CLT_ARRAY_LEN(class_seeds); i++) seeds[nseeds++] = class_seeds[i];
    for (size_t i = 0; xg && i < CLT_ARRAY_LEN(xgemm_seeds); i++) seeds[nseeds++] = xgemm_seeds[i];
    for (size_t i = 0; !xg && i < CLT_ARRAY_LEN(direct_seeds); i++) seeds[nseeds++] = direct_seeds[i];

    int cap = 256, n = 0, lead = -1; /* lead: index of the best so far */
    candidate *tried = clt_calloc((size_t)cap, sizeof *tried);
    double *rel = clt_calloc((size_t)cap, sizeof *rel); /* score relative to the leader it raced */
    char why[256];
    candidate incumbent;
    if (start) incumbent = *start;
    else if (current(d, kernel, &incumbent) != 0) {
        free(tried), free(rel);
        return -1;
    }
    int next_seed = 0, stale = 0;
    double last_cost = 0; /* seconds the previous candidate took, compile included */
    for (;;) {
        candidate c;
        /* Stop before a candidate that would likely end past the budget; the incumbent is always
           measured, since the final race needs it. */
        if (n > 0 && (clt_now() + last_cost > t_end || (max_candidates > 0 && n >= max_candidates))) break;
        if (n == 0) c = incumbent;
        else if (next_seed < nseeds) {
            if (!parse_params(&c, kernel, seeds[next_seed++]) || !fits(d, &c)) continue;
        } else {
            if (clt_now() > t_end || lead < 0 || stale > MAX_STALE) break;
            /* Mostly refine the leader; sometimes a runner-up, to get off a local peak. */
            int pick = lead;
            if (rnd() % 4 == 0) {
                int j = (int)(rnd() % (uint64_t)n);
                if (tried[j].ok && rel[j] > RUNNER_UP_RATIO) pick = j;
            }
            if (!mutate(d, &tried[pick], &c, dims, nd)) {
                stale++;
                continue;
            }
        }
        bool dup = false;
        for (int i = 0; i < n && !dup; i++) dup = same_params(&tried[i], &c);
        if (dup) {
            stale++;
            continue;
        }
        if (n == cap) {
            cap *= 2;
            tried = clt_realloc(tried, (size_t)cap * sizeof *tried);
            rel = clt_realloc(rel, (size_t)cap * sizeof *rel);
        }
        double t_cand = clt_now();
        c.ok = first_pass(d, w, &c, why, sizeof why);
        rel[n] = 0;
        if (c.ok) {
            candidate *pair[2] = {&c, lead >= 0 ? &tried[lead] : &c};
            if (race(d, w, pair, lead >= 0 ? 2 : 1, 3, NULL) != 0) {
                free(tried), free(rel);
                return -1;
            }
            rel[n] = lead >= 0 ? c.score / tried[lead].score : 1.0;
        }
        tried[n] = c;
        last_cost = clt_now() - t_cand;
        bool leads = c.ok && (lead < 0 || rel[n] > 1.0);
        if (verbose) {
            fprintf(stderr, "  %3d ", n + 1);
            if (c.ok) fprintf(stderr, "%6.1f GFLOP/s, %5.2f× the best (first pass %4.1f s)%s ", c.score, rel[n], c.first_s,
                              leads ? " *" : "  ");
            else fprintf(stderr, "dropped: %.100s\n      ", why);
            print_cand(stderr, &c);
            fputc('\n', stderr);
        }
        if (leads) {
            if (lead >= 0)
                for (int i = 0; i < n; i++) rel[i] /= rel[n]; /* keep ratios relative to the new leader */
            lead = n;
            rel[n] = 1.0;
        }
        n++;
    }

    /* A single race can still flatter a lucky candidate: race the leader and the runners-up
       against the incumbent once more, and keep the incumbent unless it is beaten clearly. */
    candidate *top[4];
    int ntop = 0;
    top[ntop++] = &tried[0];
    if (lead > 0) top[ntop++] = &tried[lead];
    for (int k = ntop; k < 4; k++) {
        int pick = -1;
        for (int i = 1; i < n; i++) {
            bool taken = false;
            for (int j = 0; j < ntop; j++) taken |= top[j] == &tried[i];
            if (tried[i].ok && !taken && (pick < 0 || rel[i] > rel[pick])) pick = i;
        }
        if (pick >= 0) top[ntop++] = &tried[pick];
    }
    int win = 0;
    if (ntop > 1) {
        candidate *live[4];
        int nlive = 0;
        for (int j = 0; j < ntop; j++)
            if (top[j]->ok) live[nlive++] = top[j];
        if (nlive > 1 && race(d, w, live, nlive, 5, NULL) != 0) {
            free(tried), free(rel);
            return -1;
        }
        /* A kernel that takes minutes to compile costs every cold start that much (CPU drivers
           compile every kernel of CLBlast's program, used or not), so it must win by a margin. */
        for (int j = 1; j < ntop; j++) {
            double margin = (win == 0 ? INCUMBENT_MARGIN : 1.0) *
                            (top[j]->first_s > SLOW_COMPILE_S ? SLOW_COMPILE_MARGIN : 1.0);
            if (top[j]->ok && (!top[win]->ok || top[j]->score > top[win]->score * margin)) win = j;
        }
    }
    if (verbose) {
        fprintf(stderr, "  final race:");
        for (int j = 0; j < ntop; j++)
            if (top[j]->ok) fprintf(stderr, " %.1f%s", top[j]->score, j == 0 ? " (in effect)" : "");
        fprintf(stderr, " GFLOP/s; %d candidates in %.0f s\n", n, budget - (t_end - clt_now()));
    }
    *best = *top[win];
    bool ok = top[win]->ok;
    free(tried);
    free(rel);
    return ok ? 0 : -1;
}

/* Picks XGEMM_MIN_INDIRECT_SIZE: for each shape, which of the two kernels is faster, then the
   cube-root threshold that sends the most time to the faster one. */
static size_t pick_threshold(clt_device *d, workload *w, candidate *xg, candidate *dr, int verbose) {
    candidate *both[2] = {xg, dr};
    double *g = clt_malloc(2 * w->n * sizeof(double));
    /* The pair is a program neither search compiled (CLBlast builds every kernel of the routine
       with all parameters in its text), so one untimed pass each compiles it first. */
    char why[256];
    for (int j = 0; j < 2; j++) {
        if (select_kernel(d, both[j], why, sizeof why) != 0) {
            clt_error("%s", why);
            free(g);
            return 0;
        }
        for (int i = 0; i < w->n; i++) clt_gemm_case_run(d, &w->cases[i]);
        clt_finish(d);
    }
    if (race(d, w, both, 2, 3, g) != 0) {
        free(g);
        return 0;
    }
    /* candidate thresholds: just above each shape's cube root, and the extremes */
    size_t best_t = 0;
    double best_time = 1e300;
    for (int c = -1; c <= w->n; c++) {
        size_t t;
        if (c == -1) t = 1;
        else if (c == w->n) t = DIRECT_ALWAYS;
        else {
            const clt_gemm_shape *s = &w->cases[c].s;
            t = (size_t)ceil(cbrt((double)s->m * s->n * s->k)) + 1;
        }
        double total = 0;
        for (int i = 0; i < w->n; i++) {
            const clt_gemm_shape *s = &w->cases[i].s;
            bool direct = (double)s->m * s->n * s->k < (double)t * t * t;
            total += clt_gemm_flops(s) / (g[(direct ? w->n : 0) + i] * 1e9);
        }
        if (total < best_time / THRESHOLD_TIE || (total <= best_time * THRESHOLD_TIE && t < best_t))
            best_time = total, best_t = t;
    }
    if (verbose)
        for (int i = 0; i < w->n; i++)
            fprintf(stderr, "  %-8s %-9s %-5s indirect %6.1f  direct %6.1f GFLOP/s\n", w->cases[i].s.net,
                    w->cases[i].s.name, w->cases[i].s.form, g[i], g[w->n + i]);
    free(g);
    return best_t;
}

/* A workload case above this many GFLOP (CaffeNet's fc layers) is cut along n, as long as its
   shape class stays, so that one pass over a workload takes a fraction of a second. */
static const double CASE_MAX_GFLOP = 2.0;

static clt_gemm_shape cut_to_size(clt_gemm_shape s) {
    clt_gemm_class cls = clt_gemm_class_of(s.ta, s.tb, s.m, s.n, s.k);
    while (clt_gemm_flops(&s) > CASE_MAX_GFLOP * 1e9 && s.n % 2 == 0 && s.ldc == s.n && !s.tb && s.ldb == s.n) {
        clt_gemm_shape half = s;
        half.n /= 2, half.ldb /= 2, half.ldc /= 2;
        if (clt_gemm_class_of(half.ta, half.tb, half.m, half.n, half.k) != cls) break;
        s = half;
    }
    return s;
}

/* cut: shapes cut to size (the tuner), else as they are (the race reports every shape) */
static int add_cases(clt_device *d, workload *w, const clt_gemm_shape *shapes, int n, bool cut, uint64_t seed) {
    w->cases = clt_realloc(w->cases, (size_t)(w->n + n + 1) * sizeof(clt_gemm_case));
    for (int i = 0; i < n; i++) {
        clt_gemm_shape s = cut ? cut_to_size(shapes[i]) : shapes[i];
        if (clt_gemm_case_init(d, &w->cases[w->n], &s, seed + (uint64_t)i) != 0) return -1;
        w->n++;
    }
    return 0;
}

/* Every shape of one net (the race's --net, the tuner's --arch). */
static int build_net_workload(clt_device *d, const clt_arch *arch, int batch, size_t chunk, workload *w) {
    clt_gemm_shape all[64];
    int n = clt_gemm_shapes(arch, batch, chunk, d->conv_dweight_nn, all, 64);
    *w = (workload){0};
    if (n <= 0 || n > 64) return -1;
    return add_cases(d, w, all, n, true, 99);
}

/* The default workload: shapes of both study nets that cover every form (NN, TN, NT) and shape
   class, CaffeNet's at a reduced chunk, so one pass takes a fraction of a second before tuning. */
static int build_workload(clt_device *d, size_t chunk, workload *w) {
    clt_gemm_shape all[128];
    int n = clt_gemm_net_shapes("caffenet", chunk ? chunk : 4, d->conv_dweight_nn, all, 64);
    n += clt_gemm_net_shapes("small", 0, d->conv_dweight_nn, all + n, 64);
    static const char *const pick[][3] = {
        {"caffenet", "conv1", "fwd"},   {"caffenet", "conv2/g2", "fwd"}, {"caffenet", "conv3", "fwd"},
        {"caffenet", "conv3", "bwd-d"}, {"caffenet", "conv3", "bwd-w"},  {"caffenet", "conv1", "bwd-w"},
        {"caffenet", "fc8", "fwd"},     {"caffenet", "fc7", "bwd-w"},    {"small", "conv1", "fwd"},
        {"small", "conv2/g2", "fwd"},   {"small", "conv2/g2", "bwd-d"}, {"small", "conv2/g2", "bwd-w"},
        {"small", "conv3", "bwd-d"},    {"small", "conv3", "bwd-w"},     {"small", "conv4/g2", "fwd"},
        {"small", "conv5/g2", "bwd-w"}, {"small", "fc6", "fwd"}};
    clt_gemm_shape picked[CLT_ARRAY_LEN(pick)];
    int np = 0;
    for (size_t p = 0; p < CLT_ARRAY_LEN(pick); p++)
        for (int i = 0; i < n; i++)
            if (!strcmp(all[i].net, pick[p][0]) && !strcmp(all[i].name, pick[p][1]) && !strcmp(all[i].form, pick[p][2]))
                picked[np++] = all[i];
    *w = (workload){0};
    return add_cases(d, w, picked, np, true, 77);
}

static void free_workload(workload *w) {
    for (int i = 0; i < w->n; i++) clt_gemm_case_free(&w->cases[i]);
    free(w->cases);
    w->cases = NULL;
    w->n = 0;
}

int clt_tune_race(clt_device *d, const char *path, int repeats, size_t chunk, const char *net) {
    clt_tuning_db db = {0};
    if (clt_tuning_load(&db, path) != 0) return -1;
    if (db.n == 0) {
        clt_error("%s: no candidates", path);
        return -1;
    }
    clt_gemm_shape named[64];
    int n_named = net ? clt_gemm_net_shapes(net, chunk, d->conv_dweight_nn, named, 64) : 0;
    workload w = {0};
    if (net && (n_named <= 0 || n_named > 64)) {
        clt_error("unknown net '%s' (small or caffenet)", net);
        clt_tuning_free(&db);
        return -1;
    }
    if ((net ? add_cases(d, &w, named, n_named, false, 99) : build_workload(d, chunk, &w)) != 0) {
        free_workload(&w);
        clt_tuning_free(&db);
        return -1;
    }
    candidate *cs = clt_calloc((size_t)db.n, sizeof *cs);
    candidate **ok = clt_calloc((size_t)db.n, sizeof *ok);
    int nok = 0;
    char why[256];
    for (int i = 0; i < db.n; i++) {
        const clt_tuning_entry *e = &db.entries[i];
        if (strcmp(e->kernel, "Xgemm") && strcmp(e->kernel, "XgemmDirect")) continue;
        if (current(d, e->kernel, &cs[i]) != 0) break;
        cs[i].layout = -1, cs[i].temp = -1, cs[i].splitk = -1;
        for (int j = 0; j < e->n; j++) {
            if (!strcmp(e->names[j], "LAYOUT")) cs[i].layout = (int)e->values[j];
            else if (!strcmp(e->names[j], "TEMP")) cs[i].temp = (int)e->values[j];
            else if (!strcmp(e->names[j], "SPLITK")) cs[i].splitk = (int)e->values[j];
            else *param_slot(&cs[i], e->names[j]) = e->values[j];
        }
        cs[i].ok = first_pass(d, &w, &cs[i], why, sizeof why);
        fprintf(stderr, "line %d: %s (first pass %.1f s)\n", e->line, cs[i].ok ? "ok" : why, cs[i].first_s);
        if (cs[i].ok) ok[nok++] = &cs[i];
    }
    double *g = clt_malloc((size_t)(nok ? nok : 1) * w.n * sizeof(double));
    int r = nok ? race(d, &w, ok, nok, repeats, g) : -1;
    if (r == 0) {
        printf("%-8s %-9s %-5s |", "net", "layer", "form");
        for (int j = 0; j < nok; j++) printf(" line%-3d", db.entries[ok[j] - cs].line);
        printf("\n");
        for (int i = 0; i < w.n; i++) {
            printf("%-8s %-9s %-5s |", w.cases[i].s.net, w.cases[i].s.name, w.cases[i].s.form);
            for (int j = 0; j < nok; j++) printf(" %7.1f", g[(size_t)j * w.n + i]);
            printf("\n");
        }
        printf("%-24s |", "geometric mean");
        for (int j = 0; j < nok; j++) printf(" %7.1f", ok[j]->score);
        printf("\n");
    }
    free(g);
    free(ok);
    free(cs);
    free_workload(&w);
    clt_tuning_free(&db);
    return r;
}

/* The cases of `w` in shape class `cls`, sharing w's buffers (free only the array). */
static workload class_subset(const workload *w, clt_gemm_class cls) {
    workload sub = {clt_calloc((size_t)(w->n ? w->n : 1), sizeof(clt_gemm_case)), 0};
    for (int i = 0; i < w->n; i++) {
        const clt_gemm_shape *s = &w->cases[i].s;
        if (clt_gemm_class_of(s->ta, s->tb, s->m, s->n, s->k) == cls) sub.cases[sub.n++] = w->cases[i];
    }
    return sub;
}

/* ---- the last check: whole parameter sets on training steps ---- */

const char *const clt_tune_set_names[CLT_TUNE_N_SETS] = {"in effect", "chosen", "chosen, switch in effect"};

/* Everything the tuner stores for a device. */
typedef struct tune_choice {
    candidate xg, dr, per_class[CLT_GEMM_N_CLASSES];
    bool own[CLT_GEMM_N_CLASSES]; /* a class line of its own; else the class runs xg */
    size_t threshold;             /* GemmRoutine's XGEMM_MIN_INDIRECT_SIZE */
} tune_choice;

/* Rounds of the check: each runs every set in turn, one untimed step (the class switches and
   caches settle) and STEP_RUN timed ones, the order rotating so drift lands on every set alike. */
enum { STEP_WARM = 2, STEP_ROUNDS = 5, STEP_RUN = 3 };
/* The default study's batch and classes per half (conf/study/fmnist.ini), whose training the
   check stands for when no --arch is tuned. */
enum { STUDY_BATCH = 64, STUDY_CLASSES = 5 };

static bool same_choice(const tune_choice *a, const tune_choice *b) {
    if (!same_params(&a->xg, &b->xg) || !same_params(&a->dr, &b->dr) || a->threshold != b->threshold) return false;
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++)
        if (a->own[c] != b->own[c] || (a->own[c] && !same_params(&a->per_class[c], &b->per_class[c]))) return false;
    return true;
}

/* What the databases give the device, class lines included (the device is left running it). */
static int in_effect_choice(clt_device *d, tune_choice *c) {
    memset(c, 0, sizeof *c);
    if (clt_tuning_reload(d, NULL) != 0 || current(d, "Xgemm", &c->xg) != 0 || current(d, "XgemmDirect", &c->dr) != 0 ||
        clt_tuning_param(d, "GemmRoutine", "XGEMM_MIN_INDIRECT_SIZE", &c->threshold) != 0)
        return -1;
    for (int cls = 0; cls < CLT_GEMM_N_CLASSES; cls++) {
        candidate *pc = &c->per_class[cls];
        snprintf(pc->kernel, sizeof pc->kernel, "Xgemm");
        pc->layout = pc->temp = pc->splitk = -1;
        c->own[cls] = clt_tuning_class_params(d, "Xgemm", (clt_gemm_class)cls, &pc->n, pc->names, pc->values);
    }
    return 0;
}

static int store_choice(clt_device *d, const char *path, const tune_choice *c, const char *comment) {
    clt_tuning_key key;
    clt_tuning_key_of(d, &key);
    enum { N_STORED = 3 + CLT_GEMM_N_CLASSES };
    const char *kernels[N_STORED] = {"Xgemm", "XgemmDirect", "GemmRoutine"};
    const char thr_name[1][32] = {"XGEMM_MIN_INDIRECT_SIZE"};
    size_t thr_value[1] = {c->threshold};
    int counts[N_STORED] = {c->xg.n, c->dr.n, 1};
    const char(*names[N_STORED])[32] = {(const char(*)[32])c->xg.names, (const char(*)[32])c->dr.names, thr_name};
    const size_t *values[N_STORED] = {c->xg.values, c->dr.values, thr_value};
    char class_kernels[CLT_GEMM_N_CLASSES][32];
    for (int cls = 0; cls < CLT_GEMM_N_CLASSES; cls++) {
        /* a class that keeps the kernel-wide choice gets no line (and loses an old one) */
        snprintf(class_kernels[cls], sizeof class_kernels[cls], "Xgemm/%s", clt_gemm_class_names[cls]);
        kernels[3 + cls] = class_kernels[cls];
        counts[3 + cls] = c->own[cls] ? c->per_class[cls].n : 0;
        names[3 + cls] = (const char(*)[32])c->per_class[cls].names;
        values[3 + cls] = c->per_class[cls].values;
    }
    return clt_tuning_store(path, &key, N_STORED, kernels, counts, names, values, comment);
}

/* Median seconds of a training step with each present set (paths[s]: its database, searched
   first; NULL: the databases alone), into step_s. */
static int time_steps(clt_device *d, const clt_tune_options *o, const bool *present, char *const *paths,
                      double *step_s) {
    clt_arch arch;
    int batch;
    if (o->step_arch) arch = *o->step_arch, batch = o->step_batch > 0 ? o->step_batch : STUDY_BATCH;
    else if (o->arch) arch = *o->arch, batch = o->batch > 0 ? o->batch : STUDY_BATCH;
    else {
        clt_arch_small(&arch);
        arch.fc[2] = STUDY_CLASSES;
        batch = STUDY_BATCH;
    }
    clt_net net;
    if (clt_synthetic_net(&net, d, &arch, batch) != 0) return -1;
    clt_config cfg;
    clt_config_defaults(&cfg);
    cfg.base_lr = 0; /* the weights stay put, so every step of every set does the same arithmetic */
    double t[CLT_TUNE_N_SETS][STEP_ROUNDS * STEP_RUN];
    int64_t iter = 0;
    int rc = 0;
    for (int s = 0; s < CLT_TUNE_N_SETS && rc == 0; s++) {
        if (!present[s]) continue;
        double t0 = clt_now();
        rc = clt_tuning_reload(d, paths[s]);
        for (int i = 0; i < STEP_WARM && rc == 0; i++) clt_train_step(&net, d, &cfg, iter++, 1);
        clt_finish(d);
        if (o->verbose && rc == 0)
            fprintf(stderr, "  %-26s first steps (compiling) %.1f s\n", clt_tune_set_names[s], clt_now() - t0);
    }
    for (int r = 0; r < STEP_ROUNDS && rc == 0 && clt_device_ok(d); r++)
        for (int j = 0; j < CLT_TUNE_N_SETS && rc == 0; j++) {
            int s = (j + r) % CLT_TUNE_N_SETS;
            if (!present[s]) continue;
            rc = clt_tuning_reload(d, paths[s]);
            clt_train_step(&net, d, &cfg, iter++, 1);
            clt_finish(d);
            for (int k = 0; k < STEP_RUN && rc == 0; k++) {
                double t0 = clt_now();
                clt_train_step(&net, d, &cfg, iter++, 1);
                clt_finish(d);
                t[s][r * STEP_RUN + k] = clt_now() - t0;
            }
        }
    if (rc == 0 && !clt_device_ok(d)) {
        clt_error("%s", d->error);
        rc = -1;
    }
    for (int s = 0; s < CLT_TUNE_N_SETS && rc == 0; s++) {
        if (!present[s]) continue;
        qsort(t[s], STEP_ROUNDS * STEP_RUN, sizeof t[s][0], cmp_double);
        step_s[s] = t[s][STEP_ROUNDS * STEP_RUN / 2];
    }
    clt_net_destroy(&net);
    return rc;
}

/* The search timed lone GEMMs; what the parameters are for is training, where the calls run
   back to back at the batch a study uses, and lone-GEMM winners have lost there (a switch that sent
   a whole net to the direct kernel trained 3x slower: bench/RESULTS.md). So the whole sets are
   timed on training steps and the tuner keeps what was in effect unless another set beats it by
   INCUMBENT_MARGIN. What is kept is stored (the in-effect set too, so --if-untuned sees the device
   as tuned) and left running. */
static int check_and_store(clt_device *d, const clt_tune_options *o, const tune_choice *chosen, const char *comment,
                           double search_s) {
    tune_choice sets[CLT_TUNE_N_SETS];
    if (in_effect_choice(d, &sets[CLT_TUNE_IN_EFFECT]) != 0) return -1;
    sets[CLT_TUNE_CHOSEN] = *chosen;
    sets[CLT_TUNE_CHOSEN_OLD_SWITCH] = *chosen;
    sets[CLT_TUNE_CHOSEN_OLD_SWITCH].threshold = sets[CLT_TUNE_IN_EFFECT].threshold;
    bool present[CLT_TUNE_N_SETS] = {true, false, false};
    for (int s = 1; s < CLT_TUNE_N_SETS; s++) {
        present[s] = true;
        for (int e = 0; e < s; e++) present[s] &= !(present[e] && same_choice(&sets[s], &sets[e]));
    }
    int n_present = 0;
    for (int s = 0; s < CLT_TUNE_N_SETS; s++) n_present += present[s];

    clt_tune_report rep = {.search_s = search_s};
    for (int s = 0; s < CLT_TUNE_N_SETS; s++) rep.threshold[s] = sets[s].threshold;
    /* without a check the search's choice stands, as it did before the check existed */
    rep.kept = present[CLT_TUNE_CHOSEN] ? CLT_TUNE_CHOSEN : CLT_TUNE_IN_EFFECT;
    /* every set but the databases' own as a database of its own: what the check loads, and what
       the device is left running */
    char *paths[CLT_TUNE_N_SETS] = {0};
    const char *tmp = getenv("TMPDIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/cltransfer-tune-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        clt_error("%s: cannot make a folder for the tuner's parameter sets: %s", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int s = 1; s < CLT_TUNE_N_SETS && rc == 0; s++) {
        if (!present[s]) continue;
        paths[s] = clt_path_join(dir, s == CLT_TUNE_CHOSEN ? "chosen.txt" : "chosen-old-switch.txt");
        rc = store_choice(d, paths[s], &sets[s], comment);
    }
    if (rc == 0 && !o->no_step_check && n_present > 1) {
        if (o->verbose) fprintf(stderr, "training-step check (%d sets):\n", n_present);
        if (o->step_seconds)
            for (int s = 0; s < CLT_TUNE_N_SETS; s++) rep.step_s[s] = present[s] ? o->step_seconds(o->step_ctx, s) : 0;
        else rc = time_steps(d, o, present, paths, rep.step_s);
        if (rc == 0) {
            rep.checked = true;
            rep.kept = CLT_TUNE_IN_EFFECT;
            for (int s = 1; s < CLT_TUNE_N_SETS; s++)
                if (present[s] && rep.step_s[s] * INCUMBENT_MARGIN < rep.step_s[CLT_TUNE_IN_EFFECT] &&
                    (rep.kept == CLT_TUNE_IN_EFFECT || rep.step_s[s] < rep.step_s[rep.kept]))
                    rep.kept = (clt_tune_set)s;
            for (int s = 0; s < CLT_TUNE_N_SETS && o->verbose; s++)
                if (present[s])
                    fprintf(stderr, "  %-26s step %8.2f ms (XGEMM_MIN_INDIRECT_SIZE=%zu)%s\n", clt_tune_set_names[s],
                            1e3 * rep.step_s[s], sets[s].threshold, s == (int)rep.kept ? "  <- kept" : "");
        }
    }
    char stored_comment[640];
    if (rep.checked)
        snprintf(stored_comment, sizeof stored_comment, "%s; training step %.2f ms with this set, %.2f ms with what was in effect",
                 rep.kept == CLT_TUNE_IN_EFFECT ? "kept what was in effect by cltransfer-bench tune" : comment,
                 1e3 * rep.step_s[rep.kept], 1e3 * rep.step_s[CLT_TUNE_IN_EFFECT]);
    else
        snprintf(stored_comment, sizeof stored_comment, "%s", comment);
    if (rc == 0 && !o->dry_run) {
        char *path = o->store ? clt_strdup(o->store) : clt_tuning_user_path();
        rc = store_choice(d, path, &sets[rep.kept], stored_comment);
        if (rc == 0)
            fprintf(stderr, "stored %s in %s (loaded at the next device open)\n", clt_tune_set_names[rep.kept], path);
        free(path);
    }
    /* Leave the device running what was kept. */
    if (rc == 0) rc = clt_tuning_reload(d, paths[rep.kept]);
    for (int s = 0; s < CLT_TUNE_N_SETS; s++) {
        if (paths[s]) unlink(paths[s]);
        free(paths[s]);
    }
    rmdir(dir);
    if (o->report) *o->report = rep;
    return rc;
}

int clt_tune(clt_device *d, const clt_tune_options *o) {
    workload w = {0};
    int built = o->shapes ? add_cases(d, &w, o->shapes, o->n_shapes, false, 55)
                : o->arch ? build_net_workload(d, o->arch, o->batch, o->chunk, &w)
                          : build_workload(d, o->chunk, &w);
    if (built != 0 || w.n == 0) goto fail;

    rng_state ^= (uint64_t)(clt_now() * 1e6);
    double budget = o->budget_s > 0 ? o->budget_s : 600;
    int n_classes = 0;
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) {
        workload sub = class_subset(&w, (clt_gemm_class)c);
        n_classes += sub.n > 0;
        free(sub.cases);
    }
    fprintf(stderr, "tuning CLBlast for [%d] %s (%s, driver %s): %d shapes in %d shape classes, budget %.0f s\n",
            d->index, d->name, d->platform_name, d->driver_version, w.n, n_classes, budget);
    double t_start = clt_now();
    candidate xg, dr, per_class[CLT_GEMM_N_CLASSES];
    bool own[CLT_GEMM_N_CLASSES] = {0};
    fprintf(stderr, "Xgemm (the indirect GEMM's kernel), all shapes:\n");
    if (search(d, &w, "Xgemm", budget * XGEMM_SHARE, o->max_candidates, o->verbose, NULL, false, &xg) != 0) goto fail;
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) {
        workload sub = class_subset(&w, (clt_gemm_class)c);
        if (sub.n == 0) {
            free(sub.cases);
            continue;
        }
        fprintf(stderr, "Xgemm for the %s products (%d shapes):\n", clt_gemm_class_names[c], sub.n);
        /* from the class's own set where the databases have one (so tuning again keeps what a
           class line bought unless it finds better), else from the kernel-wide choice */
        candidate start = xg;
        char names[CLT_TUNING_MAX_PARAMS][32];
        size_t values[CLT_TUNING_MAX_PARAMS];
        int np = 0;
        if (clt_tuning_class_params(d, "Xgemm", (clt_gemm_class)c, &np, names, values))
            for (size_t i = 0; i < CLT_ARRAY_LEN(xgemm_dims); i++)
                *param_slot(&start, xgemm_dims[i].name) =
                    clt_tuning_get(np, (const char(*)[32])names, values, xgemm_dims[i].name, 0);
        int r = search(d, &sub, "Xgemm", budget * CLASSES_SHARE / n_classes, o->max_candidates, o->verbose, &start,
                       true, &per_class[c]);
        free(sub.cases);
        if (r != 0) goto fail;
        own[c] = !same_params(&per_class[c], &xg);
    }
    fprintf(stderr, "XgemmDirect (the single-kernel GEMM):\n");
    double left = budget - (clt_now() - t_start);
    double direct_budget = left * DIRECT_SHARE_OF_REST;
    if (direct_budget < MIN_DIRECT_S && budget >= MIN_DIRECT_BUDGET_FLOOR_FROM) direct_budget = MIN_DIRECT_S;
    if (search(d, &w, "XgemmDirect", direct_budget, o->max_candidates, o->verbose, NULL, false, &dr) != 0) goto fail;
    double xg_score = xg.score, dr_score = dr.score;
    fprintf(stderr, "direct/indirect switch:\n");
    size_t threshold = pick_threshold(d, &w, &xg, &dr, o->verbose);
    if (threshold == 0) goto fail;

    fprintf(stderr, "chosen:\n  ");
    print_cand(stderr, &xg);
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) {
        if (!own[c]) continue;
        fprintf(stderr, "\n  for %s products: ", clt_gemm_class_names[c]);
        print_cand(stderr, &per_class[c]);
    }
    fprintf(stderr, "\n  ");
    print_cand(stderr, &dr);
    fprintf(stderr, "\n  GemmRoutine XGEMM_MIN_INDIRECT_SIZE=%zu\n", threshold);
    double search_s = clt_now() - t_start;
    fprintf(stderr, "searched for %.0f s\n", search_s);

    tune_choice chosen = {.xg = xg, .dr = dr, .threshold = threshold};
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) chosen.own[c] = own[c], chosen.per_class[c] = per_class[c];
    char comment[512];
    snprintf(comment, sizeof comment, "tuned by cltransfer-bench tune on %s: Xgemm %.1f, XgemmDirect %.1f GFLOP/s "
             "(geometric mean over %d shapes)", d->name, xg_score, dr_score, w.n);
    free_workload(&w);
    return check_and_store(d, o, &chosen, comment, search_s);
fail:
    free_workload(&w);
    return -1;
}
