/* test_split.c — MT19937 and NumPy-exact random halves against committed NumPy output, per-class subsets,
   class-list validation, and the WordNet man-made/natural split against the study's lists. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/mt19937.h"
#include "data/split.h"
#include "testutil.h"
#include "util/util.h"

static const char *data_dir(void) {
    const char *d = getenv("CLT_TEST_DATA");
    return d ? d : CLT_SOURCE_DIR "/tests/data";
}

/* Reads a file of integers, one a line. */
static int *read_ints(const char *name, int *n) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", data_dir(), name);
    char *text = clt_read_file(path, NULL);
    *n = 0;
    if (!text) return NULL;
    int *v = clt_malloc((strlen(text) / 2 + 1) * sizeof *v);
    for (char *s = text, *end; *s; s = end) {
        long x = strtol(s, &end, 10);
        if (end == s) break;
        v[(*n)++] = (int)x;
    }
    free(text);
    return v;
}

static void test_mt(void) {
    /* the first outputs of mt19937ar.c's reference run, init_by_array({0x123, 0x234, 0x345, 0x456}) */
    static const uint32_t key[4] = {0x123, 0x234, 0x345, 0x456};
    static const uint32_t want[5] = {1067595299u, 955945823u, 477289528u, 4107218783u, 4228976476u};
    clt_mt mt;
    clt_mt_seed_array(&mt, key, 4);
    int ok = 1;
    for (int i = 0; i < 5; i++) ok &= clt_mt_next32(&mt) == want[i];
    t_check(ok, "mt19937 init_by_array matches the reference output");
    /* init_genrand(5489), the generator's default seed: the 10000th output is 4123659995 */
    clt_mt_seed(&mt, 5489);
    uint32_t v = 0;
    for (int i = 0; i < 10000; i++) v = clt_mt_next32(&mt);
    t_check(v == 4123659995u, "mt19937 init_genrand(5489) 10000th output (got %u)", v);
}

static void test_random(int k, uint32_t seed) {
    int *a = clt_malloc((size_t)k * sizeof *a), *b = clt_malloc((size_t)k * sizeof *b), na, nb;
    clt_split_random(seed, k, a, b);
    char name[128];
    snprintf(name, sizeof name, "split_random_k%d_seed%u_A.txt", k, seed);
    int *wa = read_ints(name, &na);
    snprintf(name, sizeof name, "split_random_k%d_seed%u_B.txt", k, seed);
    int *wb = read_ints(name, &nb);
    t_check(wa && wb && na == k / 2 && nb == k - k / 2 && !memcmp(a, wa, sizeof *a * (size_t)na) &&
                !memcmp(b, wb, sizeof *b * (size_t)nb),
            "random halves K=%d seed %u equal NumPy's (A[0..2] = %d %d %d)", k, seed, a[0], a[1], a[2]);
    free(a), free(b), free(wa), free(wb);
}

static void test_per_class(int n_keep) {
    static const int sizes[4] = {20, 7, 13, 1300};
    int n = 20 + 7 + 13 + 1300;
    int *labels = clt_malloc((size_t)n * sizeof *labels), left[4];
    memcpy(left, sizes, sizeof left);
    /* interleave the classes so grouping by label, not position, is what gets tested */
    for (int i = 0, c = 0; i < n; c = (c + 1) % 4) {
        if (!left[c]) continue;
        left[c]--;
        labels[i++] = c;
    }
    unsigned char *keep = clt_malloc((size_t)n);
    clt_select_per_class(labels, (size_t)n, n_keep, 7, keep);
    char name[64];
    snprintf(name, sizeof name, "per_class_seed7_n%d.txt", n_keep);
    int m, *want = read_ints(name, &m); /* pairs: class, position within the class */
    int ok = want != NULL, kept = 0, seen[4] = {0}, w = 0;
    /* walk the want list class by class in input order */
    for (int c = 0; c < 4 && ok; c++) {
        for (int i = 0; i < n; i++) {
            if (labels[i] != c) continue;
            int pos = seen[c]++;
            int expected = w + 1 < m && want[w] == c && want[w + 1] == pos;
            if (expected) w += 2;
            if (!!keep[i] != expected) ok = 0;
            kept += keep[i];
        }
    }
    t_check(ok && w == m, "per-class %d seed 7 keeps what NumPy's permutation gives (%d kept)", n_keep, kept);
    free(labels), free(keep), free(want);
}

static void test_nesting(void) {
    int n = 500, *labels = clt_malloc((size_t)n * sizeof *labels);
    for (int i = 0; i < n; i++) labels[i] = (i * 7) % 3;
    unsigned char *k5 = clt_malloc((size_t)n), *k50 = clt_malloc((size_t)n);
    clt_select_per_class(labels, (size_t)n, 5, 11, k5);
    clt_select_per_class(labels, (size_t)n, 50, 11, k50);
    int nested = 1, c5 = 0;
    for (int i = 0; i < n; i++) nested &= !k5[i] || k50[i], c5 += k5[i];
    t_check(nested && c5 == 15, "per-class subsets nest (5 per class within 50 per class)");
    free(labels), free(k5), free(k50);
}

static void write_text(const char *path, const char *text) { clt_write_file_atomic(path, text, strlen(text)); }

static void test_class_lists(void) {
    char dir[] = "/tmp/clt_test_split.XXXXXX";
    if (!mkdtemp(dir)) {
        t_check(0, "mkdtemp");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/list.txt", dir);
    int *list, n;
    write_text(path, "# comment\n3\n1\n\n2\n");
    t_check(clt_read_class_list(path, 10, &list, &n) == 0 && n == 3 && list[0] == 1 && list[2] == 3,
            "class list read and sorted");
    if (n == 3) free(list);
    write_text(path, "3\n3\n");
    fprintf(stderr, "(expected error follows)\n");
    t_check(clt_read_class_list(path, 10, &list, &n) != 0, "class list with a duplicate refused");
    write_text(path, "10\n");
    fprintf(stderr, "(expected error follows)\n");
    t_check(clt_read_class_list(path, 10, &list, &n) != 0, "class list with an index out of range refused");
    write_text(path, "x\n");
    fprintf(stderr, "(expected error follows)\n");
    t_check(clt_read_class_list(path, 10, &list, &n) != 0, "class list with a non-number refused");
    unlink(path);
    rmdir(dir);
}

static void test_natman(void) {
    const char *noun = "/usr/share/wordnet/data.noun";
    if (!clt_file_exists(noun)) {
        printf("SKIP natman split: %s not installed (Debian package wordnet-base)\n", noun);
        return;
    }
    int nat[1000], man[1000], n_nat, n_man, wn, wm;
    int rc = clt_split_natman(noun, CLT_SOURCE_DIR "/data-tools/reference/ilsvrc12_synsets.txt",
                              CLT_SOURCE_DIR "/data-tools/reference/natman_manual_68.txt", nat, &n_nat, man, &n_man);
    int *want_nat = read_ints("natman_nat.txt", &wn), *want_man = read_ints("natman_man.txt", &wm);
    t_check(rc == 0 && n_nat == wn && n_man == wm && !memcmp(nat, want_nat, sizeof(int) * (size_t)wn) &&
                !memcmp(man, want_man, sizeof(int) * (size_t)wm),
            "natman split from WordNet equals the study's lists (%d natural, %d man-made)", n_nat, n_man);
    free(want_nat), free(want_man);
}

int main(void) {
    test_mt();
    for (uint32_t s = 0; s < 4; s++) test_random(1000, s);
    for (uint32_t s = 0; s < 4; s++) test_random(10, s);
    test_per_class(5);
    test_per_class(250);
    test_nesting();
    test_class_lists();
    test_natman();
    return t_done();
}
