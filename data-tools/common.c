/* common.c — option parsing and reference-file lookup shared by cltransfer-data's subcommands. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "data_tools.h"
#include "util/util.h"

int dt_no_extra(int argc, char **argv, int first, const char *cmd) {
    if (first < argc) {
        clt_error("%s: unexpected argument '%s' (see %s --help)", cmd, argv[first], cmd);
        return DT_USAGE;
    }
    return 0;
}

char *dt_reference(const char *name) {
    char *exe = clt_exe_dir(), *cands[3] = {NULL, NULL, NULL};
    size_t len = strlen(name) + 4096;
    for (int i = 0; i < 3; i++) cands[i] = clt_malloc(len);
    snprintf(cands[0], len, "%s/../share/cltransfer/reference/%s", exe ? exe : ".", name);
    snprintf(cands[1], len, "%s/reference/%s", CLT_INSTALL_DATADIR, name);
    snprintf(cands[2], len, "%s/data-tools/reference/%s", CLT_SOURCE_DIR, name);
    free(exe);
    char *found = NULL;
    for (int i = 0; i < 3; i++) {
        if (!found && clt_file_exists(cands[i]))
            found = cands[i];
        else
            free(cands[i]);
    }
    if (!found) clt_error("cannot find the bundled reference file %s (looked beside the executable, in %s/reference and in %s/data-tools/reference); give its path with an option", name, CLT_INSTALL_DATADIR, CLT_SOURCE_DIR);
    return found;
}
