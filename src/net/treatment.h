/* treatment.h — the study's treatments, named once: the trainer's [study] treatment key, the study
   file's [treatment NAMES] sections, and the report all use this list. */
#ifndef CLT_TREATMENT_H
#define CLT_TREATMENT_H

/* X(ID, name), in the order the report lists them. */
#define CLT_TREATMENT_LIST(X)                                                                                 \
    X(BASE, "base")                                                                                           \
    X(SELFFER, "selffer")                                                                                     \
    X(SELFFER_FT, "selffer_ft")                                                                               \
    X(TRANSFER, "transfer")                                                                                   \
    X(TRANSFER_FT, "transfer_ft")                                                                             \
    X(RANDOM_FROZEN, "random_frozen")                                                                         \
    X(REDUCED, "reduced")

#define CLT_TREATMENT_ENUM_(id, name) CLT_T_##id,
typedef enum clt_treatment { CLT_TREATMENT_LIST(CLT_TREATMENT_ENUM_) CLT_TREATMENTS } clt_treatment;
#undef CLT_TREATMENT_ENUM_

/* "|base|selffer|…": the choices of an enum key that may also be empty (src/net/config.c). */
#define CLT_TREATMENT_CHOICE_(id, name) "|" name
#define CLT_TREATMENT_CHOICES "" CLT_TREATMENT_LIST(CLT_TREATMENT_CHOICE_)

/* The name of treatment t (0 ≤ t < CLT_TREATMENTS). */
const char *clt_treatment_name(int t);
/* The index of a name, or -1. */
int clt_treatment_index(const char *name);

#endif
