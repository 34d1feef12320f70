/* study.c — `cltransfer study`: the command line of the study runner and its emitters. */
#include "study/study.h"

#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "study/report.h"

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
            "The study file (conf/study/README.md has the whole story):\n"
            "  [study]     name, output (RUN folder), seed, repeats (R: every net R times, seeds differ),\n"
            "              layers (n, default 1-7), jobs, description\n"
            "  [source]    kind = fmnist | imagenet; input (fmnist: folder of the idx files, default\n"
            "              cltransfer-data's; imagenet: the ILSVRC2012 train folder), val_list + val_root\n"
            "              (imagenet), classes, packs (where prepared data goes, default RUN/data), seed (of\n"
            "              reduced subsets), options (extra flags for cltransfer-data fmnist / pack)\n"
            "  [report]    best (K of the metric: mean of the K highest val top-1; default 10), tolerance\n"
            "  [device] [data] [net] [solver]   keys every network gets (the trainer's schema)\n"
            "  [treatment NAMES]   section.key = value for those treatments only (base selffer selffer_ft\n"
            "              transfer transfer_ft random_frozen reduced), e.g. solver.max_iter = 940\n"
            "  [split NAME]  random = SEED | natman = yes | a = CLASSES + b = CLASSES; dissimilar = yes|no;\n"
            "              base = A B; selffer = AnA BnB; selffer_ft = ...; transfer = AnB BnA; transfer_ft = ...\n"
            "              (a term may carry its layers: AnB:1-3,5); random_frozen = B[:LAYERS]; layers; repeats\n"
            "  [whole]     the whole dataset: base = yes, random_frozen = LAYERS, reduced = PER-CLASS COUNTS\n");
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

int clt_study_main(int argc, char **argv) {
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
    const char *config = NULL, *output = NULL, *emit = NULL, *split = NULL, *trainer_opt = NULL, *data_opt = NULL;
    char *devices_arg = NULL;
    const char **sets = clt_calloc((size_t)argc, sizeof *sets), **net_sets = clt_calloc((size_t)argc, sizeof *net_sets);
    int nsets = 0, nnet = 0, jobs = 0, threads = -1, list = 0, no_report = 0, plain = 0, data_only = 0, c, rc = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:S:o:j:h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'c': config = optarg; break;
        case 's': sets[nsets++] = optarg; break;
        case 'S': net_sets[nnet++] = optarg; break;
        case 'o': output = optarg; break;
        case 'j':
            jobs = (int)strtol(optarg, &end, 10);
            if (*end || jobs < 1) {
                clt_error("-j %s: expected a whole number of at least 1", optarg);
                goto out;
            }
            break;
        case O_THREADS:
            threads = (int)strtol(optarg, &end, 10);
            if (*end || threads < 0) {
                clt_error("--threads %s: expected a whole number (0: leave POCL_MAX_PTHREAD_COUNT alone)", optarg);
                goto out;
            }
            break;
        case O_DEVICE: devices_arg = clt_strdup(optarg); break;
        case O_TRAINER: trainer_opt = optarg; break;
        case O_DATA: data_opt = optarg; break;
        case O_LIST: list = 1; break;
        case O_EMIT:
            emit = optarg;
            if (strcmp(emit, "make") && strcmp(emit, "slurm") && strcmp(emit, "configs")) {
                clt_error("--emit %s: expected make, slurm or configs", emit);
                goto out;
            }
            break;
        case O_SPLIT: split = optarg; break;
        case O_NO_REPORT: no_report = 1; break;
        case O_PLAIN: plain = 1; break;
        case O_DATA_ONLY: data_only = 1; break;
        case 'h':
            usage(stdout);
            rc = 0;
            goto out;
        default: usage(stderr); goto out;
        }
    }
    if (optind < argc) {
        clt_error("unexpected argument '%s' (see cltransfer study --help)", argv[optind]);
        goto out;
    }
    if (!config) {
        clt_error("no study file: pass -c conf/study/NAME.ini (see cltransfer study --help)");
        goto out;
    }
    int configs = emit && !strcmp(emit, "configs");
    if (configs && !output) {
        clt_error("--emit configs needs -o DIR, the folder for the INI files");
        goto out;
    }
    if (split && !configs) {
        clt_error("--split goes with --emit configs");
        goto out;
    }

    /* Trainer and data tool: option, environment, then this program and its neighbour. */
    const char *env_trainer = getenv("CLTRANSFER_TRAINER"), *env_data = getenv("CLTRANSFER_DATA");
    char *trainer = NULL, *data_tool = NULL;
    if (trainer_opt)
        trainer = absolute(trainer_opt);
    else if (env_trainer && *env_trainer)
        trainer = absolute(env_trainer);
    else {
        char buf[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
        if (n <= 0) {
            clt_error("cannot find this program through /proc/self/exe: pass --trainer PATH");
            goto out;
        }
        buf[n] = 0;
        trainer = clt_strdup(buf);
    }
    if (data_opt) {
        data_tool = absolute(data_opt);
        setenv("CLTRANSFER_DATA", data_tool, 1); /* prepare.sh reads it before its default */
    } else if (env_data && *env_data) {
        data_tool = absolute(env_data);
    }

    clt_study_options so = {0};
    so.run_dir = configs ? NULL : output;
    so.absolute = !configs;
    so.data_tool = data_tool;
    so.sets = sets;
    so.nsets = nsets;
    so.net_sets = net_sets;
    so.nnet_sets = nnet;
    clt_study s;
    if (clt_study_load(&s, config, &so) != 0) {
        free(trainer);
        free(data_tool);
        goto out;
    }
    if (list) {
        clt_study_list(&s, stdout);
        rc = 0;
    } else if (configs) {
        rc = clt_study_emit_configs(&s, split, output) == 0 ? 0 : 1;
    } else if (emit && !strcmp(emit, "make")) {
        rc = clt_study_emit_make(&s, trainer, NULL) == 0 ? 0 : 1;
    } else if (emit) {
        rc = clt_study_emit_slurm(&s, trainer, NULL) == 0 ? 0 : 1;
    } else {
        clt_study_run_options ro = {0};
        ro.jobs = jobs ? jobs : s.jobs;
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        if (threads < 0) threads = getenv("POCL_MAX_PTHREAD_COUNT") ? 0 : (int)CLT_MAX(1, (cores > 0 ? cores : 1) / ro.jobs);
        ro.threads = threads;
        ro.trainer = trainer;
        ro.ndevices = devices_arg ? split_devices(devices_arg, &ro.devices) : 0;
        ro.progress = !plain;
        ro.data_only = data_only;
        rc = clt_study_run(&s, &ro);
        if (rc != 130 && !no_report && !data_only) {
            clt_report_options o = {0};
            o.tolerance = -1;
            if (clt_report_folder(s.run_dir, &o) != 0 && rc == 0) rc = 1;
        }
        free(ro.devices);
    }
    clt_study_free(&s);
    free(trainer);
    free(data_tool);
out:
    free(sets);
    free(net_sets);
    free(devices_arg);
    return rc;
}
