/* bench.h — cltransfer-bench's subcommands; each lives in its own bench/bench_<what>.c. */
#ifndef CLT_BENCH_H
#define CLT_BENCH_H

int bench_gemm(int argc, char **argv);   /* bench_gemm.c: GEMM GFLOP/s on the nets' shapes */
int bench_reader(int argc, char **argv); /* bench_reader.c: data reader images/s */
int bench_tune(int argc, char **argv);   /* bench_tune.c: CLBlast parameter search for the device */
int bench_train(int argc, char **argv);  /* bench_train.c: training images/s and per-layer times */

struct clt_arch;
/* The study net `name` (small: fc8 five wide, as a half of Fashion-MNIST; caffenet) with `widths`
   ("W1,..,W7": conv1..conv5, fc6, fc7, as [net] widths; NULL keeps the arch's). Returns 0, or 2
   after printing why (a usage error). */
int bench_arch(const char *name, const char *widths, struct clt_arch *a);

#endif
