/* config.c — the INI schema as a table of keys, read with the project's INI reader; every key is typed, bounded and
   documented here, so unknown keys can be refused and the effective config written back. */
#include "net/config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/treatment.h"
#include "util/ini.h"
#include "util/util.h"

typedef enum key_type { T_STR, T_INT, T_I64, T_F64, T_BOOL, T_ENUM, T_WIDTHS } key_type;

typedef struct key_spec {
    const char *section, *key;
    key_type type;
    size_t offset, size;
    double min, max;        /* numeric bounds, inclusive */
    const char *choices;    /* T_ENUM: '|'-separated */
    const char *help;
} key_spec;

#define OFF(f) offsetof(clt_config, f), sizeof(((clt_config *)0)->f)
static const key_spec KEYS[] = {
    {"run", "name", T_STR, OFF(name), 0, 0, NULL, "network name (default: the config file's name)"},
    {"run", "output", T_STR, OFF(output), 0, 0, NULL, "output folder (default: runs/NAME)"},
    {"run", "seed", T_I64, OFF(seed), 0, 9.0e15, NULL, "seed of initialisation, data order, crops and dropout"},
    {"device", "select", T_STR, OFF(device), 0, 0, NULL, "device index or name substring (default: first GPU, else first device)"},
    {"data", "train", T_STR, OFF(train), 0, 0, NULL, "training pack (required)"},
    {"data", "val", T_STR, OFF(val), 0, 0, NULL, "validation pack (required)"},
    {"data", "mean", T_STR, OFF(mean), 0, 0, NULL, "mean image file; default: the base net's for transfer runs, else the training pack's"},
    {"data", "mean_kind", T_ENUM, OFF(mean_kind), 0, 0, "image|channel", "image: subtract the mean image (Caffe's); channel: each channel's average of it"},
    {"data", "crop", T_INT, OFF(crop), 0, 100000, NULL, "square crop side; 0 = whole image"},
    {"data", "mirror", T_BOOL, OFF(mirror), 0, 0, NULL, "random horizontal mirroring in training"},
    {"data", "scale", T_F64, OFF(scale), 1e-9, 1e9, NULL, "factor applied after mean subtraction"},
    {"data", "batch", T_INT, OFF(batch), 1, 65536, NULL, "training batch size"},
    {"data", "val_batch", T_INT, OFF(val_batch), 1, 65536, NULL, "validation batch size"},
    {"data", "threads", T_INT, OFF(threads), 0, 1024, NULL, "decode threads; 0 = all cores"},
    {"data", "classes", T_INT, OFF(classes), 0, 1000000, NULL, "class count; 0 = from the training pack"},
    {"net", "arch", T_ENUM, OFF(arch), 0, 0, "caffenet|small", "caffenet (3x227x227) or small (the same eight layers for small images)"},
    {"net", "fc8", T_INT, OFF(fc8), 0, 1000000, NULL, "fc8 width; 0 = the class count (1000 for exact replication)"},
    {"net", "dropout", T_F64, OFF(dropout), 0, 0.99, NULL, "dropout ratio after fc6 and fc7"},
    {"net", "init", T_ENUM, OFF(init), 0, 0, "|gaussian|he", "weight init: gaussian (Caffe's, per layer) or he; default: the arch's"},
    {"net", "widths", T_WIDTHS, OFF(widths), 1, 1000000, NULL, "conv1..conv5,fc6,fc7 output widths, 7 comma-separated numbers; default: the arch's"},
    {"solver", "base_lr", T_F64, OFF(base_lr), 0, 100, NULL, "learning rate"},
    {"solver", "momentum", T_F64, OFF(momentum), 0, 0.9999, NULL, "SGD momentum"},
    {"solver", "weight_decay", T_F64, OFF(weight_decay), 0, 1, NULL, "L2 weight decay on weights (biases: none)"},
    {"solver", "lr_policy", T_ENUM, OFF(lr_policy), 0, 0, "step|fixed", "step: lr · gamma^floor(iter/stepsize); fixed: lr = base_lr"},
    {"solver", "momentum_form", T_ENUM, OFF(momentum_form), 0, 0, "caffe|pytorch", "caffe: h = m·h + lr·g, w -= h; pytorch: h = m·h + g, w -= lr·h (they differ after an lr drop)"},
    {"solver", "gamma", T_F64, OFF(gamma), 0, 1, NULL, "step factor"},
    {"solver", "stepsize", T_I64, OFF(stepsize), 1, 1e12, NULL, "iterations per lr step"},
    {"solver", "max_iter", T_I64, OFF(max_iter), 1, 1e12, NULL, "training iterations"},
    {"solver", "test_interval", T_I64, OFF(test_interval), 1, 1e12, NULL, "validate every this many iterations (and at the end)"},
    {"solver", "test_initialization", T_BOOL, OFF(test_initialization), 0, 0, NULL, "also validate before the first iteration"},
    {"solver", "snapshot", T_I64, OFF(snapshot), 1, 1e12, NULL, "snapshot every this many iterations"},
    {"solver", "display", T_I64, OFF(display), 1, 1e12, NULL, "log the training loss every this many iterations"},
    {"transfer", "base", T_STR, OFF(base), 0, 0, NULL, "checkpoint whose layers 1..n are copied (frozen, finetune)"},
    {"transfer", "layers", T_INT, OFF(layers), 0, 7, NULL, "n: layers 1..n copied (or random) and frozen or fine-tuned"},
    {"transfer", "mode", T_ENUM, OFF(mode), 0, 0, "none|frozen|finetune|random", "none, frozen (AnB), finetune (AnB+), random (random and frozen)"},
    {"study", "treatment", T_ENUM, OFF(treatment), 0, 0, CLT_TREATMENT_CHOICES, "the study's treatment name"},
    {"study", "split", T_STR, OFF(split), 0, 0, NULL, "split name (e.g. 0, natman, dissimilar)"},
    {"study", "base", T_ENUM, OFF(base_half), 0, 0, "|A|B", "half the copied layers come from"},
    {"study", "target", T_ENUM, OFF(target_half), 0, 0, "|A|B|all", "half the net is trained on"},
    {"study", "repeat", T_INT, OFF(repeat), 0, 1000000, NULL, "repeat number"},
    {"study", "per_class", T_INT, OFF(per_class), 0, 100000000, NULL, "reduced nets: training examples per class (0: all)"},
};
#undef OFF

static const char *SECTIONS[] = {"run", "device", "data", "net", "solver", "transfer", "study"};

void clt_config_defaults(clt_config *c) {
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->crop = 0;
    c->mirror = false;
    c->scale = 1.0;
    c->batch = 256;
    c->val_batch = 50;
    snprintf(c->arch, sizeof c->arch, "caffenet");
    c->dropout = 0.5;
    c->base_lr = 0.01;
    c->momentum = 0.9;
    c->weight_decay = 0.0005;
    snprintf(c->lr_policy, sizeof c->lr_policy, "step");
    snprintf(c->momentum_form, sizeof c->momentum_form, "caffe");
    snprintf(c->mean_kind, sizeof c->mean_kind, "image");
    c->gamma = 0.1;
    c->stepsize = 100000;
    c->max_iter = 450000;
    c->test_interval = 1000;
    c->snapshot = 10000;
    c->display = 20;
    snprintf(c->mode, sizeof c->mode, "none");
}

static const key_spec *find_key(const char *section, const char *key) {
    for (size_t i = 0; i < CLT_ARRAY_LEN(KEYS); i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].key, key)) return &KEYS[i];
    return NULL;
}

static bool known_section(const char *s) {
    for (size_t i = 0; i < CLT_ARRAY_LEN(SECTIONS); i++)
        if (!strcmp(SECTIONS[i], s)) return true;
    return false;
}

static bool enum_has(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return true;
        if (!bar) return false;
        p = bar + 1;
    }
}

/* Sets one key; on error writes why into err. */
static int set_value(clt_config *c, const key_spec *k, const char *value, char *err, size_t errn) {
    char *dst = (char *)c + k->offset;
    char *end;
    errno = 0;
    switch (k->type) {
    case T_STR:
    case T_ENUM:
        if (!clt_ini_value_writable(value)) {
            snprintf(err, errn, "%s.%s: '%s' holds a control character, space at an end or ' ;' / ' #', which "
                     "config.ini could not hold", k->section, k->key, value);
            return -1;
        }
        if (strlen(value) >= k->size) {
            snprintf(err, errn, "%s.%s: value is longer than %zu characters", k->section, k->key, k->size - 1);
            return -1;
        }
        if (k->type == T_ENUM && !enum_has(k->choices, value)) {
            snprintf(err, errn, "%s.%s: '%s' is not one of %s", k->section, k->key, value, k->choices);
            return -1;
        }
        memcpy(dst, value, strlen(value) + 1);
        return 0;
    case T_BOOL:
        if (!strcasecmp(value, "true") || !strcmp(value, "1") || !strcasecmp(value, "yes") || !strcasecmp(value, "on"))
            *(bool *)dst = true;
        else if (!strcasecmp(value, "false") || !strcmp(value, "0") || !strcasecmp(value, "no") || !strcasecmp(value, "off"))
            *(bool *)dst = false;
        else {
            snprintf(err, errn, "%s.%s: '%s' is not true or false", k->section, k->key, value);
            return -1;
        }
        return 0;
    case T_WIDTHS: {
        int w[7], n = 0;
        const char *p = value;
        while (*p && n < 8) {
            long v = strtol(p, &end, 10);
            if (end == p || errno || v < k->min || v > k->max) break;
            if (n < 7) w[n] = (int)v;
            n++;
            p = end;
            while (isspace((unsigned char)*p)) p++;
            if (*p == ',') p++;
            while (isspace((unsigned char)*p)) p++;
        }
        if (n != 7 || *p) {
            snprintf(err, errn, "%s.%s: '%s' is not 7 comma-separated widths in %g..%g", k->section, k->key, value,
                     k->min, k->max);
            return -1;
        }
        memcpy(dst, w, sizeof w);
        return 0;
    }
    default: break;
    }
    double v = strtod(value, &end);
    while (isspace((unsigned char)*end)) end++;
    if (end == value || *end || isnan(v)) {
        snprintf(err, errn, "%s.%s: '%s' is not a number", k->section, k->key, value);
        return -1;
    }
    /* 1e309 and inf are numbers, only too large for any key */
    if ((errno == ERANGE && v != 0) || isinf(v)) {
        snprintf(err, errn, "%s.%s: %s is out of range %g..%g", k->section, k->key, value, k->min, k->max);
        return -1;
    }
    if ((k->type == T_INT || k->type == T_I64) && v != floor(v)) {
        snprintf(err, errn, "%s.%s: '%s' is not a whole number", k->section, k->key, value);
        return -1;
    }
    if (v < k->min || v > k->max) {
        snprintf(err, errn, "%s.%s: %s is out of range %g..%g", k->section, k->key, value, k->min, k->max);
        return -1;
    }
    if (k->type == T_INT) *(int *)dst = (int)v;
    if (k->type == T_I64) *(int64_t *)dst = (int64_t)v;
    if (k->type == T_F64) *(double *)dst = v;
    return 0;
}

/* Sets one key read at path:line; errors name both. */
static int apply(clt_config *c, const char *path, const clt_ini_entry *e) {
    if (!known_section(e->section)) {
        clt_error("%s:%d: unknown section [%s] (sections: run, device, data, net, solver, transfer, study)", path,
                  e->section_line, e->section);
        return -1;
    }
    const key_spec *k = find_key(e->section, e->key);
    if (!k) {
        clt_error("%s:%d: unknown key '%s' in [%s]", path, e->line, e->key, e->section);
        return -1;
    }
    char err[512];
    if (set_value(c, k, e->value, err, sizeof err) != 0) {
        clt_error("%s:%d: %s", path, e->line, err);
        return -1;
    }
    return 0;
}

/* The project's one INI dialect (src/util/ini.h), without continuation lines: no key takes a
   multi-line value. */
static const clt_ini_dialect CONFIG_DIALECT = {CLT_INI_MAX_BYTES, false};

static int apply_all(clt_config *c, const char *path, clt_ini *ini) {
    int rc = 0;
    for (int i = 0; rc == 0 && i < ini->n; i++) rc = apply(c, path, &ini->e[i]);
    clt_ini_free(ini);
    if (rc == 0) snprintf(c->source, sizeof c->source, "%s", path);
    return rc;
}

int clt_config_parse(clt_config *c, const char *path, const char *text) {
    clt_ini ini;
    if (clt_ini_parse(&ini, path, text, strlen(text), &CONFIG_DIALECT) != 0) return -1;
    return apply_all(c, path, &ini);
}

int clt_config_load(clt_config *c, const char *path) {
    clt_ini ini;
    if (clt_ini_load(&ini, path, &CONFIG_DIALECT) != 0) return -1;
    return apply_all(c, path, &ini);
}

int clt_config_set(clt_config *c, const char *assignment) {
    const char *dot = strchr(assignment, '.'), *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq) {
        clt_error("-s %s: expected section.key=value", assignment);
        return -1;
    }
    char section[64], key[64];
    if ((size_t)(dot - assignment) >= sizeof section || (size_t)(eq - dot - 1) >= sizeof key) {
        clt_error("-s %s: section or key too long", assignment);
        return -1;
    }
    snprintf(section, sizeof section, "%.*s", (int)(dot - assignment), assignment);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    const key_spec *k = find_key(section, key);
    if (!k) {
        if (known_section(section))
            clt_error("-s %s: unknown key '%s' in [%s]", assignment, key, section);
        else
            clt_error("-s %s: unknown section '%s'", assignment, section);
        return -1;
    }
    char err[512];
    if (set_value(c, k, eq + 1, err, sizeof err) != 0) {
        clt_error("-s %s: %s", assignment, err);
        return -1;
    }
    return 0;
}

clt_mode clt_config_mode(const clt_config *c) {
    if (!strcmp(c->mode, "frozen")) return CLT_MODE_FROZEN;
    if (!strcmp(c->mode, "finetune")) return CLT_MODE_FINETUNE;
    if (!strcmp(c->mode, "random")) return CLT_MODE_RANDOM;
    return CLT_MODE_NONE;
}

int clt_config_validate(const clt_config *c) {
    const char *src = c->source[0] ? c->source : "config";
    if (!c->train[0] || !c->val[0]) {
        clt_error("%s: [data] needs both 'train' and 'val' packs", src);
        return -1;
    }
    clt_mode m = clt_config_mode(c);
    if ((m == CLT_MODE_FROZEN || m == CLT_MODE_FINETUNE) && !c->base[0]) {
        clt_error("%s: [transfer] mode = %s needs 'base', the checkpoint to copy layers from", src, c->mode);
        return -1;
    }
    if (m != CLT_MODE_NONE && (c->layers < 1 || c->layers > 7)) {
        clt_error("%s: [transfer] mode = %s needs 'layers' in 1..7", src, c->mode);
        return -1;
    }
    if (m == CLT_MODE_NONE && (c->base[0] || c->layers)) {
        clt_error("%s: [transfer] 'base' and 'layers' need a mode (frozen, finetune or random)", src);
        return -1;
    }
    if (m == CLT_MODE_RANDOM && c->base[0]) {
        clt_error("%s: [transfer] mode = random takes no 'base': its layers 1..n are random", src);
        return -1;
    }
    return 0;
}

static void write_value(const clt_config *c, const key_spec *k, FILE *out) {
    const char *src = (const char *)c + k->offset;
    switch (k->type) {
    case T_STR:
    case T_ENUM: fprintf(out, "%s", src); break;
    case T_INT: fprintf(out, "%d", *(const int *)src); break;
    case T_I64: fprintf(out, "%lld", (long long)*(const int64_t *)src); break;
    case T_F64: fprintf(out, "%.15g", *(const double *)src); break;
    case T_BOOL: fprintf(out, "%s", *(const bool *)src ? "true" : "false"); break;
    case T_WIDTHS: {
        const int *w = (const int *)src;
        if (w[0]) fprintf(out, "%d,%d,%d,%d,%d,%d,%d", w[0], w[1], w[2], w[3], w[4], w[5], w[6]);
        break;
    }
    }
}

static char *value_text(const clt_config *c, const key_spec *k) {
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    write_value(c, k, mem);
    fclose(mem);
    return text;
}

int clt_config_differences(const clt_config *now, const clt_config *before, const char *const *may_differ,
                           char *out, size_t n) {
    int count = 0;
    size_t used = 0;
    if (n) out[0] = 0;
    for (size_t i = 0; i < CLT_ARRAY_LEN(KEYS); i++) {
        const key_spec *k = &KEYS[i];
        char name[96];
        snprintf(name, sizeof name, "%s.%s", k->section, k->key);
        bool free_to_differ = false;
        for (const char *const *m = may_differ; m && *m; m++) free_to_differ |= !strcmp(*m, name);
        if (free_to_differ) continue;
        char *a = value_text(now, k), *b = value_text(before, k);
        if (strcmp(a, b)) {
            if (used < n)
                used += (size_t)snprintf(out + used, n - used, "%s%s = %s (the run has %s)", count ? "; " : "", name, a,
                                         b[0] ? b : "no value");
            count++;
        }
        free(a), free(b);
    }
    return count;
}

void clt_config_write(const clt_config *c, FILE *out) {
    for (size_t s = 0; s < CLT_ARRAY_LEN(SECTIONS); s++) {
        fprintf(out, "%s[%s]\n", s ? "\n" : "", SECTIONS[s]);
        for (size_t i = 0; i < CLT_ARRAY_LEN(KEYS); i++) {
            if (strcmp(KEYS[i].section, SECTIONS[s])) continue;
            const char *src = (const char *)c + KEYS[i].offset;
            bool empty = (KEYS[i].type == T_STR || KEYS[i].type == T_ENUM) && !src[0];
            bool no_widths = KEYS[i].type == T_WIDTHS && !((const int *)src)[0];
            if (empty || no_widths) continue; /* unset optional keys keep their default meaning */
            fprintf(out, "%s = ", KEYS[i].key);
            write_value(c, &KEYS[i], out);
            fputc('\n', out);
        }
    }
}

void clt_config_print_schema(FILE *out) {
    clt_config d;
    clt_config_defaults(&d);
    const char *last = "";
    for (size_t i = 0; i < CLT_ARRAY_LEN(KEYS); i++) {
        const key_spec *k = &KEYS[i];
        if (strcmp(last, k->section)) fprintf(out, "\n  [%s]\n", last = k->section);
        fprintf(out, "    %-20s %s", k->key, k->help);
        const char *src = (const char *)&d + k->offset;
        bool has_default = !((k->type == T_STR || k->type == T_ENUM) && !src[0]) &&
                           !(k->type == T_WIDTHS) && !(k->type == T_INT && !*(const int *)src && k->min > 0);
        if (has_default) {
            fprintf(out, " [");
            write_value(&d, k, out);
            fprintf(out, "]");
        }
        fputc('\n', out);
    }
}
