/* data_tools.h — cltransfer-data's subcommands and the small helpers they share. */
#ifndef CLT_DATA_TOOLS_H
#define CLT_DATA_TOOLS_H

#include <getopt.h>
#include <stdint.h>

int cmd_split(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_fmnist(int argc, char **argv);
int cmd_mean(int argc, char **argv);
int cmd_info(int argc, char **argv);

/* Exit codes: 0 done, 1 failed, 2 bad command line. */
#define DT_USAGE 2

/* Rejects stray positional arguments and getopt's errors: returns 0 or DT_USAGE. */
int dt_no_extra(int argc, char **argv, int first, const char *cmd);
/* Path of a bundled reference file (data-tools/reference/NAME): the installed share folder next to the
   executable, then the install prefix, then the source tree. NULL (error printed) if none exists. */
char *dt_reference(const char *name);

#endif
