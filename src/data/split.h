/* split.h — the study's class splits (random halves, man-made/natural from WordNet), class-list files,
   and the deterministic per-class subsets behind the reduced-dataset experiments. */
#ifndef CLT_SPLIT_H
#define CLT_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* Random halves of classes 0..k-1: a[k/2] = sorted(numpy choice(arange(k), k/2, replace=False)) after
   numpy.random.seed([seed]); b[k - k/2] the complement, sorted. */
void clt_split_random(uint32_t seed, int k, int *a, int *b);

/* The man-made/natural split of the ILSVRC-2012 classes (paper supplement C): a class below
   artifact (n00021939) in WordNet 3.0's hypernym closure is man-made, below organism (n00004475)
   natural, and each class below neither takes its category from the manual list (lines
   "wnid<TAB>man-made|natural<TAB>words", '#' comments). Writes sorted label indices (positions in
   the synset list) into nat[] and man[] (each room for all classes). */
int clt_split_natman(const char *data_noun, const char *synsets_path, const char *manual_path, int *nat,
                     int *n_nat, int *man, int *n_man);

/* A synset list: one wnid ("n" + 8 digits) a line, in label order. *wnids gets n strings. */
int clt_read_synsets(const char *path, char ***wnids, int *n);
void clt_free_strings(char **s, int n);

/* A class list: one original label index a line ('#' comments and blank lines allowed). Every index
   must be in [0, max_classes) and appear once; the list comes back sorted. */
int clt_read_class_list(const char *path, int max_classes, int **list, int *n);
int clt_write_class_list(const char *path, const int *list, int n);

/* Reduced datasets: per class c (labels[i] >= 0), its examples in input order e_0..e_{m-1}; if m > per_class,
   keep e_k for k in numpy's permutation(m)[:per_class] after numpy.random.seed([seed, c]), else keep all.
   keep[i] is set to 1 or 0. Seeding per class keeps a class's subset independent of the other classes,
   and the subsets nest: for one seed, the N examples kept are among the M kept for any M > N. */
void clt_select_per_class(const int *labels, size_t n, int per_class, uint32_t seed, unsigned char *keep);

#endif
