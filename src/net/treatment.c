/* treatment.c — the names of the study's treatments (treatment.h). */
#include "net/treatment.h"

#include <string.h>

#define CLT_TREATMENT_NAME_(id, name) name,
static const char *const NAMES[CLT_TREATMENTS] = {CLT_TREATMENT_LIST(CLT_TREATMENT_NAME_)};
#undef CLT_TREATMENT_NAME_

const char *clt_treatment_name(int t) { return t >= 0 && t < CLT_TREATMENTS ? NAMES[t] : ""; }

int clt_treatment_index(const char *name) {
    for (int t = 0; t < CLT_TREATMENTS; t++)
        if (!strcmp(NAMES[t], name)) return t;
    return -1;
}
