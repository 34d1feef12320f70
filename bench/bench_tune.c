/* bench_tune.c — `cltransfer-bench tune`: searches CLBlast parameters for the device in use and
   stores them in the user's tuning database, which every later device open loads. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bench.h"
#include "net/net.h"
#include "tune/tune.h"
#include "device/tuning.h"
#include "util/util.h"

static void usage(FILE *out) {
    char *user = clt_tuning_user_path();
    fprintf(out,
            "usage: cltransfer-bench tune [options]\n"
            "  --device SEL       device index or name substring (default: first GPU, else first device)\n"
            "  --time-budget S    seconds to search (default 600); compiling dominates on CPU drivers\n"
            "  --chunk N          CaffeNet images per convolution in the workload (default 4)\n"
            "  --arch NAME        tune on every GEMM of this net (small or caffenet) instead of both nets'\n"
            "                     sample; with --widths W1,..,W7 (as [net] widths) and --batch N\n"
            "  --store FILE       database to write (default %s)\n"
            "  --dry-run          search and report, store nothing\n"
            "  --no-step-check    store the search's choice as it is; by default training steps of the\n"
            "                     default study's net (or --arch's) time it, and it with the switch that\n"
            "                     was in effect, against what was in effect, which stays unless beaten by 3%%\n"
            "  --if-untuned       do nothing when a database already holds lines stored for exactly this\n"
            "                     device and driver (what setup.sh runs)\n"
            "  --race FILE        instead of searching, time the Xgemm/XgemmDirect lines of FILE (database\n"
            "                     format) side by side on the workload\n"
            "  --repeats N        timed passes per candidate with --race (default 5)\n"
            "  --net NAME         with --race: every shape of small or caffenet instead of the workload\n"
            "  -q, --quiet        no per-candidate lines\n",
            user);
    free(user);
}

/* Whether a database holds lines for exactly this device: the one the tuner would write, and
   every one clt_tuning_apply reads. */
static int already_tuned(clt_device *d, const char *store, bool *tuned) {
    clt_tuning_key key;
    clt_tuning_key_of(d, &key);
    const char *env = getenv("CLTRANSFER_TUNING");
    char *paths[4] = {store ? clt_strdup(store) : NULL, clt_tuning_user_path(), clt_tuning_repo_path(),
                      env && *env && strcasecmp(env, "off") && strcasecmp(env, "none") ? clt_strdup(env) : NULL};
    int r = 0;
    for (int i = 0; i < 4; i++) {
        if (paths[i] && r == 0 && !*tuned) {
            r = clt_tuning_has_exact(paths[i], &key, tuned);
            if (r == 0 && *tuned)
                fprintf(stderr, "tune: %s already holds tuning for %s (driver %s)\n", paths[i], d->name,
                        d->driver_version);
        }
        free(paths[i]);
    }
    return r;
}

int bench_tune(int argc, char **argv) {
    static const struct option opts[] = {{"device", required_argument, 0, 'd'}, {"time-budget", required_argument, 0, 'b'},
                                         {"chunk", required_argument, 0, 'c'},  {"store", required_argument, 0, 's'},
                                         {"dry-run", no_argument, 0, 'n'},      {"race", required_argument, 0, 'r'},
                                         {"repeats", required_argument, 0, 'R'}, {"quiet", no_argument, 0, 'q'},
                                         {"net", required_argument, 0, 'N'},    {"if-untuned", no_argument, 0, 'u'},
                                         {"arch", required_argument, 0, 'a'},   {"widths", required_argument, 0, 'w'},
                                         {"batch", required_argument, 0, 'B'},  {"no-step-check", no_argument, 0, 'S'},
                                         {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *device = NULL, *race = NULL, *net = NULL, *arch_name = NULL, *widths = NULL;
    long batch = 0;
    clt_tune_options o = {.budget_s = 600, .chunk = 4, .verbose = 1};
    long repeats = 5;
    bool if_untuned = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
        switch (c) {
        case 'd': device = optarg; break;
        case 'b': o.budget_s = strtod(optarg, NULL); break;
        case 'c': o.chunk = (size_t)strtoul(optarg, NULL, 10); break;
        case 's': o.store = optarg; break;
        case 'n': o.dry_run = true; break;
        case 'r': race = optarg; break;
        case 'R': repeats = strtol(optarg, NULL, 10); break;
        case 'q': o.verbose = 0; break;
        case 'N': net = optarg; break;
        case 'u': if_untuned = true; break;
        case 'a': arch_name = optarg; break;
        case 'w': widths = optarg; break;
        case 'B': batch = strtol(optarg, NULL, 10); break;
        case 'S': o.no_step_check = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || o.budget_s <= 0 || repeats < 1 || batch < 0 || ((widths || batch) && !arch_name)) {
        usage(stderr);
        return 2;
    }
    clt_arch arch;
    if (arch_name) {
        if (bench_arch(arch_name, widths, &arch) != 0) return 2;
        o.arch = &arch;
        o.batch = batch ? (int)batch : !strcmp(arch_name, "small") ? 128 : 64;
        o.chunk = 0; /* whole batches, as the trainer runs them where memory allows */
    }
    clt_device d;
    if (clt_device_open(&d, device) != 0) return 1;
    if (if_untuned && !race) {
        bool tuned = false;
        int r = already_tuned(&d, o.store, &tuned);
        if (r != 0 || tuned) {
            clt_device_close(&d);
            return r == 0 ? 0 : 1;
        }
    }
    fprintf(stderr, "in effect before tuning:\n");
    clt_tuning_print(&d, stderr, false);
    int r = race ? clt_tune_race(&d, race, (int)repeats, o.chunk, net) : clt_tune(&d, &o);
    clt_device_close(&d);
    return r == 0 ? 0 : 1;
}
