/* study_spec.c — reads a study file and expands it into data-preparation nodes and one network
   config per treatment, split, layer n and repeat, with the dependencies between them. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "net/config.h"
#include "net/net.h"
#include "net/train.h"
#include "net/treatment.h"
#include "util/ini.h"
#include "study/study.h"
#include "study/study_schema.h"

/* ---------- the study file as a list of settings ---------- */

/* A setting, in file order; -s overrides come after the file's, and the last one of a key wins. */
typedef struct entry {
    char *section, *key, *value, *where;
    int used;
} entry;

typedef struct entries {
    entry *e;
    int n, cap;
} entries;

static void entries_add(entries *es, const char *section, const char *key, const char *value, const char *where) {
    if (es->n == es->cap) {
        es->cap = es->cap ? es->cap * 2 : 64;
        es->e = clt_realloc(es->e, (size_t)es->cap * sizeof *es->e);
    }
    entry *e = &es->e[es->n++];
    e->section = clt_strdup(section);
    e->key = clt_strdup(key);
    e->value = clt_strdup(value);
    e->where = clt_strdup(where);
    e->used = 0;
}

static void entries_free(entries *es) {
    for (int i = 0; i < es->n; i++) {
        free(es->e[i].section);
        free(es->e[i].key);
        free(es->e[i].value);
        free(es->e[i].where);
    }
    free(es->e);
}

/* "split  random" and "split random" are the same section. */
static void normalise_section(char *s) {
    char *w = s;
    int space = 0;
    for (char *r = s; *r; r++) {
        if (isspace((unsigned char)*r)) {
            space = 1;
            continue;
        }
        if (space && w != s) *w++ = ' ';
        space = 0;
        *w++ = *r;
    }
    *w = 0;
}

/* The project's one INI dialect (src/util/ini.h) with indented continuation lines for long values
   (descriptions, lists); every setting keeps its file:line for the errors that come later. */
static int read_study_file(entries *es, const char *path) {
    static const clt_ini_dialect STUDY_DIALECT = {CLT_INI_MAX_BYTES, true};
    clt_ini ini;
    if (clt_ini_load(&ini, path, &STUDY_DIALECT) != 0) return -1;
    for (int i = 0; i < ini.n; i++) {
        char where[CLT_PATH + 32];
        snprintf(where, sizeof where, "%s:%d", path, ini.e[i].line);
        entries_add(es, ini.e[i].section, ini.e[i].key, ini.e[i].value, where);
    }
    clt_ini_free(&ini);
    return 0;
}

/* "-s section.key=value": the section is everything before the first dot, so treatment sections
   take keys with dots of their own ("treatment base.solver.max_iter=100"). */
static int add_override(entries *es, const char *set) {
    const char *dot = strchr(set, '.'), *eq = strchr(set, '=');
    if (!dot || !eq || dot > eq || dot == set || eq == dot + 1) {
        clt_error("-s %s: expected section.key=value", set);
        return -1;
    }
    char section[256], key[256], where[CLT_PATH + 16];
    snprintf(section, sizeof section, "%.*s", (int)(dot - set), set);
    normalise_section(section);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    char *k = clt_trim(key), *v = clt_strdup(eq + 1);
    snprintf(where, sizeof where, "-s %s", set);
    entries_add(es, section, k, clt_trim(v), where);
    free(v);
    return 0;
}

static entry *find(entries *es, const char *section, const char *key) {
    entry *found = NULL;
    for (int i = 0; i < es->n; i++)
        if (!strcmp(es->e[i].section, section) && !strcmp(es->e[i].key, key)) {
            es->e[i].used = 1;
            found = &es->e[i];
        }
    return found;
}

static const char *get(entries *es, const char *section, const char *key, const char *dflt) {
    entry *e = find(es, section, key);
    return e ? e->value : dflt;
}

/* A whole number within the schema's bounds of the key (study_schema.c). */
static int get_long(entries *es, const char *section, const char *key, long dflt, long *out) {
    const clt_study_key *k = clt_study_key_find(section, key);
    long lo = (long)k->min, hi = (long)k->max;
    entry *e = find(es, section, key);
    if (!e) {
        *out = dflt;
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(e->value, &end, 10);
    if (end == e->value || *end || errno || v < lo || v > hi) {
        clt_error("%s: [%s] %s = '%s' is not a whole number in %ld..%ld", e->where, section, key, e->value, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int get_bool(entries *es, const char *section, const char *key, int dflt, int *out) {
    entry *e = find(es, section, key);
    *out = dflt;
    if (!e) return 0;
    if (!strcasecmp(e->value, "yes") || !strcasecmp(e->value, "true") || !strcmp(e->value, "1"))
        *out = 1;
    else if (!strcasecmp(e->value, "no") || !strcasecmp(e->value, "false") || !strcmp(e->value, "0"))
        *out = 0;
    else {
        clt_error("%s: [%s] %s = '%s' is not yes or no", e->where, section, key, e->value);
        return -1;
    }
    return 0;
}

/* Parses "1-7", "1,3,5,7", "1 3 5 7" or "1-3,5" into a sorted list without repeats. */
static int parse_int_list(const char *text, long lo, long hi, long **out, int *n, const char *where, const char *what);

/* The same for a list-valued key, within its schema bounds. */
static int parse_key_list(const char *section, const char *key, const char *text, long **out, int *n, const char *where,
                          const char *what) {
    const clt_study_key *k = clt_study_key_find(section, key);
    return parse_int_list(text, (long)k->min, (long)k->max, out, n, where, what);
}

/* The most values one list may hold, repeats included: far above a class list of ILSVRC's 1000
   classes, and a mistyped range (1-100000000) is refused before it fills memory. How many networks
   the lists make together is bounded by CLT_STUDY_MAX_NODES (study.h). */
#define MAX_LIST_VALUES 100000

static int compare_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int parse_int_list(const char *text, long lo, long hi, long **out, int *n, const char *where, const char *what) {
    long *v = NULL;
    int cnt = 0, cap = 0;
    const char *p = text;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || errno) goto bad;
        p = end;
        if (*p == '-') {
            const char *q = p + 1;
            b = strtol(q, &end, 10);
            if (end == q || errno) goto bad;
            p = end;
        }
        if (*p && *p != ',' && !isspace((unsigned char)*p)) goto bad;
        if (a < lo || b > hi || a > b) {
            clt_error("%s: %s '%s': values must lie in %ld..%ld", where, what, text, lo, hi);
            free(v);
            return -1;
        }
        if (b - a >= MAX_LIST_VALUES - cnt) {
            clt_error("%s: %s '%s' lists more than %d values", where, what, text, MAX_LIST_VALUES);
            free(v);
            return -1;
        }
        for (long x = a; x <= b; x++) {
            if (cnt == cap) v = clt_realloc(v, (size_t)(cap = cap ? cap * 2 : 16) * sizeof *v);
            v[cnt++] = x;
        }
    }
    if (cnt) qsort(v, (size_t)cnt, sizeof *v, compare_long);
    int unique = 0;
    for (int i = 0; i < cnt; i++)
        if (!unique || v[unique - 1] != v[i]) v[unique++] = v[i];
    cnt = unique;
    if (cnt == 0) {
        clt_error("%s: %s '%s' lists nothing", where, what, text);
        free(v);
        return -1;
    }
    *out = v;
    *n = cnt;
    return 0;
bad:
    clt_error("%s: %s '%s': expected numbers and ranges like 1-3,5", where, what, text);
    free(v);
    return -1;
}

/* ---------- expansion ---------- */

static const char *NET_SECTIONS[] = {"device", "data", "net", "solver"};

/* One config setting a network gets from the study ([data] crop = 0 → "data", "crop", "0"). */
typedef struct kv {
    char section[16], key[64];
    const char *value, *where;
} kv;

typedef struct kvs {
    kv *v;
    int n, cap;
} kvs;

static void kvs_set(kvs *l, const char *section, const char *key, const char *value, const char *where) {
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].section, section) && !strcmp(l->v[i].key, key)) {
            l->v[i].value = value;
            l->v[i].where = where;
            return;
        }
    if (l->n == l->cap) l->v = clt_realloc(l->v, (size_t)(l->cap = l->cap ? l->cap * 2 : 32) * sizeof *l->v);
    kv *e = &l->v[l->n++];
    snprintf(e->section, sizeof e->section, "%s", section);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->value = value;
    e->where = where;
}

/* The keys the study owns for every network: settings of them in the study file would be lost. */
static int study_owned(const char *section, const char *key) {
    if (!strcmp(section, "run") || !strcmp(section, "transfer") || !strcmp(section, "study")) return 1;
    return !strcmp(section, "data") && (!strcmp(key, "train") || !strcmp(key, "val"));
}

/* Checks one network setting against the trainer's schema, naming where it came from. */
static int check_net_setting(const char *section, const char *key, const char *value, const char *where) {
    if (study_owned(section, key)) {
        clt_error("%s: %s.%s is set by the study for each network (name, output, seed, packs, transfer, "
                  "treatment), not in the study file",
                  where, section, key);
        return -1;
    }
    clt_config scratch;
    clt_config_defaults(&scratch);
    char set[1400];
    snprintf(set, sizeof set, "%s.%s=%s", section, key, value);
    if (clt_config_set(&scratch, set) != 0) {
        clt_error("%s: (this setting is passed to every network's config)", where);
        return -1;
    }
    return 0;
}

typedef struct ctx {
    clt_study *s;
    entries *es;
    const clt_study_options *opt;
    long seed;
    kvs defaults;          /* [device] [data] [net] [solver] of the study file */
    kvs per_treatment[CLT_TREATMENTS]; /* [treatment ...] overrides */
    kvs net_sets;          /* -S overrides, applied last */
    char *source_kind, *input, *val_list, *val_root, *options;
    long classes, subset_seed;
    char *data_tool;
    int once;               /* networks that validate only at their end */
    char once_example[160];
    char budget[4][32];     /* the solver settings [study] iterations and validations derive */
} ctx;

/* A folder the networks' configs name (the run folder, the packs) must read back unchanged from
   their config.ini; where names the setting for the error. */
static int check_config_folder(const char *folder, const char *where, const char *what) {
    if (clt_ini_value_writable(folder)) return 0;
    clt_error("%s: %s '%s' holds a control character, a space at an end or ' ;' / ' #', which the networks' "
              "configs could not hold",
              where, what, folder);
    return -1;
}

static char *path_for(const ctx *c, const char *p) {
    if (!c->opt->absolute || p[0] == '/') return clt_strdup(p);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return clt_strdup(p);
    const char *q = p;
    while (q[0] == '.' && q[1] == '/') q += 2;
    return clt_path_join(cwd, q);
}

/* A new node, or NULL (error printed) past CLT_STUDY_MAX_NODES. */
static clt_study_node *add_node(clt_study *s) {
    if (s->nnodes == CLT_STUDY_MAX_NODES) {
        clt_error("%s: more than %d networks and data folders; cltransfer runs at most that many in one study "
                  "(the paper's has 163)",
                  s->source, CLT_STUDY_MAX_NODES);
        return NULL;
    }
    if (s->nnodes == s->nodes_cap)
        s->nodes = clt_realloc(s->nodes, (size_t)(s->nodes_cap = s->nodes_cap ? 2 * s->nodes_cap : 64) * sizeof *s->nodes);
    clt_study_node *n = &s->nodes[s->nnodes++];
    memset(n, 0, sizeof *n);
    return n;
}

static int node_index(const clt_study *s, const char *id) {
    for (int i = 0; i < s->nnodes; i++)
        if (!strcmp(s->nodes[i].id, id)) return i;
    return -1;
}

static void add_dep(clt_study_node *n, int dep) {
    n->deps = clt_realloc(n->deps, (size_t)(n->ndeps + 1) * sizeof *n->deps);
    n->deps[n->ndeps++] = dep;
}

/* The one place that knows cltransfer-data's command line: the recipe of each data node. Every
   recipe runs in its own data folder and leaves there the packs that pack_file() names. */
typedef enum data_kind { DATA_SPLIT, DATA_WHOLE, DATA_REDUCED } data_kind;

/* Packs of a data folder: HALF_train.pack and HALF_test.pack (Fashion-MNIST's test set) or
   HALF_val.pack (ImageNet's validation set), HALF being A, B or all; reduced folders hold
   train.pack and validate on the whole dataset's. */
static void pack_file(const ctx *c, char *buf, size_t n, const char *half, int train) {
    snprintf(buf, n, "%s_%s.pack", half, train ? "train" : !strcmp(c->source_kind, "fmnist") ? "test" : "val");
}

/* Packs one half (classes from a list file) or the whole set (list NULL) into HALF_*.pack. */
static void pack_commands(clt_sb *sh, const ctx *c, const char *list, const char *half) {
    char train[64], val[64];
    pack_file(c, train, sizeof train, half, 1);
    pack_file(c, val, sizeof val, half, 0);
    clt_sb classes = {0};
    if (list) clt_sb_printf(&classes, " --split %s", list);
    const char *cl = classes.s ? classes.s : "", *o = c->options;
    if (!strcmp(c->source_kind, "fmnist")) {
        clt_sb_printf(sh, "\"$DATA\" fmnist");
        if (c->input) {
            clt_sb_printf(sh, " --dir ");
            clt_sb_shell_quote(sh, c->input);
        }
        clt_sb_printf(sh, "%s -o %s%s%s\n", cl, half, *o ? " " : "", o);
    } else {
        clt_sb_printf(sh, "\"$DATA\" pack --imagenet ");
        clt_sb_shell_quote(sh, c->input);
        clt_sb_printf(sh, "%s -o %s%s%s\n\"$DATA\" pack --list ", cl, train, *o ? " " : "", o);
        clt_sb_shell_quote(sh, c->val_list);
        clt_sb_printf(sh, " --root ");
        clt_sb_shell_quote(sh, c->val_root);
        clt_sb_printf(sh, "%s -o %s%s%s\n", cl, val, *o ? " " : "", o);
    }
    clt_sb_free(&classes);
}

static void data_recipe(clt_sb *sh, const ctx *c, data_kind kind, const clt_study_split *sp, long per_class) {
    switch (kind) {
    case DATA_SPLIT:
        if (!strcmp(sp->kind, "random"))
            clt_sb_printf(sh, "\"$DATA\" split --random --seed %s --classes %ld -o split\n", sp->a, c->classes);
        else if (!strcmp(sp->kind, "natman"))
            /* A natural, B man-made: the published logs' naming, so the reference data lines up. */
            clt_sb_printf(sh, "\"$DATA\" split --natman -o split\n");
        else
            clt_sb_printf(sh, "printf '%%s\\n' %s > split_A.txt\nprintf '%%s\\n' %s > split_B.txt\n", sp->a, sp->b);
        pack_commands(sh, c, "split_A.txt", "A");
        pack_commands(sh, c, "split_B.txt", "B");
        break;
    case DATA_WHOLE: pack_commands(sh, c, NULL, "all"); break;
    case DATA_REDUCED: {
        /* Records copied out of the whole training pack: nothing decoded or re-encoded again. */
        char train[64];
        pack_file(c, train, sizeof train, "all", 1);
        clt_sb_printf(sh, "\"$DATA\" split --per-class %ld --seed %ld --pack ../whole/%s -o train.pack\n", per_class,
                      c->subset_seed, train);
        break;
    }
    }
}

/* Where a data node leaves the packs a network reads. */
static char *pack_path(const ctx *c, const char *data_dir_name, const char *file) {
    char *dir = clt_path_join(c->s->packs_dir, data_dir_name);
    char *p = clt_path_join(dir, file);
    free(dir);
    return p;
}

static int add_data_node(ctx *c, const char *dir_name, data_kind kind, const clt_study_split *sp, long per_class,
                         const char *dep_id) {
    clt_study *s = c->s;
    clt_study_node *n = add_node(s);
    if (!n) return -1;
    n->kind = CLT_NODE_DATA;
    clt_sb id = {0};
    clt_sb_printf(&id, "data/%s", dir_name);
    n->id = id.s;
    n->name = clt_strdup(dir_name);
    n->dir = clt_path_join(s->packs_dir, dir_name);
    n->file = clt_path_join(n->dir, "prepare.sh");
    n->done = clt_path_join(n->dir, ".done");
    n->log = clt_path_join(n->dir, "prepare.log");
    snprintf(n->split, sizeof n->split, "%s", sp ? sp->name : "whole");
    n->per_class = (int)per_class;
    clt_sb sh = {0}, tool = {0}, dir = {0};
    clt_sb_shell_quote(&tool, c->data_tool);
    clt_sb_shell_quote(&dir, n->dir);
    clt_sb_printf(&sh,
                  "#!/bin/sh\n"
                  "# Data folder %s of study %s, generated by `cltransfer study` from %s.\n"
                  "# Run by the study runner, its Makefile or SLURM script; marks the folder done last.\n"
                  "set -e\n"
                  "DATA=\"${CLTRANSFER_DATA:-%s}\"\n"
                  "cd %s\n",
                  dir_name, s->name, s->source, tool.s, dir.s);
    data_recipe(&sh, c, kind, sp, per_class);
    clt_sb_printf(&sh, "touch .done\n");
    n->text = sh.s;
    clt_sb_free(&tool);
    clt_sb_free(&dir);
    if (dep_id) add_dep(n, node_index(s, dep_id));
    return 0;
}

/* What one network is; expand_net turns it into a node. */
typedef struct net_spec {
    const char *treatment; /* a name of net/treatment.h */
    const clt_study_split *split; /* NULL: the whole dataset */
    char base, target;     /* 'A'/'B'; target 0: all classes */
    int n, repeat;
    long per_class;
} net_spec;

static void net_name(clt_sb *b, const net_spec *ns) {
    char lb = (char)tolower(ns->base), lt = (char)tolower(ns->target);
    const char *t = ns->treatment;
    if (!strcmp(t, "base"))
        clt_sb_printf(b, "base_%s", ns->target ? (char[]){lt, 0} : "all");
    else if (!strcmp(t, "random_frozen"))
        clt_sb_printf(b, "random%d", ns->n);
    else if (!strcmp(t, "reduced"))
        clt_sb_printf(b, "reduced%04ld", ns->per_class);
    else
        clt_sb_printf(b, "%c%d%c%s", lb, ns->n, lt, strstr(t, "_ft") ? "_plus" : "");
    if (ns->repeat) clt_sb_printf(b, "-r%d", ns->repeat);
}

/* The node of a network: its id, name, folder and files, and what it is; NULL when the id is taken. */
static clt_study_node *new_net_node(ctx *c, const net_spec *ns) {
    clt_study *s = c->s;
    const char *split = ns->split ? ns->split->name : "whole";
    clt_sb name = {0}, id = {0};
    net_name(&name, ns);
    clt_sb_printf(&id, "%s/%s", split, name.s);
    if (node_index(s, id.s) >= 0) {
        clt_error("%s: network %s is listed twice", s->source, id.s);
        clt_sb_free(&name);
        clt_sb_free(&id);
        return NULL;
    }
    clt_study_node *n = add_node(s);
    if (!n) {
        clt_sb_free(&name);
        clt_sb_free(&id);
        return NULL;
    }
    n->kind = CLT_NODE_NET;
    n->id = id.s;
    n->name = name.s;
    char *nets = clt_path_join(s->run_dir, "nets");
    char *split_dir = clt_path_join(nets, split);
    n->dir = clt_path_join(split_dir, name.s);
    free(nets);
    free(split_dir);
    n->file = clt_path_join(n->dir, "net.ini");
    n->done = clt_path_join(n->dir, "final.ckpt");
    n->log = clt_path_join(n->dir, "stderr.log");
    snprintf(n->treatment, sizeof n->treatment, "%s", ns->treatment);
    snprintf(n->split, sizeof n->split, "%s", split);
    if (ns->base) snprintf(n->base, sizeof n->base, "%c", ns->base);
    snprintf(n->target, sizeof n->target, "%s", ns->target ? (char[]){ns->target, 0} : "all");
    n->n = ns->n;
    n->repeat = ns->repeat;
    n->per_class = (int)ns->per_class;
    return n;
}

/* The packs a network reads, the data node that makes them, and for nets that copy layers the
   base net they wait for and its final checkpoint. */
typedef struct net_inputs {
    char *train, *val, *base_ckpt;
} net_inputs;

static void net_inputs_free(net_inputs *in) {
    free(in->train);
    free(in->val);
    free(in->base_ckpt);
}

static int net_inputs_and_deps(ctx *c, const net_spec *ns, clt_study_node *n, net_inputs *in) {
    clt_study *s = c->s;
    char file[64], dname[32];
    clt_sb d = {0};
    if (!strcmp(ns->treatment, "reduced")) {
        snprintf(dname, sizeof dname, "reduced%04ld", ns->per_class);
        in->train = pack_path(c, dname, "train.pack");
        pack_file(c, file, sizeof file, "all", 0);
        in->val = pack_path(c, "whole", file);
    } else {
        const char *half = ns->target ? (char[]){ns->target, 0} : "all";
        snprintf(dname, sizeof dname, "%s", n->split);
        pack_file(c, file, sizeof file, half, 1);
        in->train = pack_path(c, n->split, file);
        pack_file(c, file, sizeof file, half, 0);
        in->val = pack_path(c, n->split, file);
    }
    clt_sb_printf(&d, "data/%s", dname);
    add_dep(n, node_index(s, d.s));
    clt_sb_free(&d);
    if (!ns->base || !(strstr(ns->treatment, "selffer") || strstr(ns->treatment, "transfer"))) return 0;
    net_spec b = {"base", ns->split, 0, ns->base, 0, ns->repeat, 0};
    clt_sb bname = {0}, bid = {0};
    net_name(&bname, &b);
    clt_sb_printf(&bid, "%s/%s", n->split, bname.s);
    int bi = node_index(s, bid.s), rc = 0;
    if (bi < 0) {
        clt_error("%s: %s needs base net %s: add %c to [split %s] base", s->source, n->id, bid.s, ns->base, n->split);
        rc = -1;
    } else {
        add_dep(n, bi);
        in->base_ckpt = clt_path_join(s->nodes[bi].dir, "final.ckpt");
    }
    clt_sb_free(&bname);
    clt_sb_free(&bid);
    return rc;
}

/* A network's settings: the study's defaults, its treatment's overrides, then -S. */
static void net_settings(const ctx *c, const char *treatment, kvs *all) {
    const kvs *layers[3] = {&c->defaults, &c->per_treatment[clt_treatment_index(treatment)], &c->net_sets};
    for (int l = 0; l < 3; l++)
        for (int i = 0; i < layers[l]->n; i++) {
            const kv *e = &layers[l]->v[i];
            kvs_set(all, e->section, e->key, e->value, e->where);
        }
}

/* The [transfer] mode of a treatment: random, finetune, frozen, or NULL (nothing copied). */
static const char *transfer_mode(const char *treatment, const net_inputs *in) {
    if (!strcmp(treatment, "random_frozen")) return "random";
    if (strstr(treatment, "_ft")) return "finetune";
    return in->base_ckpt ? "frozen" : NULL;
}

/* net.ini: [run], the network sections with the packs, [transfer] and [study]. */
static char *net_ini_text(const ctx *c, const net_spec *ns, const clt_study_node *n, const net_inputs *in,
                          const kvs *all, long long seed, const char *mode) {
    const clt_study *s = c->s;
    clt_sb t = {0};
    clt_sb_printf(&t,
                  "; %s of study %s, generated by `cltransfer study` from %s:\n"
                  "; edit the study file, not this one.\n"
                  "[run]\nname = %s-%s\noutput = %s\nseed = %lld\n",
                  n->id, s->name, s->source, n->split, n->name, n->dir, seed);
    for (size_t sec = 0; sec < CLT_ARRAY_LEN(NET_SECTIONS); sec++) {
        int any = !strcmp(NET_SECTIONS[sec], "data");
        for (int i = 0; i < all->n; i++) any |= !strcmp(all->v[i].section, NET_SECTIONS[sec]);
        if (!any) continue;
        clt_sb_printf(&t, "\n[%s]\n", NET_SECTIONS[sec]);
        if (!strcmp(NET_SECTIONS[sec], "data")) clt_sb_printf(&t, "train = %s\nval = %s\n", in->train, in->val);
        for (int i = 0; i < all->n; i++)
            if (!strcmp(all->v[i].section, NET_SECTIONS[sec])) clt_sb_printf(&t, "%s = %s\n", all->v[i].key, all->v[i].value);
    }
    if (mode) {
        clt_sb_printf(&t, "\n[transfer]\n");
        if (in->base_ckpt) clt_sb_printf(&t, "base = %s\n", in->base_ckpt);
        clt_sb_printf(&t, "layers = %d\nmode = %s\n", ns->n, mode);
    }
    clt_sb_printf(&t, "\n[study]\ntreatment = %s\nsplit = %s\n", ns->treatment, n->split);
    if (ns->base) clt_sb_printf(&t, "base = %c\n", ns->base);
    clt_sb_printf(&t, "target = %s\nrepeat = %d\n", n->target, ns->repeat);
    if (ns->per_class) clt_sb_printf(&t, "per_class = %ld\n", ns->per_class);
    return t.s;
}

static int n_validations(const clt_config *cfg) {
    return (int)((cfg->max_iter + cfg->test_interval - 1) / cfg->test_interval) + (cfg->test_initialization ? 1 : 0);
}

/* The classes a network trains and validates on. */
static double target_classes(const ctx *c, const net_spec *ns) {
    if (!ns->target) return (double)c->classes;
    if (ns->split && !strcmp(ns->split->kind, "explicit")) {
        double classes = 1;
        for (const char *q = ns->target == 'A' ? ns->split->a : ns->split->b; *q; q++) classes += *q == ' ';
        return classes;
    }
    return (double)c->classes / 2; /* a random half; natural or man-made is near one */
}

/* Multiply-adds of a network's whole run, the runner's measure of its work (study.h). A training
   iteration runs the forward pass from the first layer the frozen-prefix cache does not serve
   (net/prefix_cache.h: frozen layers of an input without random crops or mirrors, at most 6 with
   dropout), the weight gradients of the trained layers and the data gradients above the lowest of
   them, and the first epoch also runs the frozen layers, filling the cache; a validation pass runs
   the whole net forward. Images per class are the sources' own: Fashion-MNIST's 6000 training and
   1000 test images, ILSVRC-2012's 1281 (on average) and 50. Convolutions and fc layers only: on the
   long Fashion-MNIST study this is proportional to each network's time within 22% (8% median),
   where the iteration count alone prices a frozen 7-layer net like its base net, 9 times its time
   (bench/RESULTS.md, the long study). */
static double net_work(const ctx *c, const net_spec *ns, const clt_config *cfg) {
    bool fmnist = !strcmp(c->source_kind, "fmnist");
    double classes = target_classes(c, ns), val_images = classes * (fmnist ? 1000 : 50),
           train_images = classes * (ns->per_class ? (double)ns->per_class : fmnist ? 6000 : 1281);
    clt_arch a;
    clt_config_arch(cfg, (int)classes, &a);
    if (cfg->crop) a.in_h = a.in_w = cfg->crop;
    clt_conv conv[5];
    clt_ip ip[3];
    if (clt_arch_shapes(&a, conv, ip) != 0) return 0;
    double layer[CLT_LAYERS + 1] = {0}, whole = 0; /* multiply-adds per image, forward */
    for (int i = 0; i < 5; i++) {
        const clt_conv *l = &conv[i];
        layer[i + 1] = (double)l->m * l->ho * l->wo * (l->c / l->group) * l->k * l->k;
    }
    for (int i = 0; i < 3; i++) layer[i + 6] = (double)ip[i].in * ip[i].out;
    for (int l = 1; l <= CLT_LAYERS; l++) whole += layer[l];
    clt_mode mode = clt_config_mode(cfg);
    bool fixed_prefix = mode == CLT_MODE_FROZEN || mode == CLT_MODE_RANDOM;
    int lowest = fixed_prefix ? cfg->layers + 1 : 1, first = 1;
    if (fixed_prefix && !cfg->crop && !cfg->mirror)
        first = CLT_MIN(cfg->layers, a.dropout > 0 ? 6 : CLT_LAYERS - 1) + 1;
    double per_image = 0, prefix = 0;
    for (int l = 1; l <= CLT_LAYERS; l++) {
        per_image += layer[l] * ((l >= first) + (l >= lowest) + (l > lowest));
        prefix += l < first ? layer[l] : 0;
    }
    double images = (double)cfg->max_iter * cfg->batch;
    return images * per_image + CLT_MIN(images, train_images) * prefix + n_validations(cfg) * val_images * whole;
}

/* The trainer's own checks, now rather than hours into the study; max_iter is the node's cost. */
static int check_net_config(ctx *c, const net_spec *ns, clt_study_node *n, const net_inputs *in, const kvs *all,
                            const char *mode) {
    clt_config cfg;
    clt_config_defaults(&cfg);
    int rc = 0;
    for (int i = 0; i < all->n && rc == 0; i++) {
        char set[1400];
        snprintf(set, sizeof set, "%s.%s=%s", all->v[i].section, all->v[i].key, all->v[i].value);
        if (clt_config_set(&cfg, set) != 0) {
            clt_error("%s: (for network %s)", all->v[i].where, n->id);
            rc = -1;
        }
    }
    if (rc == 0) {
        snprintf(cfg.train, sizeof cfg.train, "%s", in->train);
        snprintf(cfg.val, sizeof cfg.val, "%s", in->val);
        if (mode) {
            snprintf(cfg.mode, sizeof cfg.mode, "%s", mode);
            cfg.layers = ns->n;
            if (in->base_ckpt) snprintf(cfg.base, sizeof cfg.base, "%s", in->base_ckpt);
        }
        snprintf(cfg.source, sizeof cfg.source, "%s (network %s)", c->s->source, n->id);
        rc = clt_config_validate(&cfg);
        if (cfg.test_interval > cfg.max_iter && !c->once++)
            snprintf(c->once_example, sizeof c->once_example, "%s (test_interval %lld > max_iter %lld)", n->id,
                     (long long)cfg.test_interval, (long long)cfg.max_iter);
    }
    n->cost = (double)cfg.max_iter;
    n->batch = cfg.batch;
    n->validations = n_validations(&cfg);
    if (rc == 0) n->work = net_work(c, ns, &cfg);
    return rc;
}

/* Each network's seed is a hash of the study seed and its id, so adding networks changes no other's. */
static long long net_seed(const ctx *c, const char *id) {
    uint64_t h = clt_fnv1a(CLT_FNV_INIT, &c->seed, sizeof c->seed);
    h = clt_fnv1a(h, id, strlen(id));
    return (long long)(h % 1000000000ULL) + 1;
}

static int expand_net(ctx *c, const net_spec *ns) {
    clt_study_node *n = new_net_node(c, ns);
    if (!n) return -1;
    net_inputs in = {0};
    if (net_inputs_and_deps(c, ns, n, &in) != 0) {
        net_inputs_free(&in);
        return -1;
    }
    kvs all = {0};
    net_settings(c, ns->treatment, &all);
    const char *mode = transfer_mode(ns->treatment, &in);
    n->text = net_ini_text(c, ns, n, &in, &all, net_seed(c, n->id), mode);
    int rc = check_net_config(c, ns, n, &in, &all, mode);
    free(all.v);
    net_inputs_free(&in);
    return rc;
}

/* A term of a [split] treatment list: "AnB" or "AnB:1-3,5" (base A, target B, layers 1, 2, 3, 5). */
static int parse_term(const char *term, const char *where, const char *treatment, const long *dflt_layers, int ndflt,
                      char *base, char *target, long **layers, int *nlayers) {
    size_t len = strcspn(term, ":");
    int selffer = strstr(treatment, "selffer") != NULL;
    if (len != 3 || !strchr("AB", term[0]) || term[1] != 'n' || !strchr("AB", term[2])) {
        clt_error("%s: %s term '%s': expected AnB, BnA, AnA or BnB, optionally with :LAYERS (AnB:1-3,5)", where,
                  treatment, term);
        return -1;
    }
    *base = term[0];
    *target = term[2];
    if (selffer != (*base == *target)) {
        clt_error("%s: %s term '%s': %s", where, treatment, term,
                  selffer ? "a selffer net's base and target are the same half (AnA, BnB)"
                          : "a transfer net's base and target are different halves (AnB, BnA)");
        return -1;
    }
    if (term[len] == ':') return parse_key_list("split", treatment, term + len + 1, layers, nlayers, where, "layers");
    *layers = clt_malloc((size_t)ndflt * sizeof **layers);
    memcpy(*layers, dflt_layers, (size_t)ndflt * sizeof **layers);
    *nlayers = ndflt;
    return 0;
}

/* Splits a value into whitespace-separated words (modifies it). */
static int words(char *s, char **w, int max) {
    int n = 0;
    for (char *tok = strtok(s, " \t\n"); tok && n < max; tok = strtok(NULL, " \t\n")) w[n++] = tok;
    return n;
}


static int valid_name(const char *s) {
    if (!*s || strlen(s) >= 32) return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-') return 0;
    return 1;
}

/* Reads a class list "0 2 3 4 6" (or with commas) into a normalised, space-separated string. */
static int class_list(const char *text, long classes, const char *where, char **out) {
    long *v;
    int n;
    if (parse_int_list(text, 0, classes - 1, &v, &n, where, "class list") != 0) return -1;
    clt_sb b = {0};
    for (int i = 0; i < n; i++) clt_sb_printf(&b, "%s%ld", i ? " " : "", v[i]);
    free(v);
    *out = b.s;
    return 0;
}

static int read_split(ctx *c, const char *section, clt_study_split *sp) {
    entries *es = c->es;
    const char *name = section + strlen("split ");
    const char *where = c->s->source;
    for (int i = es->n - 1; i >= 0; i--)
        if (!strcmp(es->e[i].section, section)) where = es->e[i].where;
    if (!valid_name(name) || !strcmp(name, "whole")) {
        clt_error("%s: split name '%s': use letters, digits, '_' and '-' (not 'whole')", where, name);
        return -1;
    }
    snprintf(sp->name, sizeof sp->name, "%s", name);
    entry *r = find(es, section, "random"), *a = find(es, section, "a"), *b = find(es, section, "b");
    int natman;
    if (get_bool(es, section, "natman", 0, &natman) != 0) return -1;
    int ways = (r != NULL) + natman + (a != NULL || b != NULL);
    if (ways != 1 || (a != NULL) != (b != NULL)) {
        clt_error("%s: [%s] needs exactly one of: random = SEED, natman = yes, or both a = CLASSES and b = CLASSES",
                  where, section);
        return -1;
    }
    if (r) {
        long seed;
        if (get_long(es, section, "random", 0, &seed) != 0) return -1;
        snprintf(sp->kind, sizeof sp->kind, "random");
        clt_sb sb = {0};
        clt_sb_printf(&sb, "%ld", seed);
        sp->a = sb.s; /* the seed, for the recipe */
    } else if (natman) {
        snprintf(sp->kind, sizeof sp->kind, "natman");
    } else {
        snprintf(sp->kind, sizeof sp->kind, "explicit");
        if (class_list(a->value, c->classes, a->where, &sp->a) != 0 || class_list(b->value, c->classes, b->where, &sp->b) != 0)
            return -1;
    }
    return get_bool(es, section, "dissimilar", strcmp(sp->kind, "random") != 0, &sp->dissimilar);
}

static int expand_split(ctx *c, const char *section, const clt_study_split *sp, const long *study_layers,
                        int nstudy_layers, long study_repeats) {
    entries *es = c->es;
    long *layers = NULL, repeats;
    int nlayers = 0, rc = 0;
    entry *le = find(es, section, "layers");
    if (le) {
        if (parse_key_list(section, "layers", le->value, &layers, &nlayers, le->where, "layers") != 0) return -1;
    } else {
        layers = clt_malloc((size_t)nstudy_layers * sizeof *layers);
        memcpy(layers, study_layers, (size_t)nstudy_layers * sizeof *layers);
        nlayers = nstudy_layers;
    }
    if (get_long(es, section, "repeats", study_repeats, &repeats) != 0) {
        free(layers);
        return -1;
    }
    entry *be = find(es, section, "base");
    char bases[3] = "AB";
    if (be) {
        char *v = clt_strdup(be->value), *w[4];
        int nw = words(v, w, 4);
        bases[0] = bases[1] = 0;
        for (int i = 0; i < nw; i++) {
            if ((strcmp(w[i], "A") && strcmp(w[i], "B")) || nw > 2) {
                clt_error("%s: [%s] base = '%s': expected A, B or 'A B'", be->where, section, be->value);
                rc = -1;
            }
            bases[i < 2 ? i : 0] = w[i][0];
        }
        free(v);
    }
    static const char *TERMS[] = {"selffer", "selffer_ft", "transfer", "transfer_ft"};
    for (long r = 0; r < repeats && rc == 0; r++) {
        for (int i = 0; i < 2 && bases[i] && rc == 0; i++) {
            net_spec ns = {"base", sp, 0, bases[i], 0, (int)r, 0};
            rc = expand_net(c, &ns);
        }
        for (size_t t = 0; t < CLT_ARRAY_LEN(TERMS) && rc == 0; t++) {
            entry *e = find(es, section, TERMS[t]);
            if (!e) continue;
            char *v = clt_strdup(e->value), *w[16];
            int nw = words(v, w, 16);
            for (int k = 0; k < nw && rc == 0; k++) {
                char base, target;
                long *ls;
                int nls;
                if (parse_term(w[k], e->where, TERMS[t], layers, nlayers, &base, &target, &ls, &nls) != 0) {
                    rc = -1;
                    break;
                }
                for (int j = 0; j < nls && rc == 0; j++) {
                    net_spec ns = {TERMS[t], sp, base, target, (int)ls[j], (int)r, 0};
                    rc = expand_net(c, &ns);
                }
                free(ls);
            }
            free(v);
        }
        entry *e = find(es, section, "random_frozen");
        if (e && rc == 0) {
            char half = e->value[0];
            long *ls = layers;
            int nls = nlayers, own = 0;
            if (!strchr("AB", half) || !half || (e->value[1] && e->value[1] != ':')) {
                clt_error("%s: [%s] random_frozen = '%s': expected A or B, optionally with :LAYERS (B:1,3,5,7)",
                          e->where, section, e->value);
                rc = -1;
            } else if (e->value[1] == ':') {
                if (parse_key_list(section, "layers", e->value + 2, &ls, &nls, e->where, "layers") != 0)
                    rc = -1;
                else
                    own = 1;
            }
            for (int j = 0; j < nls && rc == 0; j++) {
                net_spec ns = {"random_frozen", sp, 0, half, (int)ls[j], (int)r, 0};
                rc = expand_net(c, &ns);
            }
            if (own) free(ls);
        }
    }
    /* Base nets beyond the repeats measure the seed spread the report prints beside its verdicts;
       no other network copies their layers. */
    long base_repeats;
    if (rc == 0 && get_long(es, section, "base_repeats", repeats, &base_repeats) != 0) rc = -1;
    for (long r = repeats; rc == 0 && r < base_repeats; r++)
        for (int i = 0; i < 2 && bases[i] && rc == 0; i++) {
            net_spec ns = {"base", sp, 0, bases[i], 0, (int)r, 0};
            rc = expand_net(c, &ns);
        }
    free(layers);
    return rc;
}

static int expand_whole(ctx *c, long study_repeats) {
    entries *es = c->es;
    long repeats, *rf = NULL, *red = NULL;
    int base, nrf = 0, nred = 0, rc = 0;
    if (get_bool(es, "whole", "base", 0, &base) != 0 || get_long(es, "whole", "repeats", study_repeats, &repeats) != 0)
        return -1;
    entry *e = find(es, "whole", "random_frozen");
    if (e && parse_key_list("whole", "random_frozen", e->value, &rf, &nrf, e->where, "layers") != 0) return -1;
    e = find(es, "whole", "reduced");
    if (e && parse_key_list("whole", "reduced", e->value, &red, &nred, e->where, "examples per class") != 0) {
        free(rf);
        return -1;
    }
    if (nred) {
        int whole = node_index(c->s, "data/whole");
        for (int i = 0; i < nred && rc == 0; i++) {
            char dname[32];
            snprintf(dname, sizeof dname, "reduced%04ld", red[i]);
            rc = add_data_node(c, dname, DATA_REDUCED, NULL, red[i], c->s->nodes[whole].id);
        }
    }
    for (long r = 0; r < repeats && rc == 0; r++) {
        if (base) {
            net_spec ns = {"base", NULL, 0, 0, 0, (int)r, 0};
            rc = expand_net(c, &ns);
        }
        for (int i = 0; i < nrf && rc == 0; i++) {
            net_spec ns = {"random_frozen", NULL, 0, 0, (int)rf[i], (int)r, 0};
            rc = expand_net(c, &ns);
        }
        for (int i = 0; i < nred && rc == 0; i++) {
            net_spec ns = {"reduced", NULL, 0, 0, 0, (int)r, red[i]};
            rc = expand_net(c, &ns);
        }
    }
    free(rf);
    free(red);
    return rc;
}

static int starts_with(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* "base, selffer, …" for error messages. */
static void treatment_names(clt_sb *b) {
    for (int t = 0; t < CLT_TREATMENTS; t++) clt_sb_printf(b, "%s%s", t ? ", " : "", clt_treatment_name(t));
}

/* [treatment base transfer] → the overrides of both. */
static int read_treatment_section(ctx *c, const char *section) {
    char *names = clt_strdup(section + strlen("treatment")), *w[8];
    int nw = words(names, w, 8), rc = 0;
    clt_sb known = {0};
    treatment_names(&known);
    if (nw == 0) {
        clt_error("%s: [treatment] needs one or more treatment names: %s", c->s->source, known.s);
        rc = -1;
    }
    for (int k = 0; k < nw && rc == 0; k++) {
        int ti = clt_treatment_index(w[k]);
        if (ti < 0) {
            clt_error("%s: [%s]: unknown treatment '%s' (%s)", c->s->source, section, w[k], known.s);
            rc = -1;
            break;
        }
        for (int i = 0; i < c->es->n && rc == 0; i++) {
            entry *e = &c->es->e[i];
            if (strcmp(e->section, section)) continue;
            e->used = 1;
            const char *dot = strchr(e->key, '.');
            char sec[16];
            if (!dot || (size_t)(dot - e->key) >= sizeof sec) {
                clt_error("%s: in [%s], keys name the network setting as section.key (solver.max_iter = 940)",
                          e->where, section);
                rc = -1;
                break;
            }
            snprintf(sec, sizeof sec, "%.*s", (int)(dot - e->key), e->key);
            rc = check_net_setting(sec, dot + 1, e->value, e->where);
            if (rc == 0) kvs_set(&c->per_treatment[ti], sec, dot + 1, e->value, e->where);
        }
    }
    free(names);
    clt_sb_free(&known);
    return rc;
}

static int stage_of(clt_study *s, int i) {
    clt_study_node *n = &s->nodes[i];
    int st = 0;
    for (int d = 0; d < n->ndeps; d++) st = CLT_MAX(st, s->nodes[n->deps[d]].stage + 1);
    return st;
}

/* Nodes are created with their dependencies already present, so a stable sort by stage keeps that
   order; dependency indices are remapped after it. */
static void sort_by_stage(clt_study *s) {
    int n = s->nnodes;
    for (int i = 0; i < n; i++) s->nodes[i].stage = stage_of(s, i);
    int *order = clt_malloc((size_t)n * sizeof *order), *where = clt_malloc((size_t)n * sizeof *where), k = 0;
    int maxst = 0;
    for (int i = 0; i < n; i++) maxst = CLT_MAX(maxst, s->nodes[i].stage);
    for (int st = 0; st <= maxst; st++)
        for (int i = 0; i < n; i++)
            if (s->nodes[i].stage == st) order[k++] = i;
    clt_study_node *sorted = clt_malloc((size_t)n * sizeof *sorted);
    for (int i = 0; i < n; i++) {
        sorted[i] = s->nodes[order[i]];
        where[order[i]] = i;
    }
    for (int i = 0; i < n; i++)
        for (int d = 0; d < sorted[i].ndeps; d++) sorted[i].deps[d] = where[sorted[i].deps[d]];
    free(s->nodes);
    s->nodes = sorted;
    s->nodes_cap = n;
    free(order);
    free(where);
}

static int known_key(const char *section, const char *key) {
    return (!strcmp(section, "study") || !strcmp(section, "source") || !strcmp(section, "report") ||
            !strcmp(section, "whole") || starts_with(section, "split ")) &&
           clt_study_key_find(section, key) != NULL;
}

static int known_section(const char *s) {
    if (!strcmp(s, "study") || !strcmp(s, "source") || !strcmp(s, "report") || !strcmp(s, "whole")) return 1;
    for (size_t i = 0; i < CLT_ARRAY_LEN(NET_SECTIONS); i++)
        if (!strcmp(s, NET_SECTIONS[i])) return 1;
    return starts_with(s, "split ") || !strcmp(s, "treatment") || starts_with(s, "treatment ");
}

static char *file_stem(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    char *s = clt_strdup(b), *dot = strrchr(s, '.');
    if (dot && dot != s) *dot = 0;
    return s;
}

static char *default_tool(const char *name) {
    char *dir = clt_exe_dir();
    if (!dir) return clt_strdup(name);
    char *p = clt_path_join(dir, name);
    free(dir);
    return p;
}

/* The file's settings and the -s overrides; every section must be one the study knows. */
static int read_entries(entries *es, const char *path, const clt_study_options *opt) {
    int rc = read_study_file(es, path);
    for (int i = 0; rc == 0 && i < opt->nsets; i++) rc = add_override(es, opt->sets[i]);
    /* A value continued on indented lines is one value, its lines joined by a space; only the
       description keeps them, for the report. A newline must not reach a generated file (net.ini,
       prepare.sh, a Makefile), where it would end the value and start a setting of its own. */
    for (int i = 0; i < es->n; i++)
        if (strcmp(es->e[i].section, "study") || strcmp(es->e[i].key, "description"))
            for (char *q = es->e[i].value; *q; q++)
                if (*q == '\n' || *q == '\r') *q = ' ';
    for (int i = 0; rc == 0 && i < es->n; i++)
        if (!known_section(es->e[i].section)) {
            clt_error("%s: unknown section [%s] (study, source, report, split NAME, whole, treatment NAMES, "
                      "device, data, net, solver)",
                      es->e[i].where, es->e[i].section);
            rc = -1;
        }
    return rc;
}

/* What [study] and [report] hold besides the layers and repeats: name, run folder, seed, jobs, the
   metric's K, τ and the description. */
static int read_study_section(ctx *c, const char *path, char **run, long *repeats) {
    clt_study *s = c->s;
    entries *es = c->es;
    char *stem = file_stem(path);
    snprintf(s->name, sizeof s->name, "%s", get(es, "study", "name", stem));
    free(stem);
    if (!valid_name(s->name)) {
        clt_error("%s: [study] name '%s': use letters, digits, '_' and '-'", path, s->name);
        return -1;
    }
    clt_sb dflt_out = {0};
    clt_sb_printf(&dflt_out, "runs/%s", s->name);
    entry *output = find(es, "study", "output");
    *run = clt_strdup(c->opt->run_dir ? c->opt->run_dir : output ? output->value : dflt_out.s);
    clt_sb_free(&dflt_out);
    if (check_config_folder(*run, c->opt->run_dir ? "-o" : output ? output->where : path, "the run folder") != 0)
        return -1;
    s->run_dir = path_for(c, *run);
    long jobs, best;
    if (get_long(es, "study", "seed", 1, &c->seed) != 0 || get_long(es, "study", "repeats", 1, repeats) != 0 ||
        get_long(es, "study", "jobs", 1, &jobs) != 0 || get_long(es, "report", "best", 10, &best) != 0)
        return -1;
    s->jobs = (int)jobs;
    s->best = (int)best;
    const char *desc = get(es, "study", "description", NULL);
    s->description = desc ? clt_strdup(desc) : NULL;
    entry *tol = find(es, "report", "tolerance");
    const clt_study_key *k = clt_study_key_find("report", "tolerance");
    s->tolerance = 0.005;
    if (tol) {
        char *end;
        s->tolerance = strtod(tol->value, &end);
        if (end == tol->value || *end || !(s->tolerance >= k->min && s->tolerance < k->max)) {
            clt_error("%s: [report] tolerance = '%s': expected a fraction of top-1 in [%g, %g), e.g. 0.005", tol->where,
                      tol->value, k->min, k->max);
            return -1;
        }
    }
    return 0;
}

/* [source]: where the data comes from and where prepared data goes. */
static int read_source_section(ctx *c, const char *path, const char *run) {
    entries *es = c->es;
    entry *kind = find(es, "source", "kind");
    if (!kind || (strcmp(kind->value, "fmnist") && strcmp(kind->value, "imagenet"))) {
        clt_error("%s: [source] kind must be fmnist or imagenet", kind ? kind->where : path);
        return -1;
    }
    entry *input = find(es, "source", "input"), *val_list = find(es, "source", "val_list"),
          *val_root = find(es, "source", "val_root");
    if (!strcmp(kind->value, "imagenet") && (!input || !val_list || !val_root)) {
        clt_error("%s: [source] kind = imagenet needs input (the ILSVRC2012 train folder, one folder per wnid), "
                  "val_list (Caffe-style 'file label' lines) and val_root (the folder of the validation images)",
                  kind->where);
        return -1;
    }
    if (!strcmp(kind->value, "fmnist") && (val_list || val_root)) {
        clt_error("%s: [source] val_list and val_root are for kind = imagenet", (val_list ? val_list : val_root)->where);
        return -1;
    }
    c->source_kind = kind->value;
    c->input = input ? path_for(c, input->value) : NULL;
    c->val_list = val_list ? path_for(c, val_list->value) : NULL;
    c->val_root = val_root ? path_for(c, val_root->value) : NULL;
    c->options = (char *)get(es, "source", "options", "");
    int rc = 0;
    if (get_long(es, "source", "classes", !strcmp(kind->value, "fmnist") ? 10 : 1000, &c->classes) != 0 ||
        get_long(es, "source", "seed", 0, &c->subset_seed) != 0)
        rc = -1;
    entry *packs = find(es, "source", "packs");
    if (packs && check_config_folder(packs->value, packs->where, "[source] packs") != 0) return -1;
    char *packs_default = clt_path_join(run, "data");
    c->s->packs_dir = path_for(c, packs ? packs->value : packs_default);
    free(packs_default);
    c->data_tool = c->opt->data_tool ? clt_strdup(c->opt->data_tool) : default_tool("cltransfer-data");
    return rc;
}

/* One "-S section.key=value" into the settings every network gets last. */
static int add_net_set(ctx *c, const char *set) {
    const char *dot = strchr(set, '.'), *eq = strchr(set, '=');
    char sec[16], key[64];
    if (!dot || !eq || dot > eq || (size_t)(dot - set) >= sizeof sec || (size_t)(eq - dot - 1) >= sizeof key) {
        clt_error("-S %s: expected section.key=value", set);
        return -1;
    }
    snprintf(sec, sizeof sec, "%.*s", (int)(dot - set), set);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    char where[1100];
    snprintf(where, sizeof where, "-S %s", set);
    if (check_net_setting(sec, key, eq + 1, where) != 0) return -1;
    kvs_set(&c->net_sets, sec, key, eq + 1, set);
    return 0;
}

/* [study] iterations = N and validations = V, the budget in one place: every network trains N
   iterations with the lr drop (solver.stepsize) at 2/3 of them, validates V times, evenly spaced,
   the last at the end, and snapshots at each validation. A [solver] key set in the file wins. */
static int derive_budget(ctx *c) {
    entries *es = c->es;
    entry *it = find(es, "study", "iterations");
    long iterations, validations;
    if (get_long(es, "study", "iterations", 0, &iterations) != 0 || get_long(es, "study", "validations", 1, &validations) != 0)
        return -1;
    if (!it) return 0;
    if (validations > iterations) {
        clt_error("%s: [study] validations = %ld is more than iterations = %ld", it->where, validations, iterations);
        return -1;
    }
    long interval = (iterations + validations - 1) / validations;
    static const char *KEYS[4] = {"max_iter", "stepsize", "test_interval", "snapshot"};
    long values[4] = {iterations, CLT_MAX(1, (2 * iterations + 1) / 3), interval, interval};
    for (int k = 0; k < 4; k++) {
        snprintf(c->budget[k], sizeof c->budget[k], "%ld", values[k]);
        kvs_set(&c->defaults, "solver", KEYS[k], c->budget[k], it->where);
    }
    return 0;
}

/* The network settings: the budget, [device] [data] [net] [solver], the [treatment ...] overrides,
   then -S. */
static int read_network_settings(ctx *c) {
    entries *es = c->es;
    int rc = derive_budget(c);
    for (int i = 0; i < es->n && rc == 0; i++) {
        entry *e = &es->e[i];
        for (size_t k = 0; k < CLT_ARRAY_LEN(NET_SECTIONS); k++)
            if (!strcmp(e->section, NET_SECTIONS[k])) {
                e->used = 1;
                rc = check_net_setting(e->section, e->key, e->value, e->where);
                if (rc == 0) kvs_set(&c->defaults, e->section, e->key, e->value, e->where);
            }
    }
    for (int i = 0; i < es->n && rc == 0; i++) {
        if (!starts_with(es->e[i].section, "treatment") || es->e[i].used) continue;
        rc = read_treatment_section(c, es->e[i].section);
    }
    for (int i = 0; i < c->opt->nnet_sets && rc == 0; i++) rc = add_net_set(c, c->opt->net_sets[i]);
    return rc;
}

/* Splits in file order, each with its data node; then the whole dataset; then their networks. */
static int expand_all(ctx *c, const long *layers, int nlayers, long repeats) {
    clt_study *s = c->s;
    entries *es = c->es;
    int rc = 0;
    for (int i = 0; i < es->n && rc == 0; i++) {
        const char *sec = es->e[i].section;
        if (!starts_with(sec, "split ")) continue;
        int seen = 0;
        for (int k = 0; k < s->nsplits; k++) seen |= !strcmp(s->splits[k].name, sec + 6);
        if (seen) continue;
        s->splits = clt_realloc(s->splits, (size_t)(s->nsplits + 1) * sizeof *s->splits);
        clt_study_split *sp = &s->splits[s->nsplits++];
        memset(sp, 0, sizeof *sp);
        rc = read_split(c, sec, sp);
        if (rc == 0) rc = add_data_node(c, sp->name, DATA_SPLIT, sp, 0, NULL);
    }
    int whole_data = 0;
    for (int i = 0; i < es->n; i++) whole_data |= !strcmp(es->e[i].section, "whole");
    if (rc == 0 && whole_data) rc = add_data_node(c, "whole", DATA_WHOLE, NULL, 0, NULL);
    for (int k = 0; k < s->nsplits && rc == 0; k++) {
        char sec[64];
        snprintf(sec, sizeof sec, "split %s", s->splits[k].name);
        rc = expand_split(c, sec, &s->splits[k], layers, nlayers, repeats);
    }
    if (rc == 0 && whole_data) rc = expand_whole(c, repeats);
    return rc;
}

/* After expansion: no key left unread, at least one network, a word on nets that validate once. */
static int check_expanded(ctx *c, const char *path) {
    clt_study *s = c->s;
    entries *es = c->es;
    for (int i = 0; i < es->n; i++) {
        entry *e = &es->e[i];
        if (e->used || known_key(e->section, e->key)) continue;
        clt_error("%s: unknown key '%s' in [%s]", e->where, e->key, e->section);
        return -1;
    }
    int nets = 0;
    for (int i = 0; i < s->nnodes; i++) nets += s->nodes[i].kind == CLT_NODE_NET;
    if (!nets) {
        clt_error("%s: the study has no networks: add a [split NAME] or [whole] section", path);
        return -1;
    }
    if (c->once)
        clt_warn("%s: %d networks validate only once, e.g. %s: their metric is that one value", path, c->once,
                 c->once_example);
    return 0;
}

static void ctx_free(ctx *c) {
    for (int i = 0; i < CLT_TREATMENTS; i++) free(c->per_treatment[i].v);
    free(c->defaults.v);
    free(c->net_sets.v);
    free(c->input);
    free(c->val_list);
    free(c->val_root);
    free(c->data_tool);
}

int clt_study_load(clt_study *s, const char *path, const clt_study_options *opt) {
    memset(s, 0, sizeof *s);
    char *run = NULL;
    entries es = {0};
    ctx c = {0};
    c.s = s;
    c.es = &es;
    c.opt = opt;
    long *layers = NULL, repeats = 1;
    int nlayers = 0;
    int rc = read_entries(&es, path, opt);
    s->source = clt_strdup(path);
    if (rc == 0) rc = read_study_section(&c, path, &run, &repeats);
    if (rc == 0) {
        entry *le = find(&es, "study", "layers");
        rc = parse_key_list("study", "layers", le ? le->value : "1-7", &layers, &nlayers, le ? le->where : path, "layers");
    }
    if (rc == 0) rc = read_source_section(&c, path, run);
    if (rc == 0) rc = read_network_settings(&c);
    if (rc == 0) rc = expand_all(&c, layers, nlayers, repeats);
    if (rc == 0) rc = check_expanded(&c, path);
    if (rc == 0) sort_by_stage(s);
    free(layers);
    free(run);
    ctx_free(&c);
    entries_free(&es);
    if (rc != 0) clt_study_free(s);
    return rc;
}

void clt_study_free(clt_study *s) {
    for (int i = 0; i < s->nnodes; i++) {
        clt_study_node *n = &s->nodes[i];
        free(n->id);
        free(n->name);
        free(n->dir);
        free(n->file);
        free(n->text);
        free(n->done);
        free(n->log);
        free(n->deps);
    }
    for (int i = 0; i < s->nsplits; i++) {
        free(s->splits[i].a);
        free(s->splits[i].b);
    }
    free(s->splits);
    free(s->nodes);
    free(s->source);
    free(s->run_dir);
    free(s->packs_dir);
    free(s->description);
    memset(s, 0, sizeof *s);
}
