/* test_study.c — the study expander: paper.ini against the published networks CSV (one network per
   row, nothing else) with the right dependencies and configs, the other committed study files,
   overrides, and study files that must be refused. No device, no files written. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "study/report.h"
#include "study/study.h"
#include "testutil.h"
#include "util/util.h"

static const char *source_dir(void) {
    const char *d = getenv("CLT_SOURCE_DIR");
    return d ? d : CLT_SOURCE_DIR;
}

static int load(clt_study *s, const char *rel, const char **sets, int nsets, const char **net_sets, int nnet) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", source_dir(), rel);
    clt_study_options o = {0};
    o.run_dir = "/nonexistent/run";
    o.data_tool = "/nonexistent/cltransfer-data";
    o.sets = sets;
    o.nsets = nsets;
    o.net_sets = net_sets;
    o.nnet_sets = nnet;
    return clt_study_load(s, path, &o);
}

static int count_nets(const clt_study *s) {
    int n = 0;
    for (int i = 0; i < s->nnodes; i++) n += s->nodes[i].kind == CLT_NODE_NET;
    return n;
}

static const clt_study_node *by_id(const clt_study *s, const char *id) {
    for (int i = 0; i < s->nnodes; i++)
        if (!strcmp(s->nodes[i].id, id)) return &s->nodes[i];
    return NULL;
}

static int has_dep(const clt_study *s, const clt_study_node *n, const char *id) {
    for (int d = 0; d < n->ndeps; d++)
        if (!strcmp(s->nodes[n->deps[d]].id, id)) return 1;
    return 0;
}

/* The dependencies every node must have, and no others. */
static int deps_right(const clt_study *s, const clt_study_node *n, char *why, size_t nwhy) {
    char want[2][96];
    int nwant = 0;
    if (n->kind == CLT_NODE_DATA) {
        if (!strncmp(n->id, "data/reduced", 12)) snprintf(want[nwant++], 96, "data/whole");
    } else if (!strcmp(n->treatment, "reduced")) {
        snprintf(want[nwant++], 96, "data/reduced%04d", n->per_class);
    } else {
        snprintf(want[nwant++], 96, "data/%s", n->split);
        if (strstr(n->treatment, "selffer") || strstr(n->treatment, "transfer"))
            snprintf(want[nwant++], 96, "%s/base_%c%s", n->split, n->base[0] == 'A' ? 'a' : 'b',
                     n->repeat ? "-r1" : "");
    }
    if (n->ndeps != nwant) {
        snprintf(why, nwhy, "%s has %d dependencies, wants %d", n->id, n->ndeps, nwant);
        return 0;
    }
    for (int k = 0; k < nwant; k++)
        if (!has_dep(s, n, want[k])) {
            snprintf(why, nwhy, "%s does not depend on %s", n->id, want[k]);
            return 0;
        }
    for (int d = 0; d < n->ndeps; d++)
        if (n->deps[d] >= n - s->nodes) {
            snprintf(why, nwhy, "%s comes before its dependency", n->id);
            return 0;
        }
    return 1;
}

static void test_paper(void) {
    clt_study s;
    int rc = load(&s, "conf/study/paper.ini", NULL, 0, NULL, 0);
    t_check(rc == 0, "paper.ini loads");
    if (rc) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/conf/reference/yosinski2014_networks.csv", source_dir());
    clt_result *ref;
    int nref;
    t_check(clt_report_read_reference(path, &ref, &nref) == 0 && nref == 147, "the reference CSV has 147 networks (%d)",
            nref);
    t_check(count_nets(&s) == nref, "paper.ini has as many networks as the reference CSV (%d, %d)", count_nets(&s), nref);

    /* One network per published row: treatment, split, halves and n agree. */
    int *matched = clt_calloc((size_t)s.nnodes, sizeof *matched), unmatched = 0;
    for (int r = 0; r < nref; r++) {
        int hits = 0;
        for (int i = 0; i < s.nnodes; i++) {
            const clt_study_node *n = &s.nodes[i];
            if (n->kind != CLT_NODE_NET || strcmp(n->treatment, ref[r].treatment) || strcmp(n->split, ref[r].split) ||
                strcmp(n->base, ref[r].base) || strcmp(n->target, ref[r].target))
                continue;
            int nn = !strcmp(n->treatment, "reduced") ? n->per_class : n->n;
            if (nn != ref[r].n) continue;
            hits++;
            matched[i]++;
        }
        if (hits != 1) {
            if (!unmatched) fprintf(stderr, "  row %s matches %d networks\n", ref[r].network, hits);
            unmatched++;
        }
    }
    t_check(unmatched == 0, "every published network is in paper.ini exactly once (%d rows are not)", unmatched);
    int extra = 0;
    for (int i = 0; i < s.nnodes; i++) extra += s.nodes[i].kind == CLT_NODE_NET && matched[i] != 1;
    t_check(extra == 0, "paper.ini has no network the CSV lacks (%d)", extra);
    free(matched);
    free(ref);

    /* Dependencies: transfer and selffer nets wait for their base, bases for data only. */
    char why[256] = "";
    int bad = 0;
    for (int i = 0; i < s.nnodes && !bad; i++) bad = !deps_right(&s, &s.nodes[i], why, sizeof why);
    t_check(!bad, "every node has exactly its dependencies %s", why);
    const clt_study_node *a3b = by_id(&s, "0/a3b"), *base = by_id(&s, "0/base_a");
    t_check(a3b && base && a3b->stage == 2 && base->stage == 1 && by_id(&s, "data/0")->stage == 0,
            "stages: data 0, bases 1, transfer 2");
    if (a3b) {
        t_check(strstr(a3b->text, "base = /nonexistent/run/nets/0/base_a/final.ckpt\n") != NULL,
                "0/a3b copies base_a's final.ckpt");
        t_check(strstr(a3b->text, "layers = 3\nmode = frozen\n") != NULL, "0/a3b: 3 layers, frozen");
        t_check(strstr(a3b->text, "train = data/imagenet/0/B_train.pack\n") || strstr(a3b->text, "/0/B_train.pack\n"),
                "0/a3b trains on split 0's B half");
        t_check(strstr(a3b->text, "[study]\ntreatment = transfer\nsplit = 0\nbase = A\ntarget = B\nrepeat = 0\n") != NULL,
                "0/a3b's [study] section");
        t_check(strstr(a3b->text, "fc8 = 1000\n") && strstr(a3b->text, "max_iter = 450000\n"),
                "0/a3b keeps 1000 outputs and 450k iterations");
    }
    const clt_study_node *ft = by_id(&s, "1/a4b_plus"), *rf = by_id(&s, "whole/random3"), *red = by_id(&s, "whole/reduced0005");
    t_check(ft && strstr(ft->text, "mode = finetune\n"), "1/a4b_plus fine-tunes");
    t_check(rf && strstr(rf->text, "layers = 3\nmode = random\n") && !strstr(rf->text, "base ="),
            "whole/random3: 3 random frozen layers, no base");
    t_check(red && strstr(red->text, "max_iter = 200000\n") && strstr(red->text, "per_class = 5\n") &&
                strstr(red->text, "reduced0005/train.pack\n") && strstr(red->text, "whole/all_val.pack\n"),
            "whole/reduced0005: 200k iterations, 5 per class, the whole validation set");
    const clt_study_node *nat = by_id(&s, "data/natman");
    t_check(nat && strstr(nat->text, "split --natman -o split\n"), "natman data: split --natman");
    clt_study_free(&s);
}

static void test_other_studies(void) {
    clt_study s;
    int rc = load(&s, "conf/study/fmnist.ini", NULL, 0, NULL, 0);
    t_check(rc == 0 && count_nets(&s) == 78, "fmnist.ini: 78 networks (%d)", rc ? -1 : count_nets(&s));
    if (rc == 0) {
        const clt_study_node *b = by_id(&s, "random/base_b"), *t = by_id(&s, "dissimilar/a7b");
        t_check(b && b->cost == 470 && t && t->cost == 470, "fmnist: bases and transfer nets alike 470 iterations");
        t_check(t && strstr(t->text, "max_iter = 470\nstepsize = 313\ntest_interval = 470\nsnapshot = 470\n"),
                "fmnist: [study] iterations sets the budget: lr drop at 2/3, one validation at the end");
        t_check(t && strstr(t->text, "init = he\n") && strstr(t->text, "arch = small\n") && !strstr(t->text, "widths ="),
                "fmnist: full-width small net, He init");
        t_check(by_id(&s, "random/base_a-r2") && by_id(&s, "random/base_b-r2") && !by_id(&s, "random/a1b-r1") &&
                    !by_id(&s, "dissimilar/base_a-r1"),
                "fmnist: the random split's base nets three times (the seed spread), nothing else repeated");
        const clt_study_node *base = by_id(&s, "random/base_b"), *a1 = by_id(&s, "random/a1b"),
                             *a5 = by_id(&s, "random/a5b"), *a5_plus = by_id(&s, "random/a5b_plus");
        t_check(base && a1 && a5 && a5_plus && a5_plus->work == base->work && base->work > a1->work &&
                    a1->work > a5->work && a5->work > 0 && a5->work < base->work / 2,
                "fmnist: the work the runner weighs: a fine-tuned net's is its base's, a frozen net's shrinks "
                "with its frozen layers (a5b %.3g of base_b %.3g)",
                a5 ? a5->work : 0, base ? base->work : 0);
        const clt_study_node *data = by_id(&s, "data/random");
        t_check(data && !strstr(data->text, "--test-per-class"), "fmnist: validation on the whole test half");
        clt_study_free(&s);
        const char *budget[] = {"study.iterations=90", "study.validations=4", "solver.stepsize=50"};
        rc = load(&s, "conf/study/fmnist.ini", budget, 3, NULL, 0);
        t = rc == 0 ? by_id(&s, "random/a1b_plus") : NULL;
        t_check(t && t->cost == 90 && t->validations == 4 &&
                    strstr(t->text, "max_iter = 90\nstepsize = 50\ntest_interval = 23\nsnapshot = 23\n"),
                "[study] iterations and validations: 4 validations of 90 iterations, a [solver] key wins");
        if (rc == 0) clt_study_free(&s);
        const char *too_many[] = {"study.iterations=10", "study.validations=11"};
        t_check(load(&s, "conf/study/fmnist.ini", too_many, 2, NULL, 0) != 0, "more validations than iterations is refused");
        rc = load(&s, "conf/study/fmnist.ini", NULL, 0, NULL, 0);
        t_check(!by_id(&s, "dissimilar/b7a"), "fmnist: the dissimilar split transfers one way only");
        t_check(s.best == 1, "fmnist: the metric is the one validation's top-1");
        char why[256] = "";
        int bad = 0;
        for (int i = 0; i < s.nnodes && !bad; i++) bad = !deps_right(&s, &s.nodes[i], why, sizeof why);
        t_check(!bad, "fmnist: every node has exactly its dependencies %s", why);
        clt_study_free(&s);
    }
    rc = load(&s, "conf/study/fmnist-full.ini", NULL, 0, NULL, 0);
    t_check(rc == 0 && count_nets(&s) == 222, "fmnist-full.ini: fmnist.ini's 74 networks three times (%d)",
            rc ? -1 : count_nets(&s));
    if (rc == 0) {
        const clt_study_node *t = by_id(&s, "random/a4b_plus-r2");
        t_check(t && t->cost == 3750 && t->validations == 10 && s.best == 3 && strstr(t->text, "base_a-r2/final.ckpt"),
                "fmnist-full: 8 epochs (3750 iterations of 64), 10 validations, the best 3; repeat 2 copies repeat 2's base");
        clt_study_free(&s);
    }
    rc = load(&s, "conf/study/caffenet.ini", NULL, 0, NULL, 0);
    t_check(rc == 0 && count_nets(&s) == 77, "caffenet.ini: 77 networks");
    if (rc == 0) {
        t_check(by_id(&s, "0/b3b") && by_id(&s, "0/b3a_plus") && by_id(&s, "whole/random7"),
                "caffenet.ini has both directions of every treatment");
        clt_study_free(&s);
    }
}

static void test_overrides(void) {
    clt_study s;
    const char *sets[] = {"study.repeats=2", "split r.layers=1"};
    const char *net_sets[] = {"solver.max_iter=7"};
    int rc = load(&s, "tests/data/study/tiny.ini", sets, 2, net_sets, 1);
    t_check(rc == 0, "tiny.ini loads with -s and -S");
    if (rc) return;
    const clt_study_node *r1 = by_id(&s, "r/a1b-r1"), *base = by_id(&s, "r/base_a-r1");
    t_check(r1 && base && has_dep(&s, r1, "r/base_a-r1"), "repeat 1 has its own base");
    t_check(!by_id(&s, "r/a2b"), "-s 'split r.layers=1' limits the default layers");
    t_check(by_id(&s, "r/a2b_plus") != NULL, "a term's own layers (AnB:2) stay");
    t_check(r1 && strstr(r1->text, "max_iter = 7\n") && base && strstr(base->text, "max_iter = 7\n"),
            "-S wins over the treatment's own setting");
    t_check(r1 && by_id(&s, "r/a1b") && strcmp(strstr(r1->text, "seed = "), strstr(by_id(&s, "r/a1b")->text, "seed = ")),
            "repeats get different seeds");
    clt_study_free(&s);
}

/* Each of these must be refused with an error, not expanded. */
static void test_refused(void) {
    static const char *BAD[][2] = {
        {"unknown key", "[split r]\nrandom = 0\nfrobnicate = 1\n"},
        {"unknown section", "[splits r]\nrandom = 0\n"},
        {"selffer across halves", "[split r]\nrandom = 0\nselffer = AnB\n"},
        {"transfer within a half", "[split r]\nrandom = 0\ntransfer = BnB\n"},
        {"a missing base", "[split r]\nrandom = 0\nbase = A\ntransfer = BnA\n"},
        {"layer 8", "[split r]\nrandom = 0\ntransfer = AnB:8\n"},
        {"two ways to split", "[split r]\nrandom = 0\nnatman = yes\ntransfer = AnB\n"},
        {"a section the study owns", "[run]\nseed = 3\n[split r]\nrandom = 0\n"},
        {"a key the study sets", "[data]\ntrain = x.pack\n[split r]\nrandom = 0\n"},
        {"a bad network setting", "[solver]\nmax_iter = lots\n[split r]\nrandom = 0\n"},
        {"a treatment override without a section", "[treatment base]\nmax_iter = 5\n[split r]\nrandom = 0\n"},
        {"a class out of range", "[split r]\na = 0 1 12\nb = 2 3\n"},
        {"no networks", "[study]\nname = x\n"},
        {"a list of more values than a list holds", "[whole]\nreduced = 1-100000000\n"},
        {"more networks than a study runs", "[whole]\nreduced = 1-6000\n"},
        {"a control character in the packs folder", "packs = data\x1d/x\n[split r]\nrandom = 0\n"},
    };
    char dir[] = "/tmp/clt_test_study.XXXXXX";
    if (!mkdtemp(dir)) return;
    char path[256];
    snprintf(path, sizeof path, "%s/bad.ini", dir);
    for (size_t i = 0; i < CLT_ARRAY_LEN(BAD); i++) {
        char text[512];
        snprintf(text, sizeof text, "[source]\nkind = fmnist\n%s", BAD[i][1]);
        clt_write_file_atomic(path, text, strlen(text));
        clt_study s;
        clt_study_options o = {0};
        o.run_dir = "/nonexistent/run";
        int rc = clt_study_load(&s, path, &o);
        t_check(rc != 0, "refuses %s", BAD[i][0]);
        if (rc == 0) clt_study_free(&s);
    }
    unlink(path);
    rmdir(dir);
}

int main(void) {
    test_paper();
    test_other_studies();
    test_overrides();
    test_refused();
    return t_done();
}
