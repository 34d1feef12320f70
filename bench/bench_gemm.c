/* bench_gemm.c — GEMM GFLOP/s through clt_gemm on every conv/fc shape of the small net and CaffeNet,
   forward and backward: tuned parameters, CLBlast's own (--compare) and OpenBLAS (--openblas),
   interleaved per shape so a noisy machine hits all columns alike. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "net/net.h"
#include "tune/tune.h"
#include "device/tuning.h"
#include "util/util.h"
#ifdef CLT_HAVE_OPENBLAS
#include "openblas_gemm.h"
#endif

#ifndef CLT_CLBLAST_VERSION
#define CLT_CLBLAST_VERSION "unknown"
#endif

/* tuned: clt_gemm as it runs in the trainer; default: the same with CLBlast's own parameters;
   asis: CLBlast's C API called plainly with its own parameters (clt_gemm before this work). */
/* With --steps, what each step of this door buys: before: tuned, without sub-buffers or shape
   classes (the door as it was before them); subbuf: with sub-buffers; tuned has both. */
enum { COL_BEFORE, COL_SUB, COL_TUNED, COL_DEFAULT, COL_ASIS, COL_OPENBLAS, N_COLS };
static const char *const col_names[N_COLS] = {"before", "subbuf", "tuned", "default", "asis", "openblas"};

typedef struct row {
    clt_gemm_shape s;
    double median[N_COLS], best[N_COLS]; /* GFLOP/s; 0 = not measured */
    char error[256];
} row;

static void usage(FILE *out) {
    fprintf(out,
            "usage: cltransfer-bench gemm [options]\n"
            "  --device SEL     device index or name substring (default: first GPU, else first device)\n"
            "  --net NAME       small, caffenet or all (default all)\n"
            "  --widths W1,..,W7  conv1..conv5, fc6, fc7 output widths of the net, as [net] widths\n"
            "  --only TEXT      only layers whose name contains TEXT (e.g. conv1, fc)\n"
            "  --form F         only fwd, bwd-d or bwd-w\n"
            "  --chunk N        CaffeNet images per convolution GEMM (default 16; 256 = whole batch)\n"
            "  --repeats N      timed runs per shape and column; the median is reported (default 5)\n"
            "  --compare        also time CLBlast's own parameters for the device\n"
            "  --baseline       also time CLBlast's C API called plainly with its own parameters\n"
            "  --steps          also time the tuned door without shape classes and sub-buffers (before)\n"
            "                   and with sub-buffers only (subbuf)\n"
            "  --openblas       also time OpenBLAS on the host (if the bench was built with it)\n"
            "  --no-check       skip the sampled correctness check\n"
            "  --json           one JSON object on stdout instead of the table\n"
            "Tuning in effect comes from $CLTRANSFER_TUNING, the user cache and conf/clblast-tuning.txt\n"
            "(CLTRANSFER_TUNING=off: CLBlast's own parameters only).\n");
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(out, "\\u%04x", *s);
        else fputc(*s, out);
    }
    fputc('"', out);
}

static const char *env_or(const char *name) {
    const char *v = getenv(name);
    return v ? v : "";
}

static int select_column(clt_device *d, int col) {
    static clt_gemm_choices configured; /* as the environment or the defaults set them */
    static bool known;
    if (!known) configured = d->gemm, known = true;
    d->gemm = configured;
    if (col == COL_ASIS) d->gemm.layout = CLT_GEMM_PLAIN;
    if (col == COL_BEFORE) d->gemm.sub_buffers = false;
    if (col == COL_BEFORE || col == COL_SUB) d->gemm.classes = false;
    return clt_tuning_use_defaults(d, col != COL_TUNED && col != COL_BEFORE && col != COL_SUB);
}

int bench_gemm(int argc, char **argv) {
    static const struct option opts[] = {{"device", required_argument, 0, 'd'}, {"net", required_argument, 0, 'n'},
                                         {"only", required_argument, 0, 'o'},   {"form", required_argument, 0, 'f'},
                                         {"chunk", required_argument, 0, 'c'},  {"repeats", required_argument, 0, 'r'},
                                         {"compare", no_argument, 0, 'C'},      {"openblas", no_argument, 0, 'O'},
                                         {"baseline", no_argument, 0, 'B'},     {"steps", no_argument, 0, 'S'},
                                         {"widths", required_argument, 0, 'w'},
                                         {"no-check", no_argument, 0, 'K'},     {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *device = NULL, *net = "all", *only = NULL, *form = NULL, *widths = NULL;
    long chunk = 16, repeats = 5;
    bool compare = false, baseline = false, openblas = false, check = true, json = false, steps = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': device = optarg; break;
        case 'n': net = optarg; break;
        case 'o': only = optarg; break;
        case 'f': form = optarg; break;
        case 'c': chunk = strtol(optarg, NULL, 10); break;
        case 'r': repeats = strtol(optarg, NULL, 10); break;
        case 'C': compare = true; break;
        case 'B': baseline = true; break;
        case 'S': steps = true; break;
        case 'w': widths = optarg; break;
        case 'O': openblas = true; break;
        case 'K': check = false; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || chunk < 1 || repeats < 1 || (widths && !strcmp(net, "all")) ||
        (strcmp(net, "all") && strcmp(net, "small") && strcmp(net, "caffenet"))) {
        usage(stderr);
        return 2;
    }
#ifndef CLT_HAVE_OPENBLAS
    if (openblas) {
        clt_error("this cltransfer-bench was built without OpenBLAS (install libopenblas-dev and rebuild)");
        return 2;
    }
#endif

    clt_device d;
    if (clt_device_open(&d, device) != 0) return 1;
    /* the weight-gradient form depends on the device (see clt_device.conv_dweight_nn) */
    clt_gemm_shape all[128];
    int n = 0;
    const char *nets[2] = {"small", "caffenet"};
    for (int i = 0; i < 2; i++) {
        if (strcmp(net, "all") && strcmp(net, nets[i])) continue;
        clt_arch a;
        if (bench_arch(nets[i], widths, &a) != 0) return 2;
        /* the small net's columns fit for the whole batch; CaffeNet's are chunked */
        int batch = i == 0 ? 128 : 256;
        n += clt_gemm_shapes(&a, batch, i == 0 ? 0 : (size_t)chunk, d.conv_dweight_nn, all + n,
                             (int)CLT_ARRAY_LEN(all) - n);
    }
    row *rows = clt_calloc((size_t)n, sizeof *rows);
    int nrows = 0;
    for (int i = 0; i < n; i++) {
        if (only && !strstr(all[i].name, only)) continue;
        if (form && strcmp(all[i].form, form)) continue;
        rows[nrows++].s = all[i];
    }
    if (!json) {
        fprintf(stderr, "device [%d] %s (%s, driver %s); CLBlast %s; median of %ld\n", d.index, d.name,
                d.platform_name, d.driver_version, CLT_CLBLAST_VERSION, repeats);
        clt_tuning_print(&d, stderr, false);
    }

    int failures = 0;
    double *times = clt_malloc((size_t)repeats * N_COLS * sizeof(double));
    for (int r = 0; r < nrows && clt_device_ok(&d); r++) {
        row *w = &rows[r];
        clt_gemm_case gc;
        if (clt_gemm_case_init(&d, &gc, &w->s, 1000 + (uint64_t)r) != 0) break;
        bool cols[N_COLS] = {steps, steps, true, compare, baseline, openblas};
        /* The first run of a column compiles its kernels; it is checked and not timed. */
        for (int col = 0; col < COL_OPENBLAS && !w->error[0]; col++) {
            if (!cols[col]) continue;
            if (select_column(&d, col) != 0) return 1;
            clt_gemm_case_reset(&d, &gc);
            clt_gemm_case_run(&d, &gc);
            clt_finish(&d);
            char why[256];
            if (!clt_device_ok(&d)) snprintf(w->error, sizeof w->error, "%s: %.200s", col_names[col], d.error);
            else if (check && !clt_gemm_case_check(&d, &gc, why, sizeof why))
                snprintf(w->error, sizeof w->error, "%s parameters give a wrong result: %.180s", col_names[col], why);
        }
        float *hc = openblas ? clt_malloc(gc.nc * sizeof(float)) : NULL;
        if (hc) memcpy(hc, gc.hc, gc.nc * sizeof(float));
        for (long t = 0; t < repeats && !w->error[0]; t++) {
            for (int col = 0; col < N_COLS; col++) {
                if (!cols[col]) continue;
                double sec;
                if (col == COL_OPENBLAS) {
#ifdef CLT_HAVE_OPENBLAS
                    const clt_gemm_shape *s = &w->s;
                    double t0 = clt_now();
                    bench_openblas_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1.0f, gc.ha + s->a_off, s->lda,
                                         gc.hb + s->b_off, s->ldb, s->beta, hc + s->c_off, s->ldc);
                    sec = clt_now() - t0;
#else
                    sec = -1;
#endif
                } else {
                    if ((compare || baseline || steps) && select_column(&d, col) != 0) return 1;
                    sec = clt_gemm_case_time(&d, &gc);
                }
                times[col * repeats + t] = sec;
            }
        }
        if (!clt_device_ok(&d) && !w->error[0]) snprintf(w->error, sizeof w->error, "%.250s", d.error);
        for (int col = 0; col < N_COLS && !w->error[0]; col++) {
            if (!cols[col]) continue;
            double *ts = times + col * repeats;
            qsort(ts, (size_t)repeats, sizeof *ts, cmp_double);
            double med = repeats % 2 ? ts[repeats / 2] : 0.5 * (ts[repeats / 2 - 1] + ts[repeats / 2]);
            w->median[col] = clt_gemm_flops(&w->s) / med * 1e-9;
            w->best[col] = clt_gemm_flops(&w->s) / ts[0] * 1e-9;
        }
        if (w->error[0]) failures++;
        if (!json) {
            if (r == 0) {
                fprintf(stdout, "%-8s %-9s %-5s %6s %7s %6s %2s |", "net", "layer", "form", "m", "n", "k", "op");
                for (int col = 0; col < N_COLS; col++)
                    if (cols[col]) fprintf(stdout, " %8s", col_names[col]);
                fprintf(stdout, "%s   GFLOP/s, median\n", openblas ? "  tuned/openblas" : "");
            }
            fprintf(stdout, "%-8s %-9s %-5s %6zu %7zu %6zu %c%c |", w->s.net, w->s.name, w->s.form, w->s.m, w->s.n,
                    w->s.k, w->s.ta ? 'T' : 'N', w->s.tb ? 'T' : 'N');
            if (w->error[0]) fprintf(stdout, " FAILED: %s", w->error);
            else
                for (int col = 0; col < N_COLS; col++)
                    if (cols[col]) fprintf(stdout, " %8.1f", w->median[col]);
            if (!w->error[0] && openblas) fprintf(stdout, " %8.2f", w->median[COL_TUNED] / w->median[COL_OPENBLAS]);
            fputc('\n', stdout);
            fflush(stdout);
        }
        free(hc);
        clt_gemm_case_free(&gc);
        /* A failed GEMM leaves the device's sticky error set; report it and go on to the next shape. */
        d.failed = 0;
    }
    free(times);
    if (select_column(&d, COL_TUNED) != 0) return 1;

    if (json) {
        printf("{\"bench\": \"gemm\", \"platform\": ");
        json_str(stdout, d.platform_name);
        printf(", \"platform_version\": ");
        json_str(stdout, d.platform_version);
        printf(", \"device\": ");
        json_str(stdout, d.name);
        printf(", \"device_version\": ");
        json_str(stdout, d.device_version);
        printf(", \"driver\": ");
        json_str(stdout, d.driver_version);
        printf(", \"clblast\": ");
        json_str(stdout, CLT_CLBLAST_VERSION);
#ifdef CLT_HAVE_OPENBLAS
        if (openblas) {
            printf(", \"openblas\": ");
            json_str(stdout, bench_openblas_config());
            printf(", \"openblas_threads\": %d", bench_openblas_threads());
        }
#endif
        printf(", \"env\": {");
        const char *vars[] = {"POCL_WORK_GROUP_METHOD", "POCL_MAX_PTHREAD_COUNT", "CLTRANSFER_TUNING",
                              "CLBLAST_BUILD_OPTIONS", "CLT_GEMM_LAYOUT", "CLT_GEMM_TEMP", "CLT_GEMM_SPLITK",
                              "CLT_GEMM_CLASSES", "CLT_GEMM_SUBBUFFERS"};
        for (size_t i = 0; i < CLT_ARRAY_LEN(vars); i++) {
            printf("%s\"%s\": ", i ? ", " : "", vars[i]);
            json_str(stdout, env_or(vars[i]));
        }
        printf("}, \"repeats\": %ld, \"chunk\": %ld, \"tuning\": ", repeats, chunk);
        clt_tuning_print(&d, stdout, true);
        printf(", \"results\": [");
        for (int r = 0; r < nrows; r++) {
            const row *w = &rows[r];
            const clt_gemm_shape *s = &w->s;
            printf("%s\n  {\"net\": \"%s\", \"layer\": \"%s\", \"form\": \"%s\", \"op\": \"%c%c\", \"m\": %zu, "
                   "\"n\": %zu, \"k\": %zu, \"lda\": %zu, \"ldb\": %zu, \"ldc\": %zu, \"a_off\": %zu, \"b_off\": %zu, "
                   "\"c_off\": %zu, \"beta\": %g",
                   r ? "," : "", s->net, s->name, s->form, s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k,
                   s->lda, s->ldb, s->ldc, s->a_off, s->b_off, s->c_off, s->beta);
            if (w->error[0]) {
                printf(", \"error\": ");
                json_str(stdout, w->error);
            }
            for (int col = 0; col < N_COLS; col++)
                if (w->median[col] > 0)
                    printf(", \"gflops_%s\": %.2f, \"gflops_%s_best\": %.2f", col_names[col], w->median[col],
                           col_names[col], w->best[col]);
            printf("}");
        }
        printf("\n]}\n");
    }
    free(rows);
    clt_device_close(&d);
    return failures ? 1 : 0;
}
