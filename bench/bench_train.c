/* bench_train.c — training speed of a whole net (images/s of forward + backward + update) and
   the time of every layer's forward and backward, on synthetic data on any OpenCL device. */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "net/config.h"
#include "device/device.h"
#include "net/net.h"
#include "tune/tune.h"

#define MAX_OPS 96

typedef struct op_times {
    clt_device *d;
    double last, last_cpu;
    int n_ops;
    const char *names[MAX_OPS];
    double *samples[MAX_OPS], *cpu_samples[MAX_OPS]; /* per op, one per timed pass */
    int pass, passes;
} op_times;

static double cpu_now(void);

static void trace(void *ctx, const char *op) {
    op_times *t = ctx;
    clt_finish(t->d);
    double now = clt_now(), now_cpu = cpu_now();
    int i = 0;
    while (i < t->n_ops && strcmp(t->names[i], op)) i++;
    if (i == t->n_ops && i < MAX_OPS) {
        t->names[i] = op;
        t->samples[i] = calloc(t->passes, sizeof(double));
        t->cpu_samples[i] = calloc(t->passes, sizeof(double));
        t->n_ops++;
    }
    if (i < MAX_OPS && t->pass >= 0 && t->pass < t->passes) {
        t->samples[i][t->pass] = now - t->last;
        t->cpu_samples[i][t->pass] = now_cpu - t->last_cpu;
    }
    t->last = now, t->last_cpu = now_cpu;
}

/* CPU seconds of every thread of the process: on a machine shared with other work this stays close
   to the work done where wall time does not. */
static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void usage(FILE *out) {
    fprintf(out, "usage: cltransfer-bench train [--arch small|caffenet] [--widths W1,..,W7] [--batch N] [--iters K] [--lowest L]\n"
                 "                              [--layers] [--device SEL] [--json]\n"
                 "  images/s of training steps (forward, backward, SGD update) on synthetic data, median of K\n"
                 "  timed steps after warm-up; --layers also times every operation (a device sync after each);\n"
                 "  --lowest L trains layers L..8 only (frozen layers below, as a transfer net)\n");
}

int bench_train(int argc, char **argv) {
    static const struct option opts[] = {{"arch", required_argument, 0, 'a'}, {"batch", required_argument, 0, 'b'},
                                         {"iters", required_argument, 0, 'i'}, {"lowest", required_argument, 0, 'l'},
                                         {"layers", no_argument, 0, 'L'},      {"device", required_argument, 0, 'd'},
                                         {"json", no_argument, 0, 'j'},        {"help", no_argument, 0, 'h'},
                                         {"widths", required_argument, 0, 'w'},
                                         {0, 0, 0, 0}};
    const char *arch_name = "small", *device = NULL, *widths = NULL;
    int batch = 0, iters = 10, lowest = 1, layers = 0, json = 0, c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'a': arch_name = optarg; break;
        case 'b': if (clt_option_int("batch", optarg, 1, 65536, &v)) return 2; batch = (int)v; break;
        case 'i': if (clt_option_int("iters", optarg, 1, 1000000, &v)) return 2; iters = (int)v; break;
        case 'l': if (clt_option_int("lowest", optarg, 1, CLT_LAYERS, &v)) return 2; lowest = (int)v; break;
        case 'L': layers = 1; break;
        case 'd': device = optarg; break;
        case 'j': json = 1; break;
        case 'w': widths = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    clt_arch a;
    if (bench_arch(arch_name, widths, &a) != 0) return 2;
    if (!batch) batch = !strcmp(arch_name, "small") ? 128 : 64;
    if (iters < 1 || batch < 1 || lowest < 1 || lowest > CLT_LAYERS) {
        usage(stderr);
        return 2;
    }
    clt_device d;
    if (clt_device_open(&d, device) != 0) return 1;
    clt_net net;
    if (clt_synthetic_net(&net, &d, &a, batch) != 0) return 1;
    clt_config cfg;
    clt_config_defaults(&cfg);

    /* warm-up compiles every kernel (CLBlast's too) before anything is timed */
    for (int i = 0; i < 2; i++) clt_train_step(&net, &d, &cfg, i, lowest);
    clt_finish(&d);
    double *step = calloc(iters, sizeof(double)), *step_cpu = calloc(iters, sizeof(double));
    for (int i = 0; i < iters; i++) {
        double t0 = clt_now(), c0 = cpu_now();
        clt_train_step(&net, &d, &cfg, i, lowest);
        clt_finish(&d);
        step[i] = clt_now() - t0;
        step_cpu[i] = cpu_now() - c0;
    }
    op_times t = {.d = &d, .passes = iters};
    if (layers) {
        net.trace = trace;
        net.trace_ctx = &t;
        for (t.pass = 0; t.pass < iters; t.pass++) {
            clt_finish(&d);
            t.last = clt_now(), t.last_cpu = cpu_now();
            clt_net_forward(&net, &d, batch, true, t.pass);
            clt_net_backward(&net, &d, batch, lowest, t.pass);
        }
        net.trace = NULL;
    }
    if (clt_device_report(&d) != 0) return 1;
    double med = median(step, iters), med_cpu = median(step_cpu, iters);
    if (json) {
        printf("{\"bench\": \"train\", \"arch\": \"%s\", \"batch\": %d, \"lowest\": %d, \"iters\": %d,\n", arch_name,
               batch, lowest, iters);
        printf(" \"platform\": \"%s\", \"device\": \"%s\", \"driver\": \"%s\",\n", d.platform_name, d.name,
               d.driver_version);
        printf(" \"step_s_median\": %.6f, \"images_per_s\": %.2f, \"step_cpu_s_median\": %.6f", med, batch / med,
               med_cpu);
        if (layers) {
            printf(",\n \"ops_ms_median\": {");
            for (int i = 0; i < t.n_ops; i++)
                printf("%s\"%s\": %.3f", i ? ", " : "", t.names[i], 1e3 * median(t.samples[i], iters));
            printf("},\n \"ops_cpu_ms_median\": {");
            for (int i = 0; i < t.n_ops; i++)
                printf("%s\"%s\": %.3f", i ? ", " : "", t.names[i], 1e3 * median(t.cpu_samples[i], iters));
            printf("}");
        }
        printf("}\n");
    } else {
        printf("device [%d] %s (%s, driver %s)\n", d.index, d.name, d.platform_name, d.driver_version);
        printf("%s, batch %d, layers %d..8 trained: step %.1f ms (median of %d), %.1f images/s, %.1f ms CPU per step\n",
               arch_name, batch, lowest, 1e3 * med, iters, batch / med, 1e3 * med_cpu);
        if (layers) {
            double total = 0;
            for (int i = 0; i < t.n_ops; i++) total += median(t.samples[i], iters);
            printf("%-16s %10s %6s %10s\n", "operation", "ms", "share", "CPU ms");
            for (int i = 0; i < t.n_ops; i++) {
                double m = median(t.samples[i], iters);
                printf("%-16s %10.2f %5.1f%% %10.2f\n", t.names[i], 1e3 * m, 100 * m / total,
                       1e3 * median(t.cpu_samples[i], iters));
            }
        }
    }
    for (int i = 0; i < t.n_ops; i++) free(t.samples[i]), free(t.cpu_samples[i]);
    free(step), free(step_cpu);
    clt_net_destroy(&net);
    clt_device_close(&d);
    return 0;
}
