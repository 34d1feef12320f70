/* test_tune.c — the CLBlast tuner on a tiny bounded search: one small product of each shape class,
   a budget of a few seconds and one candidate per search (what is in effect, so nothing new to
   compile), a database in a temporary folder. Checks that it finishes within its budget, stores
   lines for exactly this device that load back and apply, leaves other lines alone, and that
   `--if-untuned` then sees the device as tuned. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/gemm.h"
#include "device/tuning.h"
#include "testutil.h"
#include "tune/tune.h"

static clt_gemm_shape shape(const char *name, bool ta, bool tb, size_t m, size_t n, size_t k) {
    clt_gemm_shape s;
    memset(&s, 0, sizeof s);
    snprintf(s.net, sizeof s.net, "tiny");
    snprintf(s.name, sizeof s.name, "%s", name);
    snprintf(s.form, sizeof s.form, "fwd");
    s.ta = ta, s.tb = tb, s.m = m, s.n = n, s.k = k;
    s.lda = ta ? m : k, s.ldb = tb ? k : n, s.ldc = n;
    return s;
}

int main(void) {
    clt_device *d = t_device();
    clt_gemm_shape shapes[] = {shape("wide", false, true, 96, 128, 80), shape("narrow", false, false, 32, 256, 48),
                               shape("longk", false, false, 24, 40, 2048), shape("tn", true, false, 160, 128, 32)};
    bool seen[CLT_GEMM_N_CLASSES] = {0};
    for (size_t i = 0; i < CLT_ARRAY_LEN(shapes); i++) {
        const clt_gemm_shape *s = &shapes[i];
        seen[clt_gemm_class_of(s->ta, s->tb, s->m, s->n, s->k)] = true;
    }
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) t_check(seen[c], "the workload has a %s shape", clt_gemm_class_names[c]);

    char dir[] = "/tmp/clt-tune-XXXXXX";
    t_check(mkdtemp(dir) != NULL, "temporary folder");
    char path[128];
    snprintf(path, sizeof path, "%s/tuning.txt", dir);
    /* a line of another device, which the store must keep */
    FILE *f = fopen(path, "w");
    fputs("Xgemm | GPU | Other | other | 1 | * | MWG=64\n", f);
    fclose(f);

    const double budget = 3;
    /* one candidate per search, what is in effect: nothing new to compile */
    clt_tune_options o = {.budget_s = budget, .store = path, .verbose = 1, .max_candidates = 1, .shapes = shapes,
                          .n_shapes = (int)CLT_ARRAY_LEN(shapes)};
    bool had_class[CLT_GEMM_N_CLASSES];
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) had_class[c] = clt_tuning_has_class(d, (clt_gemm_class)c);
    double t0 = clt_now();
    int r = clt_tune(d, &o);
    double took = clt_now() - t0;
    t_check(r == 0, "the tuner finishes");
    /* the budget is a target the search stops at, not a hard limit: each search still times what
       is in effect once, and the direct kernel's search has a floor */
    t_check(took < budget + 60, "a %.0f s budget ends in %.1f s", budget, took);

    clt_tuning_db db = {0};
    t_check(clt_tuning_load(&db, path) == 0, "the stored database loads");
    clt_tuning_key key;
    clt_tuning_key_of(d, &key);
    const char *want[] = {"Xgemm", "XgemmDirect", "GemmRoutine"};
    for (size_t w = 0; w < CLT_ARRAY_LEN(want); w++) {
        const clt_tuning_entry *e = clt_tuning_find(&db, &key, want[w]);
        t_check(e && clt_tuning_exact_for(e, &key), "a %s line stored for exactly this device", want[w]);
    }
    /* a class whose set differs from the kernel-wide one (here: the databases' class lines, the
       only candidates timed) is stored as a class line */
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) {
        if (!had_class[c]) continue;
        char name[48];
        snprintf(name, sizeof name, "Xgemm/%s", clt_gemm_class_names[c]);
        const clt_tuning_entry *e = clt_tuning_find(&db, &key, name);
        t_check(e && clt_tuning_exact_for(e, &key), "the %s set in effect is stored as a class line", clt_gemm_class_names[c]);
    }
    bool other = false;
    for (int i = 0; i < db.n; i++) other |= !strcmp(db.entries[i].device, "other");
    t_check(other, "the other device's line is kept");
    clt_tuning_free(&db);
    bool tuned = false;
    t_check(clt_tuning_has_exact(path, &key, &tuned) == 0 && tuned, "the device now counts as tuned (--if-untuned)");

    /* the stored database is what a later device open applies */
    setenv("CLTRANSFER_TUNING", path, 1);
    t_check(clt_tuning_apply(d) == 0, "the stored lines apply");
    unsetenv("CLTRANSFER_TUNING");
    t_check(clt_tuning_apply(d) == 0, "and the usual databases apply again");

    unlink(path);
    rmdir(dir);
    return t_done();
}
