/* study_run.c — runs a study's graph on this machine: one process per node, N at a time, finished
   nodes skipped, interrupted networks resumed, failures reported with their logs and their
   dependents skipped, signals forwarded so every network stops at a snapshot. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "study/study.h"

enum { ST_PENDING, ST_RUNNING, ST_DONE, ST_FAILED, ST_SKIPPED };

typedef struct slot {
    pid_t pid;      /* 0: free */
    int node;
    double started;
    long long start_iter;
} slot;

enum { RATE_MINUTES = 30 };

typedef struct runner {
    const clt_study *s;
    const clt_study_run_options *opt;
    int *state;
    long long *iter;    /* last iteration seen in a running network's metrics.csv */
    double *chain;      /* work of each node and its longest line of dependents (work_chains) */
    slot *slots;
    int nets, nets_done, nets_failed, nets_skipped, nets_at_start;
    double t0, work_done, last_plain;
    /* (time, work done) once a minute over the last RATE_MINUTES: the ETA's rate follows what the
       machine gives now, not an average over a start shared with other work */
    double rate_t[RATE_MINUTES], rate_done[RATE_MINUTES];
    int rate_n, rate_next;
    int tty, line_shown;
    int lock; /* the run folder's lock, which every node process inherits */
} runner;

static volatile sig_atomic_t g_signal, g_signal_count;

static void on_signal(int sig) {
    g_signal = sig;
    g_signal_count++;
}

static void fmt_duration(char *buf, size_t n, double s) {
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

/* The last iteration in a metrics.csv: its last complete line's first field. */
static long long last_iter(const char *dir) {
    char *path = clt_path_join(dir, "metrics.csv");
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f) return 0;
    char buf[512];
    long long it = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0;
        fseek(f, from, SEEK_SET);
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = 0;
        char *end = strrchr(buf, '\n');
        if (end) {
            *end = 0;
            char *line = strrchr(buf, '\n');
            line = line ? line + 1 : buf;
            char *e;
            long long v = strtoll(line, &e, 10);
            if (e != line && *e == ',') it = v;
        }
    }
    fclose(f);
    return it;
}

static int term_width(void) {
    struct winsize w;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 20) return w.ws_col;
    return 80;
}

static int running_count(const runner *r) {
    int n = 0;
    for (int i = 0; i < r->opt->jobs; i++) n += r->slots[i].pid != 0;
    return n;
}

/* The share of a network's work (study.h) that `iterations` of its training stand for. */
static double work_at(const clt_study_node *n, double iterations) {
    return n->cost > 0 ? n->work * CLT_MAX(0, CLT_MIN(iterations, n->cost)) / n->cost : 0;
}

/* Work finished this session and work left (multiply-adds), for the ETA. */
static void work(const runner *r, double *done, double *left) {
    *done = r->work_done;
    *left = 0;
    for (int i = 0; i < r->s->nnodes; i++)
        if (r->state[i] == ST_PENDING) *left += r->s->nodes[i].work;
    for (int k = 0; k < r->opt->jobs; k++) {
        const slot *sl = &r->slots[k];
        if (!sl->pid) continue;
        const clt_study_node *n = &r->s->nodes[sl->node];
        double at = work_at(n, (double)r->iter[sl->node]);
        *done += CLT_MAX(0, at - work_at(n, (double)sl->start_iter));
        *left += n->work - at;
    }
}

static void sample_rate(runner *r, double now) {
    int last = (r->rate_next + RATE_MINUTES - 1) % RATE_MINUTES;
    if (r->rate_n && now - r->rate_t[last] < 60) return;
    double done, left;
    work(r, &done, &left);
    r->rate_t[r->rate_next] = now;
    r->rate_done[r->rate_next] = done;
    r->rate_next = (r->rate_next + 1) % RATE_MINUTES;
    r->rate_n = CLT_MIN(r->rate_n + 1, RATE_MINUTES);
}

/* Work per second: over the sampled window once it spans 10 minutes with progress in it, else
   since the start. */
static double work_rate(const runner *r, double now, double done) {
    if (r->rate_n) {
        int oldest = r->rate_n < RATE_MINUTES ? 0 : r->rate_next;
        double span = now - r->rate_t[oldest], gained = done - r->rate_done[oldest];
        if (span >= 600 && gained > 0) return gained / span;
    }
    double elapsed = now - r->t0;
    return elapsed > 1 ? done / elapsed : 0;
}

static void progress_text(const runner *r, char *buf, size_t n, int with_nets) {
    double done, left, now = clt_now();
    work(r, &done, &left);
    double rate = work_rate(r, now, done);
    char eta[32] = "--";
    if (done > 0 && rate > 0) fmt_duration(eta, sizeof eta, left / rate);
    if (left == 0) snprintf(eta, sizeof eta, "0s");
    int len = snprintf(buf, n, "[%s] %d/%d networks done, %d running", r->s->name, r->nets_done, r->nets,
                       running_count(r));
    if (r->nets_failed + r->nets_skipped)
        len += snprintf(buf + len, n - len, ", %d failed, %d skipped", r->nets_failed, r->nets_skipped);
    len += snprintf(buf + len, n - len, ", ETA %s", eta);
    for (int k = 0; with_nets && k < r->opt->jobs && (size_t)len < n; k++) {
        const slot *sl = &r->slots[k];
        if (!sl->pid) continue;
        const clt_study_node *nd = &r->s->nodes[sl->node];
        if (nd->kind == CLT_NODE_NET)
            len += snprintf(buf + len, n - len, " | %s %lld/%.0f", nd->id, r->iter[sl->node], nd->cost);
        else
            len += snprintf(buf + len, n - len, " | %s", nd->id);
    }
}

static void show_progress(runner *r) {
    if (!r->opt->progress || !r->tty) return;
    char buf[1024];
    progress_text(r, buf, sizeof buf, 1);
    int w = term_width() - 1;
    if ((int)strlen(buf) > w) buf[w] = 0;
    fprintf(stderr, "\r\033[K%s", buf);
    fflush(stderr);
    r->line_shown = 1;
}

/* A line that stays: on a terminal it goes above the live line. */
static void event(runner *r, const char *fmt, ...) CLT_PRINTF(2, 3);
static void event(runner *r, const char *fmt, ...) {
    if (r->tty && r->line_shown) fprintf(stderr, "\r\033[K");
    r->line_shown = 0;
    time_t now = time(NULL);
    char stamp[16];
    strftime(stamp, sizeof stamp, "%H:%M:%S", localtime(&now));
    fprintf(stderr, "[%s] ", stamp);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static void plain_progress(runner *r, int force) {
    if (r->tty && r->opt->progress) return;
    double now = clt_now();
    if (!force && now - r->last_plain < 60) return;
    r->last_plain = now;
    char buf[1024];
    progress_text(r, buf, sizeof buf, 0);
    event(r, "%s", buf);
}

static pid_t spawn(const runner *r, int node, int slot_index) {
    const clt_study_node *n = &r->s->nodes[node];
    const char *argv[10];
    int argc = 0;
    if (n->kind == CLT_NODE_DATA) {
        argv[argc++] = "/bin/sh";
        argv[argc++] = n->file;
    } else {
        argv[argc++] = r->opt->trainer;
        argv[argc++] = "-c";
        argv[argc++] = n->file;
        argv[argc++] = "--resume";
        argv[argc++] = "--quiet";
        if (r->opt->ndevices) {
            argv[argc++] = "--device";
            argv[argc++] = r->opt->devices[slot_index % r->opt->ndevices];
        }
    }
    argv[argc] = NULL;
    pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        clt_error("fork for %s: %s", n->id, strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Its own process group, so a terminal's Ctrl-C reaches only the runner, which forwards it
           once; and SIGTERM if the runner dies, so no network trains on unwatched. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) _exit(1);
        struct sigaction dfl = {0};
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGINT, &dfl, NULL);
        sigaction(SIGTERM, &dfl, NULL);
        sigaction(SIGHUP, &dfl, NULL);
        int fd = open(n->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (fd >= 0) {
            time_t now = time(NULL);
            char stamp[64];
            strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime(&now));
            dprintf(fd, "== %s cltransfer study:", stamp);
            for (int i = 0; argv[i]; i++) dprintf(fd, " %s", argv[i]);
            dprintf(fd, "\n");
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (nul >= 0) dup2(nul, 0);
        /* The node holds the run's lock too, so a runner killed with SIGKILL leaves the folder locked
           until its networks have written their last snapshot and exited: a rerun cannot start a
           second trainer on a folder that one still writes. */
        fcntl(r->lock, F_SETFD, 0);
        if (r->opt->threads > 0) {
            char t[16];
            snprintf(t, sizeof t, "%d", r->opt->threads);
            setenv("POCL_MAX_PTHREAD_COUNT", t, 1);
        }
        execv(argv[0], (char *const *)argv);
        dprintf(2, "cltransfer study: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    return pid;
}

/* The order among ready nodes: earlier repeats first, so a long study stopped part-way holds whole
   repeats that the report can read; then earlier stages, and data before networks (they unlock the
   most); then the longest chain of work first (a node's work and its dependents', critical-path
   order), so base nets go before nets that unlock nothing and the last minutes are not one long
   net running alone. */
static int runs_before(const runner *r, int i, int b) {
    const clt_study_node *n = &r->s->nodes[i], *m = &r->s->nodes[b];
    if (n->repeat != m->repeat) return n->repeat < m->repeat;
    if (n->stage != m->stage) return n->stage < m->stage;
    if (n->kind != m->kind) return n->kind == CLT_NODE_DATA;
    return r->chain[i] > r->chain[b];
}

/* chain[i]: node i's work plus the largest chain among the nodes that depend on it. Dependencies
   come earlier in the node list (study.h), so one pass from the end settles every chain. */
static double *work_chains(const clt_study *s) {
    double *chain = clt_calloc((size_t)s->nnodes, sizeof *chain);
    for (int i = s->nnodes - 1; i >= 0; i--) {
        chain[i] += s->nodes[i].work;
        for (int d = 0; d < s->nodes[i].ndeps; d++) {
            int dep = s->nodes[i].deps[d];
            chain[dep] = CLT_MAX(chain[dep], chain[i]);
        }
    }
    return chain;
}

static int pick_ready(const runner *r) {
    int best = -1;
    for (int i = 0; i < r->s->nnodes; i++) {
        if (r->state[i] != ST_PENDING) continue;
        const clt_study_node *n = &r->s->nodes[i];
        if (r->opt->data_only && n->kind == CLT_NODE_NET) continue;
        int ready = 1;
        for (int d = 0; d < n->ndeps; d++) ready &= r->state[n->deps[d]] == ST_DONE;
        if (!ready) continue;
        if (best < 0 || runs_before(r, i, best)) best = i;
    }
    return best;
}

static void skip_dependents(runner *r) {
    for (int changed = 1; changed;) {
        changed = 0;
        for (int i = 0; i < r->s->nnodes; i++) {
            if (r->state[i] != ST_PENDING) continue;
            const clt_study_node *n = &r->s->nodes[i];
            for (int d = 0; d < n->ndeps; d++) {
                int ds = r->state[n->deps[d]];
                if (ds != ST_FAILED && ds != ST_SKIPPED) continue;
                r->state[i] = ST_SKIPPED;
                r->nets_skipped += n->kind == CLT_NODE_NET;
                event(r, "skip    %s (needs %s)", n->id, r->s->nodes[n->deps[d]].id);
                changed = 1;
                break;
            }
        }
    }
}

static void finished(runner *r, int k, int status) {
    slot *sl = &r->slots[k];
    int i = sl->node;
    const clt_study_node *n = &r->s->nodes[i];
    char took[32];
    fmt_duration(took, sizeof took, clt_now() - sl->started);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    int done = code == 0 && clt_study_node_done(n);
    if (n->kind == CLT_NODE_NET) {
        double reached = done ? n->work : work_at(n, (double)r->iter[i]);
        r->work_done += CLT_MAX(0, reached - work_at(n, (double)sl->start_iter));
        r->iter[i] = 0;
    }
    sl->pid = 0;
    if (done) {
        r->state[i] = ST_DONE;
        r->nets_done += n->kind == CLT_NODE_NET;
        event(r, "done    %s in %s (%d/%d networks)", n->id, took, r->nets_done, r->nets);
        return;
    }
    if (g_signal && (code == 130 || code == 128 + SIGINT || code == 128 + SIGTERM)) {
        r->state[i] = ST_PENDING; /* stopped on request: resumes next time */
        event(r, "stopped %s after %s (resumes from its last snapshot)", n->id, took);
        return;
    }
    r->state[i] = ST_FAILED;
    r->nets_failed += n->kind == CLT_NODE_NET;
    const char *why = code == 3    ? "diverged (exit 3)"
                      : code == 2  ? "config error (exit 2)"
                      : code == 0  ? "exited 0 without finishing"
                      : code == 127 ? "could not be started (exit 127)"
                                   : NULL;
    char whybuf[64];
    if (!why) {
        if (WIFSIGNALED(status))
            snprintf(whybuf, sizeof whybuf, "killed by signal %d", WTERMSIG(status));
        else
            snprintf(whybuf, sizeof whybuf, "exit %d", code);
        why = whybuf;
    }
    if (n->kind == CLT_NODE_NET) {
        char *log = clt_path_join(n->dir, "log.txt");
        event(r, "FAILED  %s after %s: %s; see %s and %s", n->id, took, why, log, n->log);
        free(log);
    } else {
        event(r, "FAILED  %s after %s: %s; see %s", n->id, took, why, n->log);
    }
}

static int lock_run(const clt_study *s) {
    return clt_lock_folder(s->run_dir,
                           "another `cltransfer study` is running it, or networks of a stopped one are still "
                           "finishing (they inherit the lock)");
}

int clt_study_run(const clt_study *s, const clt_study_run_options *opt) {
    if (clt_study_materialise(s) != 0) return 1;
    int lock = lock_run(s);
    if (lock < 0) return 1;
    runner r = {0};
    r.s = s;
    r.opt = opt;
    r.lock = lock;
    r.state = clt_calloc((size_t)s->nnodes, sizeof *r.state);
    r.iter = clt_calloc((size_t)s->nnodes, sizeof *r.iter);
    r.chain = work_chains(s);
    r.slots = clt_calloc((size_t)opt->jobs, sizeof *r.slots);
    r.tty = isatty(STDERR_FILENO);
    for (int i = 0; i < s->nnodes; i++) {
        const clt_study_node *n = &s->nodes[i];
        r.nets += n->kind == CLT_NODE_NET;
        if (clt_study_node_done(n)) {
            r.state[i] = ST_DONE;
            r.nets_done += n->kind == CLT_NODE_NET;
        }
    }
    r.nets_at_start = r.nets_done;

    g_signal = g_signal_count = 0;
    struct sigaction sa = {0}, old_int, old_term, old_hup;
    sa.sa_handler = on_signal; /* no SA_RESTART: the sleep below wakes up at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);

    char threads[48] = "";
    if (opt->threads > 0) snprintf(threads, sizeof threads, ", POCL_MAX_PTHREAD_COUNT=%d each", opt->threads);
    event(&r, "study %s: %d networks, %d already finished; %d at a time%s; run folder %s", s->name, r.nets,
          r.nets_done, opt->jobs, threads, s->run_dir);
    r.t0 = clt_now();
    r.last_plain = r.t0;
    int forwarded = 0;
    double last_poll = 0;
    for (;;) {
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
            for (int k = 0; k < opt->jobs; k++)
                if (r.slots[k].pid == pid) finished(&r, k, status);
        if (g_signal && forwarded < g_signal_count) {
            if (!forwarded)
                event(&r, "stopping on signal %d: waiting for %d running to snapshot and exit", (int)g_signal,
                      running_count(&r));
            for (int k = 0; k < opt->jobs; k++)
                if (r.slots[k].pid) kill(-r.slots[k].pid, g_signal);
            forwarded = g_signal_count;
        }
        skip_dependents(&r);
        for (int k = 0; k < opt->jobs && !g_signal; k++) {
            if (r.slots[k].pid) continue;
            int i = pick_ready(&r);
            if (i < 0) break;
            const clt_study_node *n = &s->nodes[i];
            long long from = n->kind == CLT_NODE_NET ? last_iter(n->dir) : 0;
            pid_t p = spawn(&r, i, k);
            if (p < 0) {
                r.state[i] = ST_FAILED;
                r.nets_failed += n->kind == CLT_NODE_NET;
                continue;
            }
            r.slots[k] = (slot){p, i, clt_now(), from};
            r.iter[i] = from;
            r.state[i] = ST_RUNNING;
            event(&r, "start   %s%s", n->id, from ? " (resuming)" : "");
        }
        if (!running_count(&r) && (g_signal || pick_ready(&r) < 0)) break;
        double now = clt_now();
        if (now - last_poll >= 1) {
            last_poll = now;
            for (int k = 0; k < opt->jobs; k++)
                if (r.slots[k].pid && s->nodes[r.slots[k].node].kind == CLT_NODE_NET)
                    r.iter[r.slots[k].node] = CLT_MAX(r.iter[r.slots[k].node], last_iter(s->nodes[r.slots[k].node].dir));
            sample_rate(&r, now);
            show_progress(&r);
            plain_progress(&r, 0);
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (r.tty && r.line_shown) fprintf(stderr, "\r\033[K");
    r.line_shown = 0;
    char took[32];
    fmt_duration(took, sizeof took, clt_now() - r.t0);
    int rc, data_left = 0;
    for (int i = 0; i < s->nnodes; i++) data_left += s->nodes[i].kind == CLT_NODE_DATA && r.state[i] != ST_DONE;
    if (opt->data_only && !g_signal) {
        event(&r, "study %s: data %s in %s", s->name, data_left ? "preparation failed" : "ready", s->packs_dir);
        rc = data_left ? 1 : 0;
    } else if (g_signal) {
        event(&r, "study %s stopped: %d/%d networks done; run the same command again to resume", s->name,
              r.nets_done, r.nets);
        rc = 130;
    } else if (r.nets_failed || r.nets_skipped || r.nets_done < r.nets) {
        int data_failed = 0;
        for (int i = 0; i < s->nnodes; i++) data_failed += s->nodes[i].kind == CLT_NODE_DATA && r.state[i] == ST_FAILED;
        event(&r, "study %s: %d/%d networks done in %s; %d failed, %d skipped%s", s->name, r.nets_done, r.nets, took,
              r.nets_failed + data_failed, r.nets_skipped, data_failed ? " (data preparation failed)" : "");
        rc = 1;
    } else {
        event(&r, "study %s: all %d networks done (%d this run, in %s)", s->name, r.nets, r.nets_done - r.nets_at_start,
              took);
        rc = 0;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    close(lock);
    free(r.state);
    free(r.iter);
    free(r.chain);
    free(r.slots);
    return rc;
}
