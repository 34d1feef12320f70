/* util.c — loud allocation, error printing, atomic files, clocks. */
#include "util/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *progname = "cltransfer";

void clt_set_progname(const char *name) {
    const char *slash = strrchr(name, '/');
    progname = slash ? slash + 1 : name;
}

static FILE *error_log;

void clt_log_errors_to(FILE *log) { error_log = log; }

static void report(const char *kind, const char *fmt, va_list ap) {
    va_list again;
    va_copy(again, ap);
    fprintf(stderr, "%s: %s: ", progname, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    if (error_log) {
        fprintf(error_log, "%s: ", kind);
        vfprintf(error_log, fmt, again);
        fputc('\n', error_log);
        fflush(error_log);
    }
    va_end(again);
}

void clt_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report("error", fmt, ap);
    va_end(ap);
}

void clt_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report("warning", fmt, ap);
    va_end(ap);
}

static void out_of_memory(size_t bytes) {
    clt_error("out of host memory allocating %zu bytes", bytes);
    exit(1);
}

void *clt_malloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) out_of_memory(bytes);
    return p;
}

void *clt_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *clt_realloc(void *p, size_t bytes) {
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q) out_of_memory(bytes);
    return q;
}

char *clt_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = clt_malloc(n);
    memcpy(p, s, n);
    return p;
}

char *clt_read_file_max(const char *path, size_t max_bytes, const char *what, size_t *len) {
    FILE *f = fopen(path, "rbe");
    if (!f) {
        clt_error("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        clt_error("%s is a folder, not %s", path, what);
        fclose(f);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = clt_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = clt_realloc(buf, cap = CLT_MIN(cap * 2, max_bytes + 2));
        size_t want = CLT_MIN(cap - n - 1, max_bytes + 1 - n);
        size_t got = fread(buf + n, 1, want, f);
        n += got;
        if (got == 0 || n > max_bytes) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || n > max_bytes) {
        if (bad)
            clt_error("cannot read %s: %s", path, strerror(errno));
        else
            clt_error("%s is larger than %zu bytes, the most %s may hold", path, max_bytes, what);
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

char *clt_read_file(const char *path, size_t *len) {
    return clt_read_file_max(path, CLT_READ_MAX, "a text or cache file", len);
}

int clt_option_int(const char *name, const char *text, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text ? text : "", &end, 10);
    if (!text || !*text || *end || errno || v < lo || v > hi) {
        clt_error("--%s wants an integer in %ld..%ld, got '%s'", name, lo, hi, text ? text : "");
        return -1;
    }
    *out = v;
    return 0;
}

/* Edits (insert, delete, substitute, swap neighbours) between a and b; 99 for words over 32 letters. */
static int edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n > 32 || m > 32) return 99;
    int d[33][33];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++)
        for (size_t j = 1; j <= m; j++) {
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            best = CLT_MIN(best, CLT_MIN(d[i - 1][j], d[i][j - 1]) + 1);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) best = CLT_MIN(best, d[i - 2][j - 2] + 1);
            d[i][j] = best;
        }
    return d[n][m];
}

const char *clt_closest_word(const char *word, const char *const *words) {
    const char *best = NULL;
    int best_d = 3;
    for (; *words; words++) {
        int d = edit_distance(word, *words);
        if (d < best_d) best = *words, best_d = d;
    }
    return best;
}

char *clt_trim(char *s) {
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

static int fsync_parent(const char *path) {
    char *copy = clt_strdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    free(copy);
    if (fd < 0) return -1;
    fsync(fd); /* best effort: some filesystems refuse fsync on folders */
    close(fd);
    return 0;
}

/* A writer killed before its rename leaves PATH.tmp.PID behind, as large as what it had written (a
   pack: gigabytes). Writers hold an flock on their temporary file, which the kernel drops when the
   process dies, so one that can be locked is abandoned and goes; one still being written stays.
   base NULL: every such file of the folder; else only those of PATH = dir/base. */
static void remove_abandoned_in(const char *dir, const char *base, const char *mine) {
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp))) {
        const char *tmp = strstr(e->d_name, ".tmp.");
        while (tmp && strstr(tmp + 1, ".tmp.")) tmp = strstr(tmp + 1, ".tmp.");
        if (!tmp || tmp == e->d_name || !tmp[5] || strspn(tmp + 5, "0123456789") != strlen(tmp + 5)) continue;
        if (base && ((size_t)(tmp - e->d_name) != strlen(base) || strncmp(e->d_name, base, strlen(base)))) continue;
        char *stale = clt_path_join(dir, e->d_name);
        int fd = !mine || strcmp(stale, mine) ? open(stale, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(stale) == 0)
            clt_warn("removed %s, left by a write of %.*s that was interrupted", stale, (int)(tmp - e->d_name), e->d_name);
        if (fd >= 0) close(fd);
        free(stale);
    }
    if (dp) closedir(dp);
}

static void remove_abandoned(const char *path, const char *mine) {
    char *copy = clt_strdup(path), *copy2 = clt_strdup(path);
    remove_abandoned_in(dirname(copy), basename(copy2), mine);
    free(copy);
    free(copy2);
}

void clt_remove_abandoned_tmp(const char *dir) { remove_abandoned_in(dir, NULL, NULL); }

int clt_lock_folder(const char *dir, const char *busy_hint) {
    char *path = clt_path_join(dir, CLT_FOLDER_LOCK);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        clt_error("cannot create the lock %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char holder[32] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        clt_error("%s is in use by process %s (it holds %s)%s%s", dir, holder[0] ? holder : "(unknown)", path,
                  busy_hint ? "; " : "", busy_hint ? busy_hint : "");
        close(fd);
        free(path);
        return -1;
    }
    char pid[32];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* the id only serves the message above, so a failure to write it is no failure */
    bool written = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) == len;
    (void)written;
    free(path);
    return fd;
}

int clt_atomic_open(clt_atomic_file *af, const char *path) {
    memset(af, 0, sizeof *af);
    af->path = clt_strdup(path);
    size_t n = strlen(path) + 32;
    af->tmp_path = clt_malloc(n);
    snprintf(af->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp_path, "wbe");
    if (!af->f) {
        clt_error("cannot create %s: %s", af->tmp_path, strerror(errno));
        free(af->path);
        free(af->tmp_path);
        memset(af, 0, sizeof *af);
        return -1;
    }
    flock(fileno(af->f), LOCK_EX | LOCK_NB); /* best effort: marks it as being written, see above */
    remove_abandoned(path, af->tmp_path);
    return 0;
}

/* Says what failed and that the file under its real name, if any, is untouched. */
static void write_failed(const clt_atomic_file *af, int err) {
    clt_error("cannot write %s: %s (%s is left as it was)", af->tmp_path, strerror(err), af->path);
}

int clt_atomic_write(clt_atomic_file *af, const void *data, size_t len) {
    if (af->failed) return -1;
    if (len && fwrite(data, 1, len, af->f) != len) {
        write_failed(af, errno);
        af->failed = 1;
        return -1;
    }
    return 0;
}

void clt_atomic_abort(clt_atomic_file *af) {
    if (af->f) fclose(af->f);
    if (af->tmp_path) unlink(af->tmp_path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
}

int clt_atomic_commit(clt_atomic_file *af) {
    if (af->failed) {
        clt_atomic_abort(af);
        return -1;
    }
    /* the first error is the one to report: fclose after a failed fflush fails again */
    int err = 0;
    if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0) err = errno;
    if (fclose(af->f) != 0 && !err) err = errno;
    af->f = NULL;
    if (err) {
        write_failed(af, err);
        clt_atomic_abort(af);
        return -1;
    }
    if (rename(af->tmp_path, af->path) != 0) {
        clt_error("cannot rename %s to %s: %s", af->tmp_path, af->path, strerror(errno));
        clt_atomic_abort(af);
        return -1;
    }
    fsync_parent(af->path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof *af);
    return 0;
}

int clt_write_file_atomic(const char *path, const void *data, size_t len) {
    clt_atomic_file af;
    if (clt_atomic_open(&af, path) != 0) return -1;
    clt_atomic_write(&af, data, len);
    return clt_atomic_commit(&af);
}

int clt_mkdirs(const char *path) {
    char *p = clt_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) != 0 && errno != EEXIST) goto fail;
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) goto fail;
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
        clt_error("cannot create folder %s: a file of that name is in the way", p);
        free(p);
        return -1;
    }
    free(p);
    return 0;
fail:
    clt_error("cannot create folder %s: %s", p, strerror(errno));
    free(p);
    return -1;
}

int clt_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *clt_path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = clt_malloc(n);
    if (!dir[0] || dir[strlen(dir) - 1] == '/')
        snprintf(p, n, "%s%s", dir, name);
    else
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *clt_exe_dir(void) {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return NULL;
    buf[n] = 0;
    return clt_strdup(dirname(buf));
}

double clt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

uint64_t clt_fnv1a(uint64_t h, const void *data, size_t len) {
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

int clt_cpu_count(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

uint64_t clt_host_available_bytes(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kib = 0;
        bool found = false;
        while (!found && fgets(line, sizeof line, f)) found = sscanf(line, "MemAvailable: %llu kB", &kib) == 1;
        fclose(f);
        if (found) return (uint64_t)kib * 1024;
    }
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}
