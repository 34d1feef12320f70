/* util.h — small helpers shared by every module: loud allocation, errors with a place, atomic files,
   clocks. Functions that can fail return 0 on success and -1 on failure, after printing why. */
#ifndef CLT_UTIL_H
#define CLT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define CLT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define CLT_MAX(a, b) ((a) > (b) ? (a) : (b))

#if defined(__GNUC__)
#define CLT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CLT_PRINTF(f, a)
#endif

/* Prints "cltransfer: error: ..." (program name set by clt_set_progname) to stderr. */
void clt_error(const char *fmt, ...) CLT_PRINTF(1, 2);
void clt_warn(const char *fmt, ...) CLT_PRINTF(1, 2);
void clt_set_progname(const char *name);
/* Also appends every error and warning to `log` (NULL: stderr only), so a run's log file says why
   it failed. */
void clt_log_errors_to(FILE *log);

/* Allocation that cannot return NULL: out of host memory is reported with the byte count and exits. */
void *clt_malloc(size_t bytes);
void *clt_calloc(size_t count, size_t size);
void *clt_realloc(void *p, size_t bytes);
char *clt_strdup(const char *s);

/* Reads a whole file of at most max_bytes, adding a NUL; NULL (with an error naming the path and,
   for a larger one, the limit and `what` the file should have been) on failure. Reading stops at
   max_bytes + 1, so a device, a pipe or a huge file named by mistake costs no more than that.
   *len excludes the added NUL. */
char *clt_read_file_max(const char *path, size_t max_bytes, const char *what, size_t *len);
/* The same with a limit no text or cache file of this project comes near (CLT_READ_MAX). */
#define CLT_READ_MAX ((size_t)256 << 20)
char *clt_read_file(const char *path, size_t *len);
/* Parses the value of option --name as an integer in [lo, hi]; prints "--name wants an integer in
   lo..hi, got 'text'" and returns -1 if it is not one. */
int clt_option_int(const char *name, const char *text, long lo, long hi, long *out);
/* The word of `words` (NULL-ended) within two edits of `word` (a misspelt command), or NULL. */
const char *clt_closest_word(const char *word, const char *const *words);
/* Removes leading and trailing whitespace in place; returns the first non-space character. */
char *clt_trim(char *s);

/* Writes `len` bytes to `path` atomically: a temporary file in the same folder, fsync, rename.
   On failure the previous file at `path` is untouched and the temporary file removed. */
int clt_write_file_atomic(const char *path, const void *data, size_t len);

/* An atomic writer for large outputs written piecewise (packs, checkpoints). */
typedef struct clt_atomic_file {
    FILE *f;
    char *path, *tmp_path;
    int failed;
} clt_atomic_file;
int clt_atomic_open(clt_atomic_file *af, const char *path);
int clt_atomic_write(clt_atomic_file *af, const void *data, size_t len);
int clt_atomic_commit(clt_atomic_file *af); /* fflush, fsync, rename, fsync folder */
void clt_atomic_abort(clt_atomic_file *af); /* removes the temporary file */

/* Takes the exclusive lock of folder `dir` (an flock on dir/CLT_FOLDER_LOCK, which the kernel drops when the
   process dies, so a killed holder leaves no stale lock) and writes this process's id into it.
   Returns the lock's descriptor, held until it is closed or the process exits (children that
   inherit it hold it too), or -1 after printing that the folder is in use, by which process, and
   `busy_hint`. One lock per run folder serves training, resume and studies. */
#define CLT_FOLDER_LOCK ".cltransfer.lock"
int clt_lock_folder(const char *dir, const char *busy_hint);
/* Removes every DIR/X.tmp.PID a writer left when it was killed before its rename (clt_atomic_open
   holds an flock on its temporary file, so one being written is kept). */
void clt_remove_abandoned_tmp(const char *dir);

int clt_mkdirs(const char *path); /* mkdir -p */
int clt_file_exists(const char *path);
/* Joins a folder and a name into a new string. */
char *clt_path_join(const char *dir, const char *name);
/* The folder holding the running executable (from /proc/self/exe), or NULL. */
char *clt_exe_dir(void);

double clt_now(void); /* monotonic seconds */

/* Online CPUs, clamped to 1..256: the default thread count of packing and reading. */
int clt_cpu_count(void);

/* Memory the host can still give without swapping (MemAvailable of /proc/meminfo, else all of its
   physical memory); 0 when neither is known. */
uint64_t clt_host_available_bytes(void);

/* FNV-1a 64-bit hash, used for cache keys (not for integrity: packs and checkpoints use CRC32). */
uint64_t clt_fnv1a(uint64_t h, const void *data, size_t len);
#define CLT_FNV_INIT 0xcbf29ce484222325ULL

#endif
