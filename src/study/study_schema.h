/* study_schema.h — the study file's keys as one table (type, bounds, default, help), read by the
   study loader for bounds and unknown keys and printed by `cltransfer study --help`. */
#ifndef CLT_STUDY_SCHEMA_H
#define CLT_STUDY_SCHEMA_H

#include <stdio.h>

typedef enum clt_study_key_type {
    CLT_SK_TEXT,     /* free text */
    CLT_SK_INT,      /* a whole number in [min, max] */
    CLT_SK_BOOL,     /* yes / no */
    CLT_SK_FRACTION, /* a number in [min, max) */
    CLT_SK_LIST,     /* numbers and ranges (1-3,5), each in [min, max] */
    CLT_SK_TERMS,    /* AnB BnA ... terms, each optionally with :LAYERS */
} clt_study_key_type;

typedef struct clt_study_key {
    const char *section; /* "split" stands for every [split NAME] */
    const char *key;
    clt_study_key_type type;
    double min, max;
    const char *dflt;    /* as written in the help; NULL: none or it depends (the help says on what) */
    const char *help;
} clt_study_key;

/* The row of section (a file's section name: "split random" finds the "split" rows) and key, or NULL. */
const clt_study_key *clt_study_key_find(const char *section, const char *key);

/* The study file's sections and keys, one line each, for --help. */
void clt_study_print_schema(FILE *out);

#endif
