/* tuning.c — the CLBlast tuning database: parsing, matching a device, applying entries with
   CLBlastOverrideParameters, storing tuned entries, and reporting what is in effect. */
#include "device/tuning.h"

#include <clblast_c.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/device.h"
#include "device/clblast.h"

const char *const clt_tuning_gemm_kernels[] = {"Xgemm", "XgemmDirect", "GemmRoutine", "Copy",
                                               "Pad", "Transpose", "Padtranspose"};
const int clt_tuning_n_gemm_kernels = (int)CLT_ARRAY_LEN(clt_tuning_gemm_kernels);

/* Every kernel CLBlast 1.5 has a database for; a name outside this list is a typo. */
static const char *const known_kernels[] = {"Xaxpy", "Xdot", "Xgemv", "XgemvFast", "XgemvFastRot", "Xger",
                                            "Xgemm", "XgemmDirect", "Xconvgemm", "Copy", "Pad", "Transpose",
                                            "Padtranspose", "Invert", "GemmRoutine", "TrsvRoutine"};

/* ---- parsing ---- */

const char *const clt_gemm_class_names[CLT_GEMM_N_CLASSES] = {"wide", "narrow", "longk", "tn"};

/* KERNEL or KERNEL/CLASS; a class only for the kernels clt_gemm runs. */
static bool known_kernel(const char *k) {
    const char *slash = strchr(k, '/');
    size_t len = slash ? (size_t)(slash - k) : strlen(k);
    bool known = false, gemm = false;
    for (size_t i = 0; i < CLT_ARRAY_LEN(known_kernels); i++)
        known |= strlen(known_kernels[i]) == len && !strncmp(known_kernels[i], k, len);
    for (int i = 0; i < clt_tuning_n_gemm_kernels; i++)
        gemm |= strlen(clt_tuning_gemm_kernels[i]) == len && !strncmp(clt_tuning_gemm_kernels[i], k, len);
    if (!known || !slash) return known && !slash;
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++)
        if (gemm && !strcmp(slash + 1, clt_gemm_class_names[c])) return true;
    return false;
}

static bool valid_type(const char *t) {
    return !strcmp(t, "*") || !strcasecmp(t, "CPU") || !strcasecmp(t, "GPU") || !strcasecmp(t, "ACCELERATOR");
}

/* Splits one line into entry e; returns NULL on success or a message. */
static const char *parse_line(char *line, clt_tuning_entry *e) {
    char *cols[8];
    int nc = 0;
    char *p = line;
    for (;;) {
        char *bar = strchr(p, '|');
        if (nc == 8) return "too many '|'-separated columns (want 7: kernel | type | platform | device | driver | simd | params)";
        cols[nc++] = p;
        if (!bar) break;
        *bar = 0;
        p = bar + 1;
    }
    if (nc != 7) return "want 7 '|'-separated columns: kernel | type | platform | device | driver | simd | params";
    for (int i = 0; i < 7; i++) cols[i] = clt_trim(cols[i]);
    for (int i = 0; i < 6; i++)
        if (!*cols[i]) return "empty column (use * to match anything)";
    if (!known_kernel(cols[0]))
        return "unknown CLBlast kernel name (or KERNEL/CLASS with a class other than wide, narrow, longk, tn)";
    if (!valid_type(cols[1])) return "type must be CPU, GPU, ACCELERATOR or *";
    if (strcmp(cols[5], "*")) {
        for (const char *s = cols[5]; *s; s++)
            if (!isdigit((unsigned char)*s)) return "simd must be a number or *";
    }
    snprintf(e->kernel, sizeof e->kernel, "%s", cols[0]);
    e->n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(cols[6], " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok) return "parameters must be NAME=value";
        *eq = 0;
        for (const char *s = tok; *s; s++)
            if (!(isupper((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_'))
                return "parameter names are upper case (A-Z, 0-9, _)";
        if (strlen(tok) >= sizeof e->names[0]) return "parameter name too long";
        const char *v = eq + 1;
        if (!*v) return "parameter without a value";
        for (const char *s = v; *s; s++)
            if (!isdigit((unsigned char)*s)) return "parameter values are unsigned integers";
        for (int i = 0; i < e->n; i++)
            if (!strcmp(e->names[i], tok)) return "parameter given twice";
        if (e->n == CLT_TUNING_MAX_PARAMS) return "too many parameters";
        snprintf(e->names[e->n], sizeof e->names[0], "%s", tok);
        e->values[e->n++] = strtoull(v, NULL, 10);
    }
    if (e->n == 0) return "no parameters";
    char why[200];
    char base[32];
    snprintf(base, sizeof base, "%.*s", (int)strcspn(e->kernel, "/"), e->kernel);
    if (!clt_tuning_valid(base, e->n, (const char(*)[32])e->names, e->values, why, sizeof why)) {
        static char msg[300];
        snprintf(msg, sizeof msg, "parameters break %s's rules: %s", e->kernel, why);
        return msg;
    }
    e->type = clt_strdup(cols[1]);
    e->platform = clt_strdup(cols[2]);
    e->device = clt_strdup(cols[3]);
    e->driver = clt_strdup(cols[4]);
    e->simd = clt_strdup(cols[5]);
    return NULL;
}

int clt_tuning_parse(clt_tuning_db *db, const char *text, const char *source) {
    const char *p = text;
    int lineno = 0;
    while (*p) {
        lineno++;
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char *line = clt_malloc(len + 1);
        memcpy(line, p, len);
        line[len] = 0;
        p += len + (nl ? 1 : 0);
        char *t = clt_trim(line);
        if (!*t || *t == '#') {
            free(line);
            continue;
        }
        clt_tuning_entry e;
        memset(&e, 0, sizeof e);
        const char *why = parse_line(t, &e);
        free(line);
        if (why) {
            clt_error("%s:%d: %s", source, lineno, why);
            return -1;
        }
        e.source = clt_strdup(source);
        e.line = lineno;
        db->entries = clt_realloc(db->entries, (db->n + 1) * sizeof *db->entries);
        db->entries[db->n++] = e;
    }
    return 0;
}

int clt_tuning_load(clt_tuning_db *db, const char *path) {
    if (!clt_file_exists(path)) return 0;
    size_t len;
    char *text = clt_read_file(path, &len);
    if (!text) return -1;
    if (memchr(text, 0, len)) {
        clt_error("%s: not a text file", path);
        free(text);
        return -1;
    }
    int r = clt_tuning_parse(db, text, path);
    free(text);
    return r;
}

void clt_tuning_free(clt_tuning_db *db) {
    for (int i = 0; i < db->n; i++) {
        clt_tuning_entry *e = &db->entries[i];
        free(e->type), free(e->platform), free(e->device), free(e->driver), free(e->simd), free(e->source);
    }
    free(db->entries);
    db->entries = NULL;
    db->n = 0;
}

/* ---- matching ---- */

static bool glob(const char *pattern, const char *s) { return fnmatch(pattern, s, FNM_CASEFOLD) == 0; }

bool clt_tuning_matches(const clt_tuning_entry *e, const clt_tuning_key *key) {
    return glob(e->type, key->type) && glob(e->platform, key->platform) && glob(e->device, key->device) &&
           glob(e->driver, key->driver) && glob(e->simd, key->simd);
}

const clt_tuning_entry *clt_tuning_find(const clt_tuning_db *db, const clt_tuning_key *key, const char *kernel) {
    for (int i = 0; i < db->n; i++)
        if (!strcmp(db->entries[i].kernel, kernel) && clt_tuning_matches(&db->entries[i], key))
            return &db->entries[i];
    return NULL;
}

void clt_tuning_key_of(const clt_device *d, clt_tuning_key *key) {
    memset(key, 0, sizeof *key);
    snprintf(key->type, sizeof key->type, "%s",
             (d->type & CL_DEVICE_TYPE_GPU) ? "GPU" : (d->type & CL_DEVICE_TYPE_CPU) ? "CPU"
             : (d->type & CL_DEVICE_TYPE_ACCELERATOR) ? "ACCELERATOR" : "OTHER");
    snprintf(key->platform, sizeof key->platform, "%s", d->platform_name);
    snprintf(key->device, sizeof key->device, "%s", d->name);
    snprintf(key->driver, sizeof key->driver, "%s", d->driver_version);
    snprintf(key->simd, sizeof key->simd, "%u", d->simd_floats);
}

/* ---- kernel rules ---- */

size_t clt_tuning_get(int n, const char (*names)[32], const size_t *values, const char *name, size_t fallback) {
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name)) return values[i];
    return fallback;
}

static bool pow2_upto16(size_t v) { return v == 1 || v == 2 || v == 4 || v == 8 || v == 16; }

#define RULE(cond, ...)                                         \
    do {                                                        \
        if (!(cond)) {                                          \
            snprintf(why, why_len, __VA_ARGS__);                \
            return false;                                       \
        }                                                       \
    } while (0)

bool clt_tuning_valid(const char *kernel, int n, const char (*names)[32], const size_t *values, char *why,
                      size_t why_len) {
#define G(name) clt_tuning_get(n, names, values, name, 0)
    /* Only complete tile sets are checked: a partial entry is completed from CLBlast's defaults
       and checked again when applied. */
    if (!strcmp(kernel, "Xgemm") && G("MWG") && G("NWG") && G("KWG") && G("MDIMC") && G("NDIMC") && G("MDIMA") &&
        G("NDIMB") && G("KWI") && G("VWM") && G("VWN")) {
        size_t mwg = G("MWG"), nwg = G("NWG"), kwg = G("KWG"), mdimc = G("MDIMC"), ndimc = G("NDIMC");
        size_t mdima = G("MDIMA"), ndimb = G("NDIMB"), kwi = G("KWI"), vwm = G("VWM"), vwn = G("VWN");
        size_t gemmk = G("GEMMK"), kreg = clt_tuning_get(n, names, values, "KREG", 1);
        RULE(pow2_upto16(vwm) && pow2_upto16(vwn), "VWM and VWN must be 1, 2, 4, 8 or 16");
        RULE(kwg % kwi == 0, "KWG=%zu is not a multiple of KWI=%zu", kwg, kwi);
        RULE(mwg % (mdimc * vwm) == 0, "MWG=%zu is not a multiple of MDIMC*VWM=%zu", mwg, mdimc * vwm);
        RULE(nwg % (ndimc * vwn) == 0, "NWG=%zu is not a multiple of NDIMC*VWN=%zu", nwg, ndimc * vwn);
        RULE(mwg % (mdima * vwm) == 0, "MWG=%zu is not a multiple of MDIMA*VWM=%zu", mwg, mdima * vwm);
        RULE(nwg % (ndimb * vwn) == 0, "NWG=%zu is not a multiple of NDIMB*VWN=%zu", nwg, ndimb * vwn);
        if (gemmk == 0) {
            RULE((mdimc * ndimc) % mdima == 0 && (mdimc * ndimc) % ndimb == 0,
                 "MDIMC*NDIMC=%zu must be a multiple of MDIMA and NDIMB", mdimc * ndimc);
            RULE(kwg % (mdimc * ndimc / mdima) == 0 && kwg % (mdimc * ndimc / ndimb) == 0,
                 "KWG=%zu must be a multiple of MDIMC*NDIMC/MDIMA and MDIMC*NDIMC/NDIMB", kwg);
        } else {
            RULE(gemmk == 1, "GEMMK must be 0 or 1");
            RULE(kreg % vwn == 0, "KREG=%zu is not a multiple of VWN=%zu", kreg, vwn);
        }
    }
    if (!strcmp(kernel, "XgemmDirect") && G("WGD") && G("MDIMCD") && G("NDIMCD") && G("MDIMAD") && G("NDIMBD") &&
        G("KWID") && G("VWMD") && G("VWND")) {
        size_t wgd = G("WGD"), mdimc = G("MDIMCD"), ndimc = G("NDIMCD"), mdima = G("MDIMAD"), ndimb = G("NDIMBD");
        size_t kwi = G("KWID"), vwm = G("VWMD"), vwn = G("VWND");
        RULE(pow2_upto16(vwm) && pow2_upto16(vwn), "VWMD and VWND must be 1, 2, 4, 8 or 16");
        RULE(wgd % kwi == 0, "WGD=%zu is not a multiple of KWID=%zu", wgd, kwi);
        RULE(wgd % (mdimc * vwm) == 0 && wgd % (mdima * vwm) == 0,
             "WGD=%zu must be a multiple of MDIMCD*VWMD and MDIMAD*VWMD", wgd);
        RULE(wgd % (ndimc * vwn) == 0 && wgd % (ndimb * vwn) == 0,
             "WGD=%zu must be a multiple of NDIMCD*VWND and NDIMBD*VWND", wgd);
        RULE((mdimc * ndimc) % mdima == 0 && (mdimc * ndimc) % ndimb == 0,
             "MDIMCD*NDIMCD=%zu must be a multiple of MDIMAD and NDIMBD", mdimc * ndimc);
        RULE(wgd % (mdimc * ndimc / mdima) == 0 && wgd % (mdimc * ndimc / ndimb) == 0,
             "WGD=%zu must be a multiple of MDIMCD*NDIMCD/MDIMAD and MDIMCD*NDIMCD/NDIMBD", wgd);
    }
#undef G
    return true;
}
#undef RULE

/* ---- where the databases live ---- */

char *clt_tuning_user_path(void) {
    const char *env = getenv("CLTRANSFER_CACHE_DIR");
    if (env && *env) return clt_path_join(env, "tuning.txt");
    const char *xdg = getenv("XDG_CACHE_HOME");
    char *dir = (xdg && *xdg) ? clt_path_join(xdg, "cltransfer") : NULL;
    if (!dir) {
        const char *home = getenv("HOME");
        dir = (home && *home) ? clt_path_join(home, ".cache/cltransfer") : clt_strdup("/tmp/cltransfer-cache");
    }
    char *p = clt_path_join(dir, "tuning.txt");
    free(dir);
    return p;
}

char *clt_tuning_repo_path(void) {
    /* conf/ sits beside cl/ in the source tree and in share/cltransfer, so the kernels' folder
       finds it too; the other places cover a binary run from its build folder. */
    char *candidates[6] = {0};
    int n = 0;
    char *kdir = clt_find_kernel_dir();
    if (kdir) {
        candidates[n++] = clt_path_join(kdir, "../conf/clblast-tuning.txt");
        free(kdir);
    }
    char *exe = clt_exe_dir();
    if (exe) {
        candidates[n++] = clt_path_join(exe, "conf/clblast-tuning.txt");
        candidates[n++] = clt_path_join(exe, "../share/cltransfer/conf/clblast-tuning.txt");
        free(exe);
    }
    candidates[n++] = clt_strdup(CLT_INSTALL_DATADIR "/conf/clblast-tuning.txt");
    candidates[n++] = clt_strdup(CLT_SOURCE_DIR "/conf/clblast-tuning.txt");
    char *found = NULL;
    for (int i = 0; i < n; i++) {
        if (!found && clt_file_exists(candidates[i])) found = clt_strdup(candidates[i]);
        free(candidates[i]);
    }
    return found;
}

/* Escapes glob characters so a stored pattern matches exactly this string; '|' cannot be stored
   and becomes '?'. */
static void escape_into(char *out, size_t cap, const char *s) {
    size_t j = 0;
    for (; *s && j + 3 < cap; s++) {
        if (*s == '|') out[j++] = '?';
        else {
            if (strchr("*?[]\\", *s)) out[j++] = '\\';
            out[j++] = *s;
        }
    }
    out[j] = 0;
}

/* A device key as clt_tuning_store writes it: every column escaped. */
typedef struct escaped_key {
    char type[64], platform[600], device[600], driver[300], simd[40];
} escaped_key;

static void escape_key(const clt_tuning_key *key, escaped_key *out) {
    escape_into(out->type, sizeof out->type, key->type);
    escape_into(out->platform, sizeof out->platform, key->platform);
    escape_into(out->device, sizeof out->device, key->device);
    escape_into(out->driver, sizeof out->driver, key->driver);
    escape_into(out->simd, sizeof out->simd, key->simd);
}

static bool stored_for(const clt_tuning_entry *e, const escaped_key *k) {
    return !strcmp(e->type, k->type) && !strcmp(e->platform, k->platform) && !strcmp(e->device, k->device) &&
           !strcmp(e->driver, k->driver) && !strcmp(e->simd, k->simd);
}

/* ---- exact entries ---- */

bool clt_tuning_exact_for(const clt_tuning_entry *e, const clt_tuning_key *key) {
    escaped_key k;
    escape_key(key, &k);
    return stored_for(e, &k);
}

int clt_tuning_has_exact(const char *path, const clt_tuning_key *key, bool *found) {
    clt_tuning_db db = {0};
    *found = false;
    if (clt_tuning_load(&db, path) != 0) return -1;
    for (int i = 0; i < db.n && !*found; i++)
        *found = !strcmp(db.entries[i].kernel, "Xgemm") && clt_tuning_exact_for(&db.entries[i], key);
    clt_tuning_free(&db);
    return 0;
}

/* ---- storing ---- */

int clt_tuning_store(const char *path, const clt_tuning_key *key, int n_kernels, const char *const *kernels,
                     const int *n_params, const char (*const *names)[32], const size_t *const *values,
                     const char *comment) {
    escaped_key esc;
    escape_key(key, &esc);

    /* Keep every line except the ones this store replaces; a corrupt file is refused rather than
       silently rewritten. */
    clt_tuning_db old = {0};
    if (clt_tuning_load(&old, path) != 0) return -1;
    size_t cap = 4096, len = 0;
    char *out = clt_malloc(cap);
    out[0] = 0;
#define APPEND(...)                                                           \
    do {                                                                      \
        int need_ = snprintf(NULL, 0, __VA_ARGS__);                           \
        if (len + need_ + 1 > cap) out = clt_realloc(out, cap = (len + need_ + 1) * 2); \
        len += sprintf(out + len, __VA_ARGS__);                               \
    } while (0)
    size_t tlen = 0;
    char *text = clt_file_exists(path) ? clt_read_file(path, &tlen) : NULL;
    if (!text) APPEND("# cltransfer CLBlast tuning database (format: src/device/tuning.h); written by cltransfer-bench tune\n"
                      "# kernel | type | platform | device | driver | simd | parameters\n");
    int lineno = 0;
    for (const char *p = text; p && *p;) {
        lineno++;
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        bool drop = false;
        for (int i = 0; i < old.n && !drop; i++) {
            const clt_tuning_entry *e = &old.entries[i];
            if (e->line != lineno) continue;
            for (int k = 0; k < n_kernels; k++)
                if (!strcmp(e->kernel, kernels[k]) && stored_for(e, &esc)) drop = true;
        }
        if (!drop) APPEND("%.*s\n", (int)l, p);
        p += l + (nl ? 1 : 0);
    }
    free(text);
    clt_tuning_free(&old);
    if (comment) APPEND("# %s\n", comment);
    for (int k = 0; k < n_kernels; k++) {
        if (n_params[k] == 0) continue; /* dropped, not replaced */
        APPEND("%s | %s | %s | %s | %s | %s |", kernels[k], esc.type, esc.platform, esc.device, esc.driver, esc.simd);
        for (int i = 0; i < n_params[k]; i++) APPEND(" %s=%zu", names[k][i], values[k][i]);
        APPEND("\n");
    }
#undef APPEND
    char *dir = clt_strdup(path);
    char *slash = strrchr(dir, '/');
    int r = 0;
    if (slash) {
        *slash = 0;
        if (*dir && clt_mkdirs(dir) != 0) r = -1;
    }
    free(dir);
    if (r == 0) r = clt_write_file_atomic(path, out, len);
    free(out);
    return r;
}

/* ---- per-device state ---- */

typedef struct kernel_state {
    int n_def, n_cur;
    char def_names[CLT_TUNING_MAX_PARAMS][32], cur_names[CLT_TUNING_MAX_PARAMS][32];
    size_t def_values[CLT_TUNING_MAX_PARAMS], cur_values[CLT_TUNING_MAX_PARAMS];
    char origin[600];    /* where the current values came from */
    bool have_def, tuned; /* tuned: clt_tuning_apply chose the current values */
    int n_tuned;
    char tuned_names[CLT_TUNING_MAX_PARAMS][32];
    size_t tuned_values[CLT_TUNING_MAX_PARAMS];
    char tuned_origin[600];
    /* per shape class: the full set (in def_names order) where the database has a class line */
    bool has_class[CLT_GEMM_N_CLASSES];
    size_t class_values[CLT_GEMM_N_CLASSES][CLT_TUNING_MAX_PARAMS];
    char class_origin[CLT_GEMM_N_CLASSES][600];
} kernel_state;

typedef struct device_state {
    cl_device_id id;
    kernel_state k[8];
    /* classes_on: the class sets are followed per call (off while an explicit override holds);
       applied: the class whose sets are in effect, -1 for the kernels' own;
       direct_forced: GemmRoutine's indirect threshold is raised so every GEMM runs direct. Both
       stay as the last call left them, because each CLBlastOverrideParameters rebuilds CLBlast's
       whole parameter database (about 0.2 ms of allocation, a fifth of a small net's step when
       done around every call) */
    bool classes_on;
    int applied;
    bool direct_forced;
} device_state;

/* CLBlast keeps overrides per cl_device_id for the whole process, so the state does too; one
   entry per device ever opened, grown as needed. */
static device_state **states;
static int n_states;

static device_state *state_of(cl_device_id id) {
    for (int i = 0; i < n_states; i++)
        if (states[i]->id == id) return states[i];
    states = clt_realloc(states, (size_t)(n_states + 1) * sizeof *states);
    states[n_states] = clt_calloc(1, sizeof **states);
    states[n_states]->id = id;
    states[n_states]->applied = -1;
    return states[n_states++];
}

static int kernel_index(const char *kernel) {
    for (int i = 0; i < clt_tuning_n_gemm_kernels; i++)
        if (!strcmp(clt_tuning_gemm_kernels[i], kernel)) return i;
    return -1;
}

/* Reads CLBlast's own parameters once, before any override of ours hides them. */
static kernel_state *kstate(cl_device_id id, const char *kernel, char *why, size_t why_len) {
    device_state *ds = state_of(id);
    int ki = kernel_index(kernel);
    if (ki < 0) {
        snprintf(why, why_len, "kernel %s is not one clt_gemm runs", kernel);
        return NULL;
    }
    kernel_state *ks = &ds->k[ki];
    if (!ks->have_def) {
        int s = clt_clblast_params(id, kernel, ks->def_names, ks->def_values, CLT_TUNING_MAX_PARAMS, &ks->n_def);
        if (s != 0) {
            snprintf(why, why_len, "CLBlast cannot report its %s parameters: %s (%d)", kernel,
                     clt_clblast_status_name(s), s);
            return NULL;
        }
        ks->have_def = true;
        ks->n_cur = ks->n_def;
        memcpy(ks->cur_names, ks->def_names, sizeof ks->cur_names);
        memcpy(ks->cur_values, ks->def_values, sizeof ks->cur_values);
        snprintf(ks->origin, sizeof ks->origin, "CLBlast default");
    }
    return ks;
}

static int override_raw(cl_device_id id, const char *kernel, int n, const char (*names)[32], const size_t *values,
                        char *why, size_t why_len) {
    const char *ptrs[CLT_TUNING_MAX_PARAMS];
    for (int i = 0; i < n; i++) ptrs[i] = names[i];
    CLBlastStatusCode s = CLBlastOverrideParameters(id, kernel, CLBlastPrecisionSingle, (size_t)n, ptrs, values);
    if (!strcmp(kernel, "GemmRoutine")) state_of(id)->direct_forced = false;
    if (s != CLBlastSuccess) {
        snprintf(why, why_len, "CLBlastOverrideParameters(%s): %s (%d)", kernel, clt_clblast_status_name(s), (int)s);
        return -1;
    }
    return 0;
}

int clt_tuning_override(clt_device *d, const char *kernel, int n, const char (*names)[32], const size_t *values,
                        char *why, size_t why_len) {
    kernel_state *ks = kstate(d->id, kernel, why, why_len);
    if (!ks) return -1;
    char mnames[CLT_TUNING_MAX_PARAMS][32];
    size_t mvalues[CLT_TUNING_MAX_PARAMS];
    memcpy(mnames, ks->def_names, sizeof mnames);
    memcpy(mvalues, ks->def_values, sizeof mvalues);
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < ks->n_def && strcmp(ks->def_names[j], names[i])) j++;
        if (j == ks->n_def) {
            snprintf(why, why_len, "CLBlast's %s has no parameter %s", kernel, names[i]);
            return -1;
        }
        mvalues[j] = values[i];
    }
    if (!clt_tuning_valid(kernel, ks->n_def, (const char(*)[32])mnames, mvalues, why, why_len)) return -1;
    if (override_raw(d->id, kernel, ks->n_def, (const char(*)[32])mnames, mvalues, why, why_len) != 0) return -1;
    ks->n_cur = ks->n_def;
    memcpy(ks->cur_names, mnames, sizeof mnames);
    memcpy(ks->cur_values, mvalues, sizeof mvalues);
    snprintf(ks->origin, sizeof ks->origin, "override");
    device_state *ds = state_of(d->id);
    ds->classes_on = false; /* what the caller set holds for every call until use_defaults */
    ds->applied = -1;
    return 0;
}

int clt_tuning_use_defaults(clt_device *d, bool defaults) {
    device_state *ds = state_of(d->id);
    if (!ds) return -1;
    char why[512];
    for (int i = 0; i < clt_tuning_n_gemm_kernels; i++) {
        kernel_state *ks = &ds->k[i];
        if (!ks->have_def) continue; /* never overridden: CLBlast's values are in effect already */
        const char *kernel = clt_tuning_gemm_kernels[i];
        int r;
        if (defaults || !ks->tuned)
            r = override_raw(d->id, kernel, ks->n_def, (const char(*)[32])ks->def_names, ks->def_values, why, sizeof why);
        else
            r = override_raw(d->id, kernel, ks->n_tuned, (const char(*)[32])ks->tuned_names, ks->tuned_values, why,
                             sizeof why);
        if (r != 0) {
            clt_error("%s", why);
            return -1;
        }
        bool tuned = !defaults && ks->tuned;
        ks->n_cur = tuned ? ks->n_tuned : ks->n_def;
        memcpy(ks->cur_names, tuned ? ks->tuned_names : ks->def_names, sizeof ks->cur_names);
        memcpy(ks->cur_values, tuned ? ks->tuned_values : ks->def_values, sizeof ks->cur_values);
        snprintf(ks->origin, sizeof ks->origin, "%s", tuned ? ks->tuned_origin : "CLBlast default");
    }
    ds->applied = -1;
    ds->classes_on = false;
    for (int c = 0; c < CLT_GEMM_N_CLASSES && !defaults; c++) ds->classes_on |= clt_tuning_has_class(d, (clt_gemm_class)c);
    return 0;
}

bool clt_tuning_class_params(clt_device *d, const char *kernel, clt_gemm_class cls, int *n, char (*names)[32],
                             size_t *values) {
    int ki = kernel_index(kernel);
    device_state *ds = state_of(d->id);
    if (ki < 0 || !ds->k[ki].has_class[cls]) return false;
    const kernel_state *ks = &ds->k[ki];
    *n = ks->n_def;
    memcpy(names, ks->def_names, sizeof ks->def_names);
    memcpy(values, ks->class_values[cls], sizeof ks->class_values[cls]);
    return true;
}

bool clt_tuning_has_class(clt_device *d, clt_gemm_class cls) {
    device_state *ds = state_of(d->id);
    for (int i = 0; i < clt_tuning_n_gemm_kernels; i++)
        if (ds->k[i].has_class[cls]) return true;
    return false;
}

int clt_tuning_use_class(clt_device *d, clt_gemm_class cls) {
    device_state *ds = state_of(d->id);
    if (!ds->classes_on || ds->applied == (int)cls) return 0;
    char why[512];
    for (int i = 0; i < clt_tuning_n_gemm_kernels; i++) {
        kernel_state *ks = &ds->k[i];
        if (!ks->have_def) continue;
        const size_t *want = ks->has_class[cls] ? ks->class_values[cls] : ks->tuned ? ks->tuned_values : ks->def_values;
        if (ks->n_cur == ks->n_def && !memcmp(want, ks->cur_values, ks->n_def * sizeof *want)) continue;
        if (override_raw(d->id, clt_tuning_gemm_kernels[i], ks->n_def, (const char(*)[32])ks->def_names, want, why,
                         sizeof why) != 0) {
            clt_error("%s", why);
            return -1;
        }
        ks->n_cur = ks->n_def;
        memcpy(ks->cur_names, ks->def_names, sizeof ks->cur_names);
        memcpy(ks->cur_values, want, ks->n_def * sizeof *want);
        snprintf(ks->origin, sizeof ks->origin, "%s",
                 ks->has_class[cls] ? ks->class_origin[cls] : ks->tuned ? ks->tuned_origin : "CLBlast default");
    }
    ds->applied = (int)cls;
    return 0;
}

int clt_tuning_force_direct(clt_device *d, bool on) {
    device_state *ds = state_of(d->id);
    if (ds->direct_forced == on) return 0;
    char why[512];
    kernel_state *ks = kstate(d->id, "GemmRoutine", why, sizeof why);
    if (!ks) return -1;
    size_t values[CLT_TUNING_MAX_PARAMS];
    memcpy(values, ks->cur_values, sizeof values);
    for (int i = 0; on && i < ks->n_cur; i++)
        if (!strcmp(ks->cur_names[i], "XGEMM_MIN_INDIRECT_SIZE")) values[i] = (size_t)1 << 20;
    if (override_raw(d->id, "GemmRoutine", ks->n_cur, (const char(*)[32])ks->cur_names, values, why, sizeof why) != 0)
        return -1;
    ds->direct_forced = on;
    return 0;
}

int clt_tuning_param(clt_device *d, const char *kernel, const char *name, size_t *value) {
    char why[512];
    kernel_state *ks = kstate(d->id, kernel, why, sizeof why);
    for (int i = 0; ks && i < ks->n_cur; i++)
        if (!strcmp(ks->cur_names[i], name)) {
            *value = ks->cur_values[i];
            return 0;
        }
    if (ks) snprintf(why, sizeof why, "CLBlast's %s reports no parameter %s", kernel, name);
    clt_device_fail(d, "%s", why);
    return -1;
}

static void json_string(FILE *out, const char *s) {
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) fprintf(out, "\\u%04x", *s);
        else fputc(*s, out);
    }
    fputc('"', out);
}

void clt_tuning_print(clt_device *d, FILE *out, bool json) {
    char why[512];
    if (json) fputc('{', out);
    for (int i = 0; i < clt_tuning_n_gemm_kernels; i++) {
        const char *kernel = clt_tuning_gemm_kernels[i];
        kernel_state *ks = kstate(d->id, kernel, why, sizeof why);
        if (json) {
            fprintf(out, "%s\"%s\": {\"from\": ", i ? ", " : "", kernel);
            json_string(out, ks ? ks->origin : why);
            fprintf(out, ", \"params\": {");
            for (int j = 0; ks && j < ks->n_cur; j++)
                fprintf(out, "%s\"%s\": %zu", j ? ", " : "", ks->cur_names[j], ks->cur_values[j]);
            fprintf(out, "}}");
        } else {
            fprintf(out, "  %-12s", kernel);
            for (int j = 0; ks && j < ks->n_cur; j++) fprintf(out, " %s=%zu", ks->cur_names[j], ks->cur_values[j]);
            fprintf(out, "   (%s)\n", ks ? ks->origin : why);
        }
        for (int c = 0; ks && c < CLT_GEMM_N_CLASSES; c++) {
            if (!ks->has_class[c]) continue;
            if (json) {
                fprintf(out, ", \"%s/%s\": {\"from\": ", kernel, clt_gemm_class_names[c]);
                json_string(out, ks->class_origin[c]);
                fprintf(out, ", \"params\": {");
                for (int j = 0; j < ks->n_def; j++)
                    fprintf(out, "%s\"%s\": %zu", j ? ", " : "", ks->def_names[j], ks->class_values[c][j]);
                fprintf(out, "}}");
            } else {
                fprintf(out, "  %-12s", "");
                fprintf(out, " /%s:", clt_gemm_class_names[c]);
                for (int j = 0; j < ks->n_def; j++)
                    if (ks->class_values[c][j] != (ks->tuned ? ks->tuned_values[j] : ks->def_values[j]))
                        fprintf(out, " %s=%zu", ks->def_names[j], ks->class_values[c][j]);
                fprintf(out, "   (%s)\n", ks->class_origin[c]);
            }
        }
    }
    if (json) fputc('}', out);
}

/* ---- applying at device open ---- */

/* Reads the class lines of `kernel` from the first `n_dbs` databases (the file that gave the
   kernel's own line and those before it), each laid over the kernel's set chosen by
   clt_tuning_apply (or CLBlast's own), and checks them as a whole. */
static int apply_classes(clt_device *d, const char *kernel, const clt_tuning_db *dbs, int n_dbs,
                         const clt_tuning_key *key) {
    char why[512];
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) {
        char name[48];
        snprintf(name, sizeof name, "%s/%s", kernel, clt_gemm_class_names[c]);
        const clt_tuning_entry *e = NULL;
        for (int i = 0; i < n_dbs && !e; i++) e = clt_tuning_find(&dbs[i], key, name);
        if (!e) continue;
        kernel_state *ks = kstate(d->id, kernel, why, sizeof why);
        if (!ks) {
            clt_error("%s:%d: %s", e->source, e->line, why);
            return -1;
        }
        size_t *v = ks->class_values[c];
        memcpy(v, ks->tuned ? ks->tuned_values : ks->def_values, sizeof ks->class_values[c]);
        for (int p = 0; p < e->n; p++) {
            int j = 0;
            while (j < ks->n_def && strcmp(ks->def_names[j], e->names[p])) j++;
            if (j == ks->n_def) {
                clt_error("%s:%d: CLBlast's %s has no parameter %s", e->source, e->line, kernel, e->names[p]);
                return -1;
            }
            v[j] = e->values[p];
        }
        if (!clt_tuning_valid(kernel, ks->n_def, (const char(*)[32])ks->def_names, v, why, sizeof why)) {
            clt_error("%s:%d: laid over %s's own parameters: %s", e->source, e->line, kernel, why);
            return -1;
        }
        ks->has_class[c] = true;
        snprintf(ks->class_origin[c], sizeof ks->class_origin[c], "%s:%d", e->source, e->line);
    }
    return 0;
}

/* A device without lines stored for it runs on a fallback (or CLBlast's own parameters), which
   can be several times slower: say so once per process on a terminal, with the way out, unless
   CLTRANSFER_TUNE=skip. */
static void untuned_notice(const clt_device *d, const clt_tuning_entry *fallback) {
    static bool said;
    const char *tune = getenv("CLTRANSFER_TUNE");
    if (said || !isatty(2) || (tune && !strcmp(tune, "skip"))) return;
    said = true;
    if (fallback)
        fprintf(stderr, "cltransfer: no CLBlast tuning for %s (driver %s); using the fallback %s:%d. "
                        "`cltransfer-bench tune` (a few minutes, once) tunes this device.\n",
                d->name, d->driver_version, fallback->source, fallback->line);
    else
        fprintf(stderr, "cltransfer: no CLBlast tuning for %s (driver %s); CLBlast's own parameters apply. "
                        "`cltransfer-bench tune` (a few minutes, once) tunes this device.\n",
                d->name, d->driver_version);
}

/* Returns every GEMM kernel to CLBlast's own parameters and forgets what an earlier apply chose
   (its sets and class lines), so an apply starts as at device open whatever ran before it. */
static int forget_tuning(clt_device *d) {
    if (clt_tuning_use_defaults(d, true) != 0) return -1;
    device_state *ds = state_of(d->id);
    for (int i = 0; i < clt_tuning_n_gemm_kernels; i++) {
        ds->k[i].tuned = false;
        memset(ds->k[i].has_class, 0, sizeof ds->k[i].has_class);
    }
    return 0;
}

int clt_tuning_apply(clt_device *d) { return clt_tuning_reload(d, NULL); }

/* first: a database searched before all the others (NULL: none); CLTRANSFER_TUNING=off leaves
   it the only one. */
int clt_tuning_reload(clt_device *d, const char *first) {
    if (forget_tuning(d) != 0) return -1;
    const char *env = getenv("CLTRANSFER_TUNING");
    bool off = env && (!strcasecmp(env, "off") || !strcasecmp(env, "none"));
    if (off && !first) return 0;
    char *paths[4] = {0};
    int np = 0;
    if (first) paths[np++] = clt_strdup(first);
    if (!off && env && *env) {
        if (!clt_file_exists(env)) {
            clt_error("CLTRANSFER_TUNING names %s, which does not exist", env);
            free(paths[0]);
            return -1;
        }
        paths[np++] = clt_strdup(env);
    }
    if (!off) {
        paths[np++] = clt_tuning_user_path();
        char *repo = clt_tuning_repo_path();
        if (repo) paths[np++] = repo;
    }

    clt_tuning_db dbs[4];
    memset(dbs, 0, sizeof dbs);
    int rc = 0;
    for (int i = 0; i < np && rc == 0; i++) rc = clt_tuning_load(&dbs[i], paths[i]);
    clt_tuning_key key;
    clt_tuning_key_of(d, &key);
    const clt_tuning_entry *xgemm_line = NULL;
    bool xgemm_exact = false;
    for (int k = 0; k < clt_tuning_n_gemm_kernels && rc == 0; k++) {
        const char *kernel = clt_tuning_gemm_kernels[k];
        const clt_tuning_entry *e = NULL;
        int from = 0;
        for (; from < np && !e; from++) e = clt_tuning_find(&dbs[from], &key, kernel);
        if (!e) {
            rc = apply_classes(d, kernel, dbs, np, &key);
            continue;
        }
        if (!strcmp(kernel, "Xgemm")) xgemm_line = e, xgemm_exact = clt_tuning_exact_for(e, &key);
        char why[512];
        if (clt_tuning_override(d, kernel, e->n, (const char(*)[32])e->names, e->values, why, sizeof why) != 0) {
            clt_error("%s:%d: %s", e->source, e->line, why);
            rc = -1;
            break;
        }
        kernel_state *ks = kstate(d->id, kernel, why, sizeof why);
        snprintf(ks->origin, sizeof ks->origin, "%s:%d", e->source, e->line);
        snprintf(ks->tuned_origin, sizeof ks->tuned_origin, "%s", ks->origin);
        ks->tuned = true;
        ks->n_tuned = ks->n_cur;
        memcpy(ks->tuned_names, ks->cur_names, sizeof ks->tuned_names);
        memcpy(ks->tuned_values, ks->cur_values, sizeof ks->tuned_values);
        rc = apply_classes(d, kernel, dbs, from, &key);
    }
    if (rc == 0 && !xgemm_exact) untuned_notice(d, xgemm_line);
    for (int i = 0; i < np; i++) {
        clt_tuning_free(&dbs[i]);
        free(paths[i]);
    }
    device_state *ds = state_of(d->id);
    ds->applied = -1;
    ds->classes_on = false;
    for (int c = 0; c < CLT_GEMM_N_CLASSES && rc == 0; c++) ds->classes_on |= clt_tuning_has_class(d, (clt_gemm_class)c);
    return rc;
}
