/* test_tuning.c — the CLBlast tuning database: parsing, errors naming file:line, matching a device
   key with specific entries before fallbacks, kernel rules, and storing entries. Opens no device
   and runs no tuner. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "device/tuning.h"

static clt_tuning_key key(const char *type, const char *platform, const char *device, const char *driver,
                          const char *simd) {
    clt_tuning_key k;
    memset(&k, 0, sizeof k);
    snprintf(k.type, sizeof k.type, "%s", type);
    snprintf(k.platform, sizeof k.platform, "%s", platform);
    snprintf(k.device, sizeof k.device, "%s", device);
    snprintf(k.driver, sizeof k.driver, "%s", driver);
    snprintf(k.simd, sizeof k.simd, "%s", simd);
    return k;
}

static const char *DB =
    "# a comment\n"
    "\n"
    "Xgemm | CPU | Portable Computing Language | pthread-skylake-avx512-AMD EPYC* | 3.1* | 16 | GEMMK=0 MWG=128 NWG=64 "
    "KWG=16 MDIMC=16 NDIMC=8 MDIMA=16 NDIMB=8 KWI=2 VWM=8 VWN=1\n"
    "  Xgemm|CPU|portable computing language|*|*|16|MWG=64   \n"
    "Xgemm | CPU | Portable Computing Language | * | * | * | MWG=32\n"
    "GemmRoutine | * | * | * | * | * | XGEMM_MIN_INDIRECT_SIZE=128\n";

static void test_parse_and_match(void) {
    clt_tuning_db db = {0};
    t_check(clt_tuning_parse(&db, DB, "db.txt") == 0 && db.n == 4, "a well-formed database parses (%d entries)", db.n);
    t_check(db.n == 4 && db.entries[0].line == 3 && db.entries[1].line == 4 && !strcmp(db.entries[1].source, "db.txt"),
            "entries remember file and line");
    t_check(db.n == 4 && db.entries[0].n == 11 && clt_tuning_get(db.entries[0].n, (const char(*)[32])db.entries[0].names,
                                                                 db.entries[0].values, "MWG", 0) == 128,
            "parameters are read as NAME=value");

    clt_tuning_key here = key("CPU", "Portable Computing Language", "pthread-skylake-avx512-AMD EPYC", "3.1+debian", "16");
    const clt_tuning_entry *e = clt_tuning_find(&db, &here, "Xgemm");
    t_check(e && e->line == 3, "this machine's device matches its own line first");

    clt_tuning_key xeon = key("CPU", "Portable Computing Language",
                              "pthread-cascadelake-Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", "4.0", "16");
    e = clt_tuning_find(&db, &xeon, "Xgemm");
    t_check(e && e->line == 4, "another AVX-512 PoCL CPU gets the AVX-512 fallback (case-insensitive)");

    clt_tuning_key avx2 = key("CPU", "Portable Computing Language", "pthread-haswell-Intel(R) Core(TM) i7", "3.1", "8");
    e = clt_tuning_find(&db, &avx2, "Xgemm");
    t_check(e && e->line == 5, "an AVX2 PoCL CPU gets the any-PoCL-CPU fallback");

    clt_tuning_key gpu = key("GPU", "NVIDIA CUDA", "NVIDIA H100 80GB HBM3", "550.54", "1");
    t_check(clt_tuning_find(&db, &gpu, "Xgemm") == NULL, "a GPU does not get CPU entries");
    e = clt_tuning_find(&db, &gpu, "GemmRoutine");
    t_check(e && e->line == 6, "a match-anything line applies to every device");
    t_check(clt_tuning_find(&db, &gpu, "XgemmDirect") == NULL, "a kernel without lines has no match");
    clt_tuning_free(&db);
}

static void expect_error(const char *text, const char *what) {
    clt_tuning_db db = {0};
    fprintf(stderr, "(expected error follows) ");
    int r = clt_tuning_parse(&db, text, "bad.txt");
    t_check(r == -1, "malformed line refused: %s", what);
    clt_tuning_free(&db);
}

static void test_errors(void) {
    expect_error("Xgemm | CPU | * | * | * | *\n", "six columns");
    expect_error("Xgemm | CPU | * | * | * | * | MWG=64 | x\n", "eight columns");
    expect_error("Xgem | CPU | * | * | * | * | MWG=64\n", "unknown kernel");
    expect_error("Xgemm | TPU | * | * | * | * | MWG=64\n", "unknown device type");
    expect_error("Xgemm | CPU | * | * | * | sixteen | MWG=64\n", "simd not a number");
    expect_error("Xgemm | CPU | * | * | * | * | MWG\n", "parameter without =");
    expect_error("Xgemm | CPU | * | * | * | * | mwg=64\n", "lower-case parameter");
    expect_error("Xgemm | CPU | * | * | * | * | MWG=-4\n", "negative value");
    expect_error("Xgemm | CPU | * | * | * | * | MWG=6x4\n", "non-numeric value");
    expect_error("Xgemm | CPU | * | * | * | * | MWG=64 MWG=32\n", "parameter twice");
    expect_error("Xgemm/tall | CPU | * | * | * | * | MWG=64\n", "unknown shape class");
    expect_error("Xaxpy/tn | CPU | * | * | * | * | WGS=64\n", "a shape class on a kernel clt_gemm does not run");
    expect_error("Xgemm/ | CPU | * | * | * | * | MWG=64\n", "an empty shape class");
    expect_error("Xgemm | CPU | * | * | * | * |   \n", "no parameters");
    expect_error("Xgemm | CPU | | * | * | * | MWG=64\n", "empty column");
    expect_error("Xgemm | CPU | * | * | * | * | GEMMK=0 MWG=64 NWG=64 KWG=32 MDIMC=16 NDIMC=16 MDIMA=16 NDIMB=16 "
                 "KWI=2 VWM=8 VWN=1\n",
                 "MWG not a multiple of MDIMC*VWM");
    expect_error("XgemmDirect | CPU | * | * | * | * | WGD=32 MDIMCD=8 NDIMCD=8 MDIMAD=8 NDIMBD=8 KWID=3 VWMD=1 VWND=1\n",
                 "WGD not a multiple of KWID");

    /* the error names the file and the line */
    char path[] = "/tmp/clt-tuning-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "# header\nXgemm | CPU | * | * | * | * | MWG=64\nXgemm | CPU | * | * | *\n";
    t_check(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text), "temporary database written");
    close(fd);
    /* catch what clt_error prints, to see that it names the place */
    char errpath[] = "/tmp/clt-tuning-err-XXXXXX";
    int efd = mkstemp(errpath);
    fflush(stderr);
    int saved = dup(2);
    dup2(efd, 2);
    clt_tuning_db db = {0};
    int r = clt_tuning_load(&db, path);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(efd);
    size_t len = 0;
    char *msg = clt_read_file(errpath, &len);
    char want[128];
    snprintf(want, sizeof want, "%s:3:", path);
    t_check(r == -1 && msg && strstr(msg, want), "load error names file and line (%s)", msg ? msg : "no message");
    free(msg);
    clt_tuning_free(&db);
    unlink(path);
    unlink(errpath);

    clt_tuning_db none = {0};
    t_check(clt_tuning_load(&none, "/nonexistent/tuning.txt") == 0 && none.n == 0, "a missing file is no error");
}

static void test_rules(void) {
    const char names[11][32] = {"GEMMK", "MWG", "NWG", "KWG", "MDIMC", "NDIMC", "MDIMA", "NDIMB", "KWI", "VWM", "VWN"};
    size_t good[11] = {0, 128, 64, 16, 16, 8, 16, 8, 2, 8, 1};
    char why[200];
    t_check(clt_tuning_valid("Xgemm", 11, names, good, why, sizeof why), "a consistent Xgemm set passes");
    size_t bad_kwg[11] = {0, 128, 64, 4, 16, 8, 8, 8, 2, 8, 1}; /* KWG must be a multiple of 16*8/8 */
    t_check(!clt_tuning_valid("Xgemm", 11, names, bad_kwg, why, sizeof why) && strstr(why, "KWG"),
            "KWG below the local loading share is refused (%s)", why);
    size_t bad_vw[11] = {0, 128, 64, 16, 16, 8, 16, 8, 2, 3, 1};
    t_check(!clt_tuning_valid("Xgemm", 11, names, bad_vw, why, sizeof why), "vector width 3 is refused");
    t_check(clt_tuning_valid("Xgemm", 1, names + 1, good + 1, why, sizeof why), "a partial set is left to apply time");
}

static void test_store(void) {
    char dir[] = "/tmp/clt-tuning-store-XXXXXX";
    t_check(mkdtemp(dir) != NULL, "temporary folder");
    char path[128];
    snprintf(path, sizeof path, "%s/sub/tuning.txt", dir);
    clt_tuning_key k = key("GPU", "NVIDIA CUDA", "Odd [name] *with* globs", "1.0", "1");
    const char *kernels[2] = {"Xgemm", "GemmRoutine"};
    const char xg_names[2][32] = {"MWG", "NWG"}, gr_names[1][32] = {"XGEMM_MIN_INDIRECT_SIZE"};
    const size_t xg_values[2] = {64, 32}, gr_values[1] = {256};
    const int counts[2] = {2, 1};
    const char(*names[2])[32] = {xg_names, gr_names};
    const size_t *values[2] = {xg_values, gr_values};
    t_check(clt_tuning_store(path, &k, 2, kernels, counts, names, values, "first") == 0, "store creates the file");

    const size_t xg2[2] = {128, 64};
    const size_t *values2[1] = {xg2};
    t_check(clt_tuning_store(path, &k, 1, kernels, counts, names, values2, "second") == 0, "store replaces");

    clt_tuning_db db = {0};
    t_check(clt_tuning_load(&db, path) == 0, "stored file parses");
    const clt_tuning_entry *e = clt_tuning_find(&db, &k, "Xgemm");
    int n_xgemm = 0;
    for (int i = 0; i < db.n; i++) n_xgemm += !strcmp(db.entries[i].kernel, "Xgemm");
    t_check(e && n_xgemm == 1 && e->values[0] == 128, "the new Xgemm line replaced the old one (%d lines)", n_xgemm);
    t_check(clt_tuning_find(&db, &k, "GemmRoutine") != NULL, "lines of other kernels stay");
    clt_tuning_key other = key("GPU", "NVIDIA CUDA", "Odd [name] Xwith* globs", "1.0", "1");
    t_check(clt_tuning_find(&db, &other, "Xgemm") == NULL, "glob characters in names are stored escaped");
    clt_tuning_free(&db);
    unlink(path);
    char sub[140];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    rmdir(sub);
    rmdir(dir);
}

static void test_classes_and_exact(void) {
    const char *text = "Xgemm/longk | CPU | * | * | * | * | MWG=16 NWG=32\n"
                       "Xgemm/tn | CPU | * | * | * | * | MWG=16\n"
                       "Xgemm | CPU | * | * | * | * | MWG=32\n";
    clt_tuning_db db = {0};
    t_check(clt_tuning_parse(&db, text, "classes.txt") == 0 && db.n == 3, "KERNEL/CLASS lines parse");
    clt_tuning_key cpu = key("CPU", "Portable Computing Language", "pthread-zen5", "6.0", "16");
    const clt_tuning_entry *e = clt_tuning_find(&db, &cpu, "Xgemm/longk");
    t_check(e && e->line == 1 && e->n == 2, "a class line is found under its own name");
    e = clt_tuning_find(&db, &cpu, "Xgemm");
    t_check(e && e->line == 3, "the kernel's own line is not shadowed by its class lines");
    t_check(clt_tuning_find(&db, &cpu, "Xgemm/narrow") == NULL, "a class without a line has none");
    clt_tuning_free(&db);
    for (int c = 0; c < CLT_GEMM_N_CLASSES; c++)
        t_check(clt_gemm_class_names[c] && *clt_gemm_class_names[c], "class %d has a name", c);

    /* what the tuner stores is exact for the device; a glob line is a fallback */
    char dir[] = "/tmp/clt-tuning-exact-XXXXXX";
    t_check(mkdtemp(dir) != NULL, "temporary folder");
    char path[128];
    snprintf(path, sizeof path, "%s/tuning.txt", dir);
    bool found = true;
    t_check(clt_tuning_has_exact(path, &cpu, &found) == 0 && !found, "a missing database holds no exact line");
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    t_check(clt_tuning_has_exact(path, &cpu, &found) == 0 && !found, "glob lines are not exact for a device");
    const char *kernels[3] = {"Xgemm", "Xgemm/longk", "Xgemm/tn"};
    const char xg_names[1][32] = {"MWG"};
    const size_t xg_values[1] = {64};
    const int counts[3] = {1, 1, 0}; /* the tn line of this device is dropped, not written */
    const char(*names[3])[32] = {xg_names, xg_names, xg_names};
    const size_t *values[3] = {xg_values, xg_values, xg_values};
    t_check(clt_tuning_store(path, &cpu, 3, kernels, counts, names, values, "exact") == 0, "store with classes");
    t_check(clt_tuning_has_exact(path, &cpu, &found) == 0 && found, "a stored line is exact for its device");
    clt_tuning_key other = key("CPU", "Portable Computing Language", "pthread-zen5", "6.1", "16");
    t_check(clt_tuning_has_exact(path, &other, &found) == 0 && !found, "another driver version is not exact");
    clt_tuning_db back = {0};
    t_check(clt_tuning_load(&back, path) == 0, "the stored database parses");
    int exact_longk = 0, exact_tn = 0, glob_tn = 0;
    for (int i = 0; i < back.n; i++) {
        const clt_tuning_entry *b = &back.entries[i];
        bool exact = clt_tuning_exact_for(b, &cpu);
        exact_longk += exact && !strcmp(b->kernel, "Xgemm/longk") && b->values[0] == 64;
        exact_tn += exact && !strcmp(b->kernel, "Xgemm/tn");
        glob_tn += !exact && !strcmp(b->kernel, "Xgemm/tn");
    }
    t_check(exact_longk == 1, "the class line was stored for the device");
    t_check(exact_tn == 0 && glob_tn == 1, "a class given no parameters gets no line (the glob one stays)");
    clt_tuning_free(&back);
    unlink(path);
    rmdir(dir);
}

static void test_repo_database(void) {
    char *p = clt_tuning_repo_path();
    t_check(p != NULL, "the committed conf/clblast-tuning.txt is found");
    clt_tuning_db db = {0};
    int loaded = p ? clt_tuning_load(&db, p) : -1;
    t_check(loaded == 0 && db.n > 0, "the committed database parses (%d entries)", db.n);
    clt_tuning_key here = key("CPU", "Portable Computing Language", "pthread-skylake-avx512-AMD EPYC", "3.1+debian", "16");
    clt_tuning_key xeon = key("CPU", "Portable Computing Language", "pthread-icelake-server-Intel(R) Xeon(R)", "5.0", "16");
    clt_tuning_key avx2 = key("CPU", "Portable Computing Language", "cpu-haswell-AMD Ryzen", "4.0", "8");
    clt_tuning_key gpu = key("GPU", "NVIDIA CUDA", "NVIDIA H100 80GB HBM3", "550", "1");
    t_check(clt_tuning_find(&db, &here, "Xgemm") != NULL, "this machine's PoCL device has an Xgemm entry");
    t_check(clt_tuning_find(&db, &xeon, "Xgemm") != NULL, "any AVX-512 PoCL CPU has an Xgemm entry");
    t_check(clt_tuning_find(&db, &avx2, "Xgemm") != NULL, "any PoCL CPU has an Xgemm entry");
    t_check(clt_tuning_find(&db, &gpu, "Xgemm") == NULL, "GPUs keep CLBlast's own database");
    clt_tuning_free(&db);
    free(p);
}

int main(void) {
    test_parse_and_match();
    test_errors();
    test_rules();
    test_store();
    test_classes_and_exact();
    test_repo_database();
    return t_done();
}
