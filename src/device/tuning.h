/* tuning.h — per-device CLBlast parameters: loaded at device open, applied with
   CLBlastOverrideParameters, so GEMM runs with parameters tuned for this device and driver.

   The database is plain text, one entry a line, seven columns separated by '|':

       kernel | type | platform | device | driver | simd | PARAM=value PARAM=value ...

   kernel:   a CLBlast kernel (Xgemm, XgemmDirect, GemmRoutine, Copy, Pad, Transpose, Padtranspose, ...)
   type:     CPU, GPU, ACCELERATOR or *
   platform, device, driver: case-insensitive glob patterns (fnmatch: * ? [..], \ escapes) on
             CL_PLATFORM_NAME, CL_DEVICE_NAME and CL_DRIVER_VERSION
   simd:     CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT (16 on AVX-512, 8 on AVX2 under PoCL) or *
   params:   unsigned integers; names not given keep CLBlast's own value for the device.
   '#' starts a comment line; blank lines are skipped; a malformed line is an error naming file:line.

   Lookup is per kernel: the files $CLTRANSFER_TUNING (a path; "off" applies nothing), the user cache
   (clt_tuning_user_path), then the committed conf/clblast-tuning.txt are searched in that order and
   the first line that matches wins, so specific lines go above fallbacks.

   A kernel written KERNEL/CLASS (Xgemm/longk) holds parameters for one shape class of GEMM call
   (clt_gemm_class), laid over the kernel's own line: clt_gemm switches to them for the calls of
   that class. Class lines are looked up in the file that gave the kernel's own line and the files
   before it, so a class line never mixes with another device's base line. */
#ifndef CLT_TUNING_H
#define CLT_TUNING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct clt_device;

#define CLT_TUNING_MAX_PARAMS 24

/* Shape classes of GEMM calls that one parameter set cannot serve alike (gemm.c classifies each
   call, clt_gemm_class_of): the default, wide products (forward convolutions, fc layers); a side
   of the output 32 or narrower (the small net's layers); a k at least 4 times either side of the
   output (weight gradients); op(A) alone transposed with k at most 96 (input gradients of layers with
   few output channels). */
typedef enum clt_gemm_class { CLT_GEMM_WIDE, CLT_GEMM_NARROW, CLT_GEMM_LONGK, CLT_GEMM_TN, CLT_GEMM_N_CLASSES } clt_gemm_class;
/* "wide", "narrow", "longk", "tn": the CLASS of KERNEL/CLASS lines. */
extern const char *const clt_gemm_class_names[CLT_GEMM_N_CLASSES];

typedef struct clt_tuning_entry {
    char kernel[32];
    char *type, *platform, *device, *driver, *simd; /* patterns */
    int n;
    char names[CLT_TUNING_MAX_PARAMS][32];
    size_t values[CLT_TUNING_MAX_PARAMS];
    char *source; /* file the line came from */
    int line;
} clt_tuning_entry;

typedef struct clt_tuning_db {
    clt_tuning_entry *entries;
    int n;
} clt_tuning_db;

/* What a device is matched on; filled from the device by clt_tuning_key_of. */
typedef struct clt_tuning_key {
    char type[16], platform[256], device[256], driver[128], simd[16];
} clt_tuning_key;

/* Applies the stored tuning for the device, if any, in place of whatever an earlier apply or
   override set; a device without an entry keeps CLBlast's defaults. Returns -1 only for a tuning
   file that exists but cannot be used. */
int clt_tuning_apply(struct clt_device *d);

/* clt_tuning_apply with `first` (a path, or NULL) searched before the other databases: how the
   tuner times whole parameter sets, class lines included, in one process. */
int clt_tuning_reload(struct clt_device *d, const char *first);

/* Parses `text` (from `source`, used in errors) and appends its entries to db. Returns -1 after
   printing "source:line: why" for the first malformed line. */
int clt_tuning_parse(clt_tuning_db *db, const char *text, const char *source);
/* Loads a file; a missing file is not an error (returns 0, nothing added). */
int clt_tuning_load(clt_tuning_db *db, const char *path);
void clt_tuning_free(clt_tuning_db *db);

/* The first entry for `kernel` whose patterns match `key`, or NULL. */
const clt_tuning_entry *clt_tuning_find(const clt_tuning_db *db, const clt_tuning_key *key, const char *kernel);
bool clt_tuning_matches(const clt_tuning_entry *e, const clt_tuning_key *key);
void clt_tuning_key_of(const struct clt_device *d, clt_tuning_key *key);

/* Checks a parameter set against the kernel's structural rules (integral work per thread, tile
   multiples); returns false and writes why. Kernels without known rules always pass. */
bool clt_tuning_valid(const char *kernel, int n, const char (*names)[32], const size_t *values, char *why,
                      size_t why_len);
/* Value of `name` in the set, or `fallback`. */
size_t clt_tuning_get(int n, const char (*names)[32], const size_t *values, const char *name, size_t fallback);

/* The user cache database: $CLTRANSFER_CACHE_DIR, $XDG_CACHE_HOME/cltransfer or ~/.cache/cltransfer,
   file tuning.txt. The committed one: conf/clblast-tuning.txt beside the kernels' folder, next to
   the binary, in the install prefix or the source tree (NULL if none exists). */
char *clt_tuning_user_path(void);
char *clt_tuning_repo_path(void);

/* Writes entries for exactly this device (patterns escaped from key) into the database at `path`,
   replacing earlier lines of the same kernel and key; other lines stay. A kernel given with no
   parameters only loses its earlier lines. Atomic. */
int clt_tuning_store(const char *path, const clt_tuning_key *key, int n_kernels, const char *const *kernels,
                     const int *n_params, const char (*const *names)[32], const size_t *const *values,
                     const char *comment);

/* Whether `e` was stored for exactly this device and driver (clt_tuning_store's escaped key),
   rather than matching it as a fallback pattern. */
bool clt_tuning_exact_for(const clt_tuning_entry *e, const clt_tuning_key *key);
/* Sets *found when the database at `path` holds an Xgemm line stored for exactly this key (a
   missing file holds none). Returns -1 for a file that cannot be used. */
int clt_tuning_has_exact(const char *path, const clt_tuning_key *key, bool *found);

/* ---- what is in effect (the bench and the tuner use these) ---- */

/* Sets `kernel` on the device to CLBlast's own parameters with the given ones laid over them.
   Returns -1 (with `why`) for an unknown parameter name or a CLBlast error. */
int clt_tuning_override(struct clt_device *d, const char *kernel, int n, const char (*names)[32],
                        const size_t *values, char *why, size_t why_len);
/* Returns every GEMM kernel of the device to CLBlast's own parameters (true) or to what
   clt_tuning_apply chose (false). */
int clt_tuning_use_defaults(struct clt_device *d, bool defaults);
/* Writes the parameters now in effect for the GEMM kernels, with where each came from, as JSON
   (an object keyed by kernel) or as text lines. */
void clt_tuning_print(struct clt_device *d, FILE *out, bool json);
/* Sends the next GEMM calls to CLBlast's direct kernel whatever their size (true), or back to the
   direct/indirect switch in effect (false); leaves what clt_tuning_print reports alone. */
int clt_tuning_force_direct(struct clt_device *d, bool on);
/* Sets *value to a parameter now in effect (CLBlast's own value when not overridden). Returns -1,
   with the device failed (sticky) naming kernel and parameter, when CLBlast does not report it. */
int clt_tuning_param(struct clt_device *d, const char *kernel, const char *name, size_t *value);
/* Puts the parameters of shape class `cls` in effect for the next GEMM calls: the class's lines
   where the database has them, else the kernel's own. Does nothing while an explicit override
   (clt_tuning_override, clt_tuning_use_defaults(d, true)) is in effect. Returns -1 on a CLBlast
   error (printed). */
int clt_tuning_use_class(struct clt_device *d, clt_gemm_class cls);
/* The full set clt_tuning_apply chose for shape class `cls` of `kernel` (n names and values, at
   most CLT_TUNING_MAX_PARAMS); false where the databases have no line for the class. */
bool clt_tuning_class_params(struct clt_device *d, const char *kernel, clt_gemm_class cls, int *n, char (*names)[32],
                             size_t *values);
/* Whether clt_tuning_apply found lines for shape class `cls` of any GEMM kernel. */
bool clt_tuning_has_class(struct clt_device *d, clt_gemm_class cls);

/* The kernels clt_gemm can run, in the order they are reported. */
extern const char *const clt_tuning_gemm_kernels[];
extern const int clt_tuning_n_gemm_kernels;

#endif
