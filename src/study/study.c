/* study.c — `cltransfer study`: the command line of the study runner and its emitters. */
#include "study/study.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "study/report.h"
#include "study/study_schema.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: cltransfer study -c conf/study/NAME.ini [options]\n"
            "\n"
            "Expands a study file into one config per network (RUN/nets/SPLIT/NAME/net.ini) and a dependency\n"
            "graph (data preparation, then base nets, then the nets that copy a base net's layers), and runs it\n"
            "here, one network per process, or writes it out for make or SLURM. Finished networks (final.ckpt)\n"
            "are skipped and interrupted ones resume, so running the same command again continues a study.\n"
            "At the end the report is written (RUN/report.md; see cltransfer report --help).\n"
            "\n"
            "  -c, --config FILE       the study file\n"
            "  -s, --set SEC.KEY=VAL   override a setting of the study file (repeatable); the section is what\n"
            "                          precedes the first dot: -s study.repeats=3, -s 'split random.layers=1,4,7',\n"
            "                          -s 'treatment base.solver.max_iter=2000'\n"
            "  -S, --net-set SEC.KEY=VAL  set a key in every network's config, after everything else\n"
            "                          (-S solver.max_iter=20 -S solver.test_interval=10 for a quick trial)\n"
            "  -o, --output DIR        the run folder (default: [study] output, else runs/NAME); with\n"
            "                          --emit configs, the folder for the INI files\n"
            "  -j, --jobs N            networks at a time (default: [study] jobs, else 1)\n"
            "      --threads T         POCL_MAX_PTHREAD_COUNT of each network (default: cores / N unless the\n"
            "                          environment sets it; 0: leave it alone). On a CPU, N single-thread\n"
            "                          processes beat one N-thread process\n"
            "      --device SEL[,SEL]  the trainer's --device; several are handed out one per running network\n"
            "      --trainer PATH      the program run for each network (default: this cltransfer;\n"
            "                          env CLTRANSFER_TRAINER)\n"
            "      --data-tool PATH    cltransfer-data (default: beside this program; env CLTRANSFER_DATA)\n"
            "      --list              print the graph (node, stage, state, iterations, dependencies) and the\n"
            "                          work it holds (training images, validation passes), and exit\n"
            "      --data-only         prepare the data folders and stop (before training networks by hand\n"
            "                          from --emit configs files)\n"
            "      --emit make         write RUN/Makefile: make -f RUN/Makefile -j N [DEVICE=.. | DEVICES='..']\n"
            "      --emit slurm        write RUN/study.slurm: bash RUN/study.slurm submits one job array per\n"
            "                          stage, each --dependency=afterok on the one before\n"
            "      --emit configs      write each network's INI as DIR/NAME.ini (-o DIR, required): base_a, b3b,\n"
            "                          a3b, b3b_plus, a3b_plus, random3, reduced0005, ...; paths as the study\n"
            "                          file writes them\n"
            "      --split NAME        with --emit configs: the split whose nets are written (default: the first;\n"
            "                          nets on the whole dataset are always written)\n"
            "      --no-report         do not write the report at the end\n"
            "      --plain             plain progress lines even on a terminal\n"
            "  -h, --help              this help\n"
            "\n"
            "Exit status: 0 every network finished, 1 some failed (their dependents skipped; the log paths are\n"
            "printed), 2 bad command line or study file, 130 stopped by SIGINT/SIGTERM (forwarded to every\n"
            "running network, which snapshots first).\n"
            "\n"
            "The study file (conf/study/README.md has the whole story), every key with its [default]:\n");
    clt_study_print_schema(out);
}

static int split_devices(char *list, const char ***out) {
    int n = 0;
    const char **d = NULL;
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        d = clt_realloc(d, (size_t)(n + 1) * sizeof *d);
        d[n++] = t;
    }
    *out = d;
    return n;
}

static char *absolute(const char *p) {
    char buf[PATH_MAX];
    if (realpath(p, buf)) return clt_strdup(buf);
    return clt_strdup(p);
}

/* The command line, as parsed. */
typedef struct study_args {
    const char *config, *output, *emit, *split, *trainer, *data_tool;
    char *devices;
    const char **sets, **net_sets;
    int nsets, nnet, jobs, threads, list, no_report, plain, data_only;
} study_args;

/* Returns 0 to go on, 1 when --help was printed, 2 on a usage error. */
static int parse_args(int argc, char **argv, study_args *a) {
    enum { O_THREADS = 1000, O_DEVICE, O_TRAINER, O_DATA, O_LIST, O_EMIT, O_SPLIT, O_NO_REPORT, O_PLAIN, O_DATA_ONLY };
    static const struct option opts[] = {{"config", required_argument, 0, 'c'},
                                         {"set", required_argument, 0, 's'},
                                         {"net-set", required_argument, 0, 'S'},
                                         {"output", required_argument, 0, 'o'},
                                         {"jobs", required_argument, 0, 'j'},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"device", required_argument, 0, O_DEVICE},
                                         {"trainer", required_argument, 0, O_TRAINER},
                                         {"data-tool", required_argument, 0, O_DATA},
                                         {"list", no_argument, 0, O_LIST},
                                         {"emit", required_argument, 0, O_EMIT},
                                         {"split", required_argument, 0, O_SPLIT},
                                         {"no-report", no_argument, 0, O_NO_REPORT},
                                         {"plain", no_argument, 0, O_PLAIN},
                                         {"data-only", no_argument, 0, O_DATA_ONLY},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:S:o:j:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c': a->config = optarg; break;
        case 's': a->sets[a->nsets++] = optarg; break;
        case 'S': a->net_sets[a->nnet++] = optarg; break;
        case 'o': a->output = optarg; break;
        case 'j':
            a->jobs = (int)strtol(optarg, &end, 10);
            if (*end || a->jobs < 1) {
                clt_error("-j %s: expected a whole number of at least 1", optarg);
                return 2;
            }
            break;
        case O_THREADS:
            a->threads = (int)strtol(optarg, &end, 10);
            if (*end || a->threads < 0) {
                clt_error("--threads %s: expected a whole number (0: leave POCL_MAX_PTHREAD_COUNT alone)", optarg);
                return 2;
            }
            break;
        case O_DEVICE:
            free(a->devices);
            a->devices = clt_strdup(optarg);
            break;
        case O_TRAINER: a->trainer = optarg; break;
        case O_DATA: a->data_tool = optarg; break;
        case O_LIST: a->list = 1; break;
        case O_EMIT:
            a->emit = optarg;
            if (strcmp(a->emit, "make") && strcmp(a->emit, "slurm") && strcmp(a->emit, "configs")) {
                clt_error("--emit %s: expected make, slurm or configs", a->emit);
                return 2;
            }
            break;
        case O_SPLIT: a->split = optarg; break;
        case O_NO_REPORT: a->no_report = 1; break;
        case O_PLAIN: a->plain = 1; break;
        case O_DATA_ONLY: a->data_only = 1; break;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        clt_error("unexpected argument '%s' (see cltransfer study --help)", argv[optind]);
        return 2;
    }
    if (!a->config) {
        clt_error("no study file: pass -c conf/study/NAME.ini (see cltransfer study --help)");
        return 2;
    }
    int configs = a->emit && !strcmp(a->emit, "configs");
    if (configs && !a->output) {
        clt_error("--emit configs needs -o DIR, the folder for the INI files");
        return 2;
    }
    if (a->split && !configs) {
        clt_error("--split goes with --emit configs");
        return 2;
    }
    return 0;
}

/* Trainer and data tool: option, environment, then this program and its neighbour. */
static int find_programs(const study_args *a, char **trainer, char **data_tool) {
    const char *env_trainer = getenv("CLTRANSFER_TRAINER"), *env_data = getenv("CLTRANSFER_DATA");
    *trainer = *data_tool = NULL;
    if (a->trainer)
        *trainer = absolute(a->trainer);
    else if (env_trainer && *env_trainer)
        *trainer = absolute(env_trainer);
    else {
        char buf[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n <= 0) {
            clt_error("cannot find this program through /proc/self/exe: pass --trainer PATH");
            return -1;
        }
        buf[n] = 0;
        *trainer = clt_strdup(buf);
    }
    if (a->data_tool) {
        *data_tool = absolute(a->data_tool);
        setenv("CLTRANSFER_DATA", *data_tool, 1); /* prepare.sh reads it before its default */
    } else if (env_data && *env_data) {
        *data_tool = absolute(env_data);
    }
    return 0;
}

/* Runs the graph here, then writes the report; returns the exit status. */
static int run_here(const clt_study *s, const study_args *a, const char *trainer) {
    clt_study_run_options ro = {0};
    ro.jobs = a->jobs ? a->jobs : s->jobs;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = a->threads;
    if (threads < 0) threads = getenv("POCL_MAX_PTHREAD_COUNT") ? 0 : (int)CLT_MAX(1, (cores > 0 ? cores : 1) / ro.jobs);
    ro.threads = threads;
    ro.trainer = trainer;
    char *devices = a->devices ? clt_strdup(a->devices) : NULL;
    ro.ndevices = devices ? split_devices(devices, &ro.devices) : 0;
    ro.progress = !a->plain;
    ro.data_only = a->data_only;
    int rc = clt_study_run(s, &ro);
    if (rc != 130 && !a->no_report && !a->data_only) {
        clt_report_options o = {0};
        o.tolerance = -1;
        if (clt_report_folder(s->run_dir, &o) != 0 && rc == 0) rc = 1;
    }
    free(ro.devices);
    free(devices);
    return rc;
}

int clt_study_main(int argc, char **argv) {
    study_args a = {0};
    a.threads = -1;
    a.sets = clt_calloc((size_t)argc, sizeof *a.sets);
    a.net_sets = clt_calloc((size_t)argc, sizeof *a.net_sets);
    char *trainer = NULL, *data_tool = NULL;
    int rc = parse_args(argc, argv, &a);
    if (rc == 1) rc = 0;
    else if (rc == 0 && find_programs(&a, &trainer, &data_tool) != 0) rc = 2;
    else if (rc == 0) {
        int configs = a.emit && !strcmp(a.emit, "configs");
        clt_study_options so = {0};
        so.run_dir = configs ? NULL : a.output;
        so.absolute = !configs;
        so.data_tool = data_tool;
        so.sets = a.sets;
        so.nsets = a.nsets;
        so.net_sets = a.net_sets;
        so.nnet_sets = a.nnet;
        clt_study s;
        if (clt_study_load(&s, a.config, &so) != 0)
            rc = 2;
        else {
            if (a.list) {
                clt_study_list(&s, stdout);
                rc = 0;
            } else if (configs)
                rc = clt_study_emit_configs(&s, a.split, a.output) == 0 ? 0 : 1;
            else if (a.emit && !strcmp(a.emit, "make"))
                rc = clt_study_emit_make(&s, trainer, NULL) == 0 ? 0 : 1;
            else if (a.emit)
                rc = clt_study_emit_slurm(&s, trainer, NULL) == 0 ? 0 : 1;
            else
                rc = run_here(&s, &a, trainer);
            clt_study_free(&s);
        }
    }
    free(trainer);
    free(data_tool);
    free(a.sets);
    free(a.net_sets);
    free(a.devices);
    return rc;
}
