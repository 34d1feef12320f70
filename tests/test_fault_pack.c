/* test_fault_pack.c — SIGKILL at random moments of `cltransfer-data pack` (a JPEG tree written here) and
   of `cltransfer-data fmnist`: after every kill, each output under its real name is absent or whole
   (byte-identical to an uninterrupted run's); a rerun makes the same pack and removes what the killed
   runs left under temporary names. FAULT_SEED=N replays one sequence of kill moments. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/image.h"
#include "data/pack.h"
#include "testutil.h"
#include "util/util.h"

static char tmp[256];
static char tool[4096];
static unsigned seed;

/* Starts tool with args (NULL-terminated), output to tmp/out.txt. */
static pid_t start(char *const *args) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        char log[512];
        snprintf(log, sizeof log, "%s/out.txt", tmp);
        if (!freopen(log, "a", stdout) || !freopen(log, "a", stderr)) _exit(126);
        execv(tool, args);
        _exit(127);
    }
    return pid;
}

static int finish_run(pid_t pid) {
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static double run_timed(char *const *args, int *rc) {
    double t0 = clt_now();
    *rc = finish_run(start(args));
    return clt_now() - t0;
}

/* 1 if both files exist with the same bytes, 0 if `got` is absent, -1 if it differs or is unreadable. */
static int same_or_absent(const char *want, const char *got) {
    if (!clt_file_exists(got)) return 0;
    size_t a_len, b_len;
    char *a = clt_read_file(want, &a_len), *b = clt_read_file(got, &b_len);
    int same = a && b && a_len == b_len && !memcmp(a, b, a_len);
    free(a);
    free(b);
    return same ? 1 : -1;
}

/* Names in dir that start with prefix and hold ".tmp.": what interrupted writes left. */
static int leftovers(const char *dir, const char *prefix) {
    DIR *dp = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (dp && (e = readdir(dp)))
        n += !strncmp(e->d_name, prefix, strlen(prefix)) && strstr(e->d_name, ".tmp.") != NULL;
    if (dp) closedir(dp);
    return n;
}

typedef struct job {
    const char *name;
    char *args[24];
    const char *ref_dir, *out_dir;
    const char *files[4]; /* outputs compared byte for byte */
    const char *texts[3]; /* outputs that name their path or hold timings: checked whole by their first line */
} job;

/* The first line each text output starts with. */
static const char *text_start(const char *file) { return strstr(file, ".report.txt") ? "# packed" : "# class map"; }

static void path2(char *buf, size_t n, const char *dir, const char *file) { snprintf(buf, n, "%s/%s", dir, file); }

static void kill_rounds(job *j, double took) {
    char want[512], got[512];
    int kills = 0, partial = 0;
    for (int round = 0; round < 6; round++) {
        /* anywhere in an uninterrupted run's time, so start-up, packing, the commit and the side files
           are all hit over a few runs */
        double at = took * (rand_r(&seed) / (double)RAND_MAX);
        pid_t pid = start(j->args);
        struct timespec ts = {(time_t)at, (long)((at - (time_t)at) * 1e9)};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int rc = finish_run(pid);
        kills += rc == 128 + SIGKILL;
        for (int f = 0; j->files[f]; f++) {
            path2(want, sizeof want, j->ref_dir, j->files[f]);
            path2(got, sizeof got, j->out_dir, j->files[f]);
            int s = same_or_absent(want, got);
            partial += s == 0;
            t_check(s >= 0, "%s: after a SIGKILL at %.3f s (round %d, exit %d), %s is absent or whole", j->name, at,
                    round, rc, j->files[f]);
        }
        for (int f = 0; j->texts[f]; f++) {
            path2(got, sizeof got, j->out_dir, j->texts[f]);
            char *text = clt_file_exists(got) ? clt_read_file(got, NULL) : NULL;
            const char *first = text_start(j->texts[f]);
            t_check(!clt_file_exists(got) || (text && !strncmp(text, first, strlen(first)) && text[strlen(text) - 1] == '\n'),
                    "%s: after the SIGKILL at %.3f s, %s is absent or whole", j->name, at, j->texts[f]);
            free(text);
        }
    }
    printf("  %s: %d of 6 runs killed before they ended; %d outputs absent at a kill\n", j->name, kills, partial);
    int rc;
    run_timed(j->args, &rc);
    t_check(rc == 0, "%s: a rerun after the kills exits 0 (%d)", j->name, rc);
    for (int f = 0; j->files[f]; f++) {
        path2(want, sizeof want, j->ref_dir, j->files[f]);
        path2(got, sizeof got, j->out_dir, j->files[f]);
        t_check(same_or_absent(want, got) == 1, "%s: the rerun's %s equals the uninterrupted run's", j->name,
                j->files[f]);
    }
    t_check(leftovers(j->out_dir, "") == 0, "%s: no temporary file is left after the rerun", j->name);
}

static void jpeg_tree(void) {
    clt_jpeg *jp = clt_jpeg_new();
    uint8_t *px = clt_malloc(128 * 128 * 3);
    char path[512], err[256];
    uint64_t state = 7;
    for (int cls = 0; cls < 2; cls++) {
        snprintf(path, sizeof path, "%s/tree/c%d", tmp, cls);
        clt_mkdirs(path);
        for (int i = 0; i < 300; i++) {
            /* noise, so decoding and encoding take real time and the kill moments spread out */
            for (size_t k = 0; k < 128 * 128 * 3; k++) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                px[k] = (uint8_t)(state >> 56);
            }
            const uint8_t *jpg;
            size_t n;
            if (clt_jpeg_encode(jp, px, 128, 128, 3, 90, 420, &jpg, &n, err, sizeof err) != 0) abort();
            snprintf(path, sizeof path, "%s/tree/c%d/%03d.jpg", tmp, cls, i);
            clt_write_file_atomic(path, jpg, n);
        }
    }
    free(px);
    clt_jpeg_free(jp);
}

int main(void) {
    const char *build = getenv("CLT_BUILD_DIR");
    snprintf(tool, sizeof tool, "%s/cltransfer-data", build ? build : ".");
    const char *fs = getenv("FAULT_SEED");
    seed = fs ? (unsigned)atoi(fs) : (unsigned)time(NULL) % 100000;
    printf("kill moments from seed %u (FAULT_SEED=%u replays them)\n", seed, seed);
    snprintf(tmp, sizeof tmp, "%s/clt_fault_pack.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp)) return 1;
    char ref[300], out[300], pack_ref[400], pack_out[400], tree[300];
    snprintf(tree, sizeof tree, "%s/tree", tmp);
    jpeg_tree();

    snprintf(ref, sizeof ref, "%s/ref", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    clt_mkdirs(ref);
    clt_mkdirs(out);
    snprintf(pack_ref, sizeof pack_ref, "%s/x.pack", ref);
    snprintf(pack_out, sizeof pack_out, "%s/x.pack", out);
    job pk = {"pack", {"cltransfer-data", "pack", "--folders", tree, "-o", pack_ref, "--size", "96", "--threads", "2",
                       "--no-progress", NULL},
              ref, out, {"x.pack", "x.mean", NULL}, {"x.classes.txt", "x.report.txt", NULL}};
    int rc;
    double took = run_timed(pk.args, &rc);
    t_check(rc == 0, "pack: the uninterrupted run exits 0 (%.2f s)", took);
    clt_pack p;
    t_check(clt_pack_open(&p, pack_ref) == 0 && p.count == 600, "pack: it holds the 600 images");
    clt_pack_close(&p);
    pk.args[5] = pack_out;
    kill_rounds(&pk, took);

    if (clt_file_exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz")) {
        char pre_ref[400], pre_out[400];
        snprintf(pre_ref, sizeof pre_ref, "%s/f", ref);
        snprintf(pre_out, sizeof pre_out, "%s/f", out);
        job fm = {"fmnist", {"cltransfer-data", "fmnist", "-o", pre_ref, "--classes", "0,2,4,6,8", NULL}, ref, out,
                  {"f_train.pack", "f_train.mean", "f_test.pack", NULL}, {"f_train.classes.txt", "f_test.report.txt", NULL}};
        took = run_timed(fm.args, &rc);
        t_check(rc == 0, "fmnist: the uninterrupted run exits 0 (%.2f s)", took);
        fm.args[3] = pre_out;
        kill_rounds(&fm, took);
    } else {
        printf("SKIP fmnist: Debian's dataset-fashion-mnist is not installed\n");
    }
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) printf("cannot remove %s\n", tmp);
    return t_done();
}
