/* study_schema.c — the table of every key of a study file; conf/study/README.md tells the story. */
#include "study/study_schema.h"

#include <string.h>

#include "net/treatment.h"
#include "util/util.h"

#define SEEDS 4294967295.0
static const clt_study_key KEYS[] = {
    {"study", "name", CLT_SK_TEXT, 0, 0, NULL, "the study's name (default: the file's name)"},
    {"study", "output", CLT_SK_TEXT, 0, 0, NULL, "the run folder RUN (default: runs/NAME)"},
    {"study", "seed", CLT_SK_INT, 0, 2147483647.0, "1", "mixed into every network's seed (a hash of it and the network's id)"},
    {"study", "repeats", CLT_SK_INT, 1, 1000, "1", "every network R times (repeat k > 0 is NAME-rK, with repeat k's base)"},
    {"study", "layers", CLT_SK_LIST, 1, 7, "1-7", "the n of terms without their own list: 1-7, 1,3,5,7"},
    {"study", "iterations", CLT_SK_INT, 1, 1e12, NULL,
     "the budget in one place: every network's solver.max_iter, with the lr drop (stepsize) at 2/3 of it"},
    {"study", "validations", CLT_SK_INT, 1, 1000000, "1",
     "with iterations: validations per network, evenly spaced, the last at the end (test_interval, snapshot)"},
    {"study", "jobs", CLT_SK_INT, 1, 4096, "1", "networks at a time for the local runner"},
    {"study", "description", CLT_SK_TEXT, 0, 0, NULL, "a paragraph for report.md"},
    {"source", "kind", CLT_SK_TEXT, 0, 0, NULL, "fmnist or imagenet (required)"},
    {"source", "input", CLT_SK_TEXT, 0, 0, NULL,
     "fmnist: the folder of the idx files (default: cltransfer-data's); imagenet: the ILSVRC2012 train folder"},
    {"source", "val_list", CLT_SK_TEXT, 0, 0, NULL, "imagenet: the validation list, 'file label' lines (required)"},
    {"source", "val_root", CLT_SK_TEXT, 0, 0, NULL, "imagenet: the folder of the validation images (required)"},
    {"source", "classes", CLT_SK_INT, 2, 1000000, NULL, "class count of the whole set, for random halves (default: 10 / 1000)"},
    {"source", "packs", CLT_SK_TEXT, 0, 0, NULL, "where prepared data goes (default: RUN/data)"},
    {"source", "seed", CLT_SK_INT, 0, SEEDS, "0", "seed of the reduced subsets"},
    {"source", "options", CLT_SK_TEXT, 0, 0, NULL, "extra flags for cltransfer-data fmnist / pack"},
    {"report", "best", CLT_SK_INT, 1, 100000, "10", "K of the metric: the mean of the K highest validation top-1"},
    {"report", "tolerance", CLT_SK_FRACTION, 0, 1, "0.005", "τ of the findings' rules, top-1 as a fraction"},
    {"split", "random", CLT_SK_INT, 0, SEEDS, NULL, "random halves drawn with this seed"},
    {"split", "natman", CLT_SK_BOOL, 0, 0, "no", "ImageNet's natural (A) / man-made (B) halves"},
    {"split", "a", CLT_SK_LIST, 0, 999999, NULL, "half A's classes (0 2 3 4 6); with b"},
    {"split", "b", CLT_SK_LIST, 0, 999999, NULL, "half B's classes; with a"},
    {"split", "dissimilar", CLT_SK_BOOL, 0, 0, NULL, "the report's Figure 3 split (default: yes for natman and explicit halves)"},
    {"split", "base", CLT_SK_TEXT, 0, 0, "A B", "which halves get a base net"},
    {"split", "selffer", CLT_SK_TERMS, 1, 7, NULL, "AnA BnB: layers 1..n from the half's own base, frozen"},
    {"split", "selffer_ft", CLT_SK_TERMS, 1, 7, NULL, "the same, fine-tuned"},
    {"split", "transfer", CLT_SK_TERMS, 1, 7, NULL, "AnB BnA: layers 1..n from the other half's base, frozen"},
    {"split", "transfer_ft", CLT_SK_TERMS, 1, 7, NULL, "the same, fine-tuned"},
    {"split", "random_frozen", CLT_SK_TEXT, 0, 0, NULL, "B or B:LAYERS: layers 1..n random and frozen, trained on that half"},
    {"split", "layers", CLT_SK_LIST, 1, 7, NULL, "this split's n (default: [study] layers)"},
    {"split", "repeats", CLT_SK_INT, 1, 1000, NULL, "this split's repeats (default: [study] repeats)"},
    {"split", "base_repeats", CLT_SK_INT, 1, 1000, NULL,
     "base nets trained this many times (default: repeats); the extra ones measure the seed spread"},
    {"whole", "base", CLT_SK_BOOL, 0, 0, "no", "a base net on all classes"},
    {"whole", "random_frozen", CLT_SK_LIST, 1, 7, NULL, "random frozen nets on all classes at these n"},
    {"whole", "reduced", CLT_SK_LIST, 1, 100000000, NULL, "reduced-dataset nets: training images per class (1 2 5 10 ...)"},
    {"whole", "repeats", CLT_SK_INT, 1, 1000, NULL, "this section's repeats (default: [study] repeats)"},
};
#undef SEEDS

const clt_study_key *clt_study_key_find(const char *section, const char *key) {
    size_t len = strcspn(section, " ");
    for (size_t i = 0; i < CLT_ARRAY_LEN(KEYS); i++)
        if (strlen(KEYS[i].section) == len && !strncmp(KEYS[i].section, section, len) && !strcmp(KEYS[i].key, key))
            return &KEYS[i];
    return NULL;
}

void clt_study_print_schema(FILE *out) {
    const char *section = "";
    for (size_t i = 0; i < CLT_ARRAY_LEN(KEYS); i++) {
        const clt_study_key *k = &KEYS[i];
        if (strcmp(k->section, section)) {
            section = k->section;
            fprintf(out, "  [%s%s]\n", section, !strcmp(section, "split") ? " NAME" : "");
        }
        fprintf(out, "    %-15s %s", k->key, k->help);
        if (k->dflt) fprintf(out, " [%s]", k->dflt);
        fprintf(out, "\n");
    }
    fprintf(out, "  [device] [data] [net] [solver]\n    keys every network gets (the trainer's schema: cltransfer --help)\n"
                 "  [treatment NAMES]\n    section.key = value for those treatments only; treatments:");
    for (int t = 0; t < CLT_TREATMENTS; t++) fprintf(out, " %s", clt_treatment_name(t));
    fprintf(out, "\n");
}
