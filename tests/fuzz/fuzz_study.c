/* fuzz_study.c — libFuzzer target for clt_study_load: the study file parser and its expansion into
   networks (configs, dependencies), which feeds the trainer's config parser. Each expanded network's
   config must load with clt_config_parse. */
#include <string.h>

#include "net/config.h"
#include "fuzz_common.h"
#include "study/study.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    clt_study s;
    clt_study_options opt = {.run_dir = "/nonexistent/run", .data_tool = "cltransfer-data"};
    if (clt_study_load(&s, fuzz_file(data, size), &opt) == 0) {
        for (int i = 0; i < s.nnodes; i++) {
            const clt_study_node *n = &s.nodes[i];
            for (int d = 0; d < n->ndeps; d++)
                if (n->deps[d] < 0 || n->deps[d] >= i) abort(); /* deps come earlier */
            if (n->kind != CLT_NODE_NET) continue;
            clt_config c;
            clt_config_defaults(&c);
            if (clt_config_parse(&c, n->file, n->text) != 0) {
                fprintf(stdout, "network %s: its generated config does not load:\n%s\n", n->id, n->text);
                fflush(stdout);
                abort();
            }
        }
        clt_study_free(&s);
    }
    return 0;
}
