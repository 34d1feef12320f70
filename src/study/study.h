/* study.h — `cltransfer study`: a study file expanded into one config per network and a dependency
   graph (data preparation → base nets → transfer nets), run locally or emitted as a Makefile, a
   SLURM script or plain config files. The study file format is documented in conf/study/README.md
   and in `cltransfer study --help`. */
#ifndef CLT_STUDY_H
#define CLT_STUDY_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "util/strbuf.h"
#include "util/util.h"

/* argv[0] is "study"; returns the process exit status. */
int clt_study_main(int argc, char **argv);


typedef enum clt_node_kind { CLT_NODE_DATA, CLT_NODE_NET } clt_node_kind;

/* One unit of work: preparing a split's data, or training one network. */
typedef struct clt_study_node {
    clt_node_kind kind;
    char *id;     /* unique, path-like: "random/a3b", "random/a3b-r1", "data/random" */
    char *name;   /* short name used by --emit configs: "a3b", "base_a", "random3", "reduced0005" */
    char *dir;    /* the network's output folder, or the data folder */
    char *file;   /* net.ini (net) or prepare.sh (data), inside dir */
    char *text;   /* that file's contents */
    char *done;   /* exists when the node is finished: final.ckpt, or the data folder's .done */
    char *log;    /* where the runner sends the child's stdout and stderr */
    int *deps, ndeps;
    int stage;    /* 0 for nodes without dependencies, else 1 + the largest stage among deps */
    double cost;  /* training iterations (0 for data) */
    double work;  /* estimated multiply-adds of its training and validation (0 for data): the runner's
                     ETA and scheduling weight, as the iterations alone weigh a frozen net like a base net */
    int batch;    /* training batch size */
    int validations; /* validation passes over the target's validation pack */
    /* What the network is (also its [study] section). */
    char treatment[16], split[32], base[2], target[4];
    int n, repeat, per_class;
} clt_study_node;

/* One class split, as the report needs to know it. */
typedef struct clt_study_split {
    char name[32];
    char kind[16];      /* random | natman | explicit */
    int dissimilar;     /* the report's Figure 3 treats this split as the dissimilar one */
    char *a, *b;        /* explicit class lists ("0 2 3 4 6"), else NULL */
} clt_study_split;

typedef struct clt_study {
    char name[64];
    char *source;       /* the study file */
    char *run_dir;      /* where nets/ and (by default) data/ go */
    char *packs_dir;    /* where prepared data goes */
    int jobs;           /* [study] jobs: networks at a time by default */
    int best;           /* [report] best: the metric's K (mean of the K highest val top-1) */
    double tolerance;   /* [report] tolerance, top-1 points as a fraction */
    char *description;
    clt_study_split *splits;
    int nsplits;
    clt_study_node *nodes; /* data nodes first, then nets by stage: deps always come earlier */
    int nnodes, nodes_cap;
} clt_study;

/* A study of more nodes (networks and data folders) is refused: the paper's has 163. */
#define CLT_STUDY_MAX_NODES 10000

/* How to expand a study. run_dir overrides [study] output; when absolute is set, every path in
   the generated files is made absolute (runner, Makefile, SLURM), else kept as the study file wrote
   it, relative to the working folder (--emit configs, for committed files). trainer and data_tool
   are written into the generated scripts as defaults. sets are "section.key=value" overrides of
   the study file; net_sets "section.key=value" settings applied last to every network. */
typedef struct clt_study_options {
    const char *run_dir;
    int absolute;
    const char *data_tool;
    const char **sets;
    int nsets;
    const char **net_sets;
    int nnet_sets;
} clt_study_options;

/* Reads and expands a study file; errors name the file and line (or the -s override). */
int clt_study_load(clt_study *s, const char *path, const clt_study_options *opt);
void clt_study_free(clt_study *s);

/* Writes every node's file (net.ini, prepare.sh) that is missing or differs, and RUN/report.ini
   (what `cltransfer report` needs to know about the study). Refuses to reuse a data folder that
   was prepared by a different recipe. */
int clt_study_materialise(const clt_study *s);

/* Node state as the runner, --list and the emitted scripts see it. */
int clt_study_node_done(const clt_study_node *n);

/* The emitters. out is the file to write (NULL: the default inside the run folder). */
int clt_study_emit_make(const clt_study *s, const char *trainer, const char *out);
int clt_study_emit_slurm(const clt_study *s, const char *trainer, const char *out);
/* Writes the networks of one split (NULL: the first) and of the whole dataset, repeat 0, as
   DIR/NAME.ini with the study's short names. */
int clt_study_emit_configs(const clt_study *s, const char *split, const char *dir);
/* Prints the graph: one line per node with its stage, state, cost and dependencies. */
void clt_study_list(const clt_study *s, FILE *out);

typedef struct clt_study_run_options {
    int jobs;
    int threads;              /* POCL_MAX_PTHREAD_COUNT per child; 0: leave the environment alone */
    const char *trainer;
    const char **devices;     /* handed out one per running network; NULL: the trainer's default */
    int ndevices;
    int progress;             /* 1: a live line on a terminal; 0: plain lines */
    int data_only;            /* prepare the data, train nothing */
} clt_study_run_options;

/* Runs the graph: returns 0 when every node finished, 1 when some failed (their dependents are
   skipped), 130 when stopped by a signal. */
int clt_study_run(const clt_study *s, const clt_study_run_options *opt);

#endif
