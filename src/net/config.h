/* config.h — one network's run configuration: the INI schema (sections run, device, data, net,
   solver, transfer, study), its defaults and limits, loading with the project's INI reader (src/util/ini.h), -s overrides, and writing
   the effective config. The schema is a table in config.c; README documents every key. */
#ifndef CLT_CONFIG_H
#define CLT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define CLT_PATH 1024

typedef enum clt_mode { CLT_MODE_NONE, CLT_MODE_FROZEN, CLT_MODE_FINETUNE, CLT_MODE_RANDOM } clt_mode;

typedef struct clt_config {
    /* [run] */
    char name[128];
    char output[CLT_PATH];
    int64_t seed;
    /* [device] */
    char device[256];
    /* [data] */
    char train[CLT_PATH], val[CLT_PATH], mean[CLT_PATH];
    char mean_kind[16]; /* image | channel */
    int crop;       /* 0: whole image */
    bool mirror;
    double scale;
    int batch, val_batch, threads;
    int classes;    /* 0: from the training pack */
    /* [net] */
    char arch[32];  /* caffenet | small */
    int fc8;        /* 0: the number of classes */
    double dropout;
    char init[16];  /* gaussian | he | "" (the arch's default) */
    int widths[7];  /* conv1..conv5, fc6, fc7 outputs; 0: the arch's default */
    /* [solver] */
    double base_lr, momentum, weight_decay, gamma;
    char lr_policy[16]; /* step | fixed */
    char momentum_form[16]; /* caffe | pytorch */
    int64_t stepsize, max_iter, test_interval, snapshot, display;
    bool test_initialization;
    /* [transfer] */
    char base[CLT_PATH];
    int layers;
    char mode[16];  /* none | frozen | finetune | random */
    /* [study] — descriptive, read by `cltransfer report` */
    char treatment[32], split[32], base_half[8], target_half[8];
    int repeat;
    int per_class; /* reduced nets: training examples per class (0: all) */

    char source[CLT_PATH]; /* the file it was read from */
} clt_config;

void clt_config_defaults(clt_config *c);
/* Reads an INI file over the current values. An unknown section or key, a malformed value or one out
   of range is an error naming the file and line; returns -1 (exit status 2 is the caller's). */
int clt_config_load(clt_config *c, const char *path);
/* The same from text in memory; path names it in errors. */
int clt_config_parse(clt_config *c, const char *path, const char *text);
/* Applies one "section.key=value" override; errors name the override. */
int clt_config_set(clt_config *c, const char *assignment);
/* Cross-key checks after loading and overrides (required keys, transfer consistency). */
int clt_config_validate(const clt_config *c);
/* Writes every key with its effective value, section by section, as a loadable INI. */
void clt_config_write(const clt_config *c, FILE *out);
/* Counts the keys whose values differ between two configs, leaving out the "section.key" names in
   the NULL-ended may_differ, and describes them in out ("solver.base_lr = 0.001 (the run has 0.01); …"). */
int clt_config_differences(const clt_config *now, const clt_config *before, const char *const *may_differ,
                           char *out, size_t n);
/* Prints the schema (section, key, type, default, meaning) for --help. */
void clt_config_print_schema(FILE *out);

clt_mode clt_config_mode(const clt_config *c);

#endif
