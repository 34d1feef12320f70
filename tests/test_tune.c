/* test_tune.c — the CLBlast tuner on a tiny bounded search: one small product of each shape class,
   a budget of a few seconds and one candidate per search (what is in effect, so nothing new to
   compile), a database in a temporary folder. Checks that it finishes within its budget, stores
   lines for exactly this device that load back and apply, leaves other lines alone, that its
   training-step check times what was in effect against its choice and stores the set its rule
   keeps (both outcomes), and that `--if-untuned` then sees the device as tuned. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device/gemm.h"
#include "device/tuning.h"
#include "net/net.h"
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

/* Stand-ins for timed training steps: one set twice as fast as the other. */
static double chosen_faster(void *ctx, clt_tune_set set) {
    (void)ctx;
    return set == CLT_TUNE_IN_EFFECT ? 0.2 : 0.1;
}
static double in_effect_faster(void *ctx, clt_tune_set set) {
    (void)ctx;
    return set == CLT_TUNE_IN_EFFECT ? 0.1 : 0.2;
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

    /* A switch in effect that no search can pick (the candidates are 1, 2^20 and one above each
       shape's cube root): the search's choice then differs from what is in effect, and the
       training-step check has two sets to judge. */
    char in_effect[160];
    snprintf(in_effect, sizeof in_effect, "%s/in-effect.txt", dir);
    const size_t old_switch = 7;
    f = fopen(in_effect, "w");
    fprintf(f, "GemmRoutine | * | * | * | * | * | XGEMM_MIN_INDIRECT_SIZE=%zu\n", old_switch);
    fclose(f);
    setenv("CLTRANSFER_TUNING", in_effect, 1);
    t_check(clt_tuning_reload(d, NULL) == 0, "a database with the switch at %zu applies", old_switch);

    /* the check's net: the small net's shape, narrow, at a few images */
    clt_arch step_arch;
    clt_arch_small(&step_arch);
    const int narrow[5] = {8, 16, 16, 16, 16};
    for (int i = 0; i < 5; i++) step_arch.conv[i].out = narrow[i];
    step_arch.fc[0] = step_arch.fc[1] = 32, step_arch.fc[2] = 5;

    const double budget = 3;
    /* one candidate per search, what is in effect: nothing new to compile */
    clt_tune_report rep;
    clt_tune_options o = {.budget_s = budget, .store = path, .verbose = 1, .max_candidates = 1, .shapes = shapes,
                          .n_shapes = (int)CLT_ARRAY_LEN(shapes), .step_arch = &step_arch, .step_batch = 8,
                          .report = &rep};
    bool had_class[CLT_GEMM_N_CLASSES];
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++) had_class[c] = clt_tuning_has_class(d, (clt_gemm_class)c);
    int r = clt_tune(d, &o);
    t_check(r == 0, "the tuner finishes");
    /* the budget is a target the search stops at, not a hard limit: each search still times what
       is in effect once, and the direct kernel's search has a floor; the training-step check
       comes after it, outside the budget */
    t_check(rep.search_s < budget + 60, "a %.0f s budget ends the search in %.1f s", budget, rep.search_s);

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

    /* the training-step check timed both sets and stored the one its rule keeps */
    t_check(rep.checked && rep.step_s[CLT_TUNE_IN_EFFECT] > 0 && rep.step_s[CLT_TUNE_CHOSEN] > 0,
            "training steps timed with what was in effect (%.2f ms) and the search's choice (%.2f ms)",
            1e3 * rep.step_s[CLT_TUNE_IN_EFFECT], 1e3 * rep.step_s[CLT_TUNE_CHOSEN]);
    t_check(rep.threshold[CLT_TUNE_IN_EFFECT] == old_switch && rep.threshold[CLT_TUNE_CHOSEN] != old_switch,
            "the sets differ in the switch (%zu in effect, %zu chosen)", rep.threshold[CLT_TUNE_IN_EFFECT],
            rep.threshold[CLT_TUNE_CHOSEN]);
    t_check(rep.step_s[CLT_TUNE_CHOSEN_OLD_SWITCH] == 0, "the choice with the old switch is what was in effect, not timed twice");
    bool chosen_wins = rep.step_s[CLT_TUNE_CHOSEN] * 1.03 < rep.step_s[CLT_TUNE_IN_EFFECT];
    t_check(rep.kept == (chosen_wins ? CLT_TUNE_CHOSEN : CLT_TUNE_IN_EFFECT), "kept: %s", clt_tune_set_names[rep.kept]);
    const clt_tuning_entry *sw = clt_tuning_find(&db, &key, "GemmRoutine");
    size_t stored_switch = sw ? clt_tuning_get(sw->n, (const char(*)[32])sw->names, sw->values, "XGEMM_MIN_INDIRECT_SIZE", 0) : 0;
    t_check(stored_switch == rep.threshold[rep.kept], "the kept set's switch is stored (%zu)", stored_switch);
    size_t running = 0;
    bool read = clt_tuning_param(d, "GemmRoutine", "XGEMM_MIN_INDIRECT_SIZE", &running) == 0;
    t_check(read && running == rep.threshold[rep.kept], "and the device is left running it (%zu)", running);
    clt_tuning_free(&db);

    /* the other outcome, from step times that say the set not kept is twice as fast */
    clt_tune_set want_kept = rep.kept == CLT_TUNE_CHOSEN ? CLT_TUNE_IN_EFFECT : CLT_TUNE_CHOSEN;
    o.step_seconds = want_kept == CLT_TUNE_CHOSEN ? chosen_faster : in_effect_faster;
    t_check(clt_tune(d, &o) == 0, "the tuner finishes again");
    t_check(rep.checked && rep.kept == want_kept, "with the step times reversed it keeps %s", clt_tune_set_names[want_kept]);
    memset(&db, 0, sizeof db);
    t_check(clt_tuning_load(&db, path) == 0, "the stored database loads");
    sw = clt_tuning_find(&db, &key, "GemmRoutine");
    stored_switch = sw ? clt_tuning_get(sw->n, (const char(*)[32])sw->names, sw->values, "XGEMM_MIN_INDIRECT_SIZE", 0) : 0;
    t_check(stored_switch == rep.threshold[want_kept], "and stores its switch (%zu)", stored_switch);
    t_check(clt_tuning_find(&db, &key, "Xgemm") && clt_tuning_exact_for(clt_tuning_find(&db, &key, "Xgemm"), &key),
            "with an Xgemm line for exactly this device");
    clt_tuning_free(&db);
    unsetenv("CLTRANSFER_TUNING");
    bool tuned = false;
    t_check(clt_tuning_has_exact(path, &key, &tuned) == 0 && tuned, "the device now counts as tuned (--if-untuned)");

    /* the stored database is what a later device open applies */
    setenv("CLTRANSFER_TUNING", path, 1);
    t_check(clt_tuning_apply(d) == 0, "the stored lines apply");
    unsetenv("CLTRANSFER_TUNING");
    t_check(clt_tuning_apply(d) == 0, "and the usual databases apply again");

    unlink(path);
    unlink(in_effect);
    rmdir(dir);
    return t_done();
}
