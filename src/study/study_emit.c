/* study_emit.c — writes a study's files: every node's net.ini or prepare.sh, the report's notes,
   and the same graph as a Makefile, a SLURM submission script, or plain per-network configs. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "study/study.h"

int clt_study_node_done(const clt_study_node *n) { return clt_file_exists(n->done); }

/* Writes only what changed, so finished nets keep their files' times and a rerun touches nothing. */
static int write_if_changed(const char *path, const char *text, int *changed) {
    size_t len = strlen(text), old_len;
    *changed = 0;
    if (clt_file_exists(path)) {
        FILE *f = fopen(path, "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            long sz = ftell(f);
            fclose(f);
            if (sz >= 0 && (size_t)sz == len) {
                char *old = clt_read_file(path, &old_len);
                int same = old && old_len == len && !memcmp(old, text, len);
                free(old);
                if (same) return 0;
            }
        }
    }
    *changed = 1;
    return clt_write_file_atomic(path, text, len);
}

static char *dir_of(const char *path) {
    char *d = clt_strdup(path), *slash = strrchr(d, '/');
    if (slash && slash != d)
        *slash = 0;
    else if (slash)
        slash[1] = 0;
    else
        snprintf(d, strlen(d) + 1, ".");
    return d;
}

static void write_report_notes(const clt_study *s, clt_sb *b) {
    clt_sb_printf(b,
                  "; What `cltransfer report` needs to know about study %s; written by `cltransfer study`.\n"
                  "[report]\nstudy = %s\nsource = %s\nbest = %d\ntolerance = %g\n",
                  s->name, s->name, s->source, s->best, s->tolerance);
    if (s->description) {
        clt_sb_printf(b, "description = ");
        for (const char *p = s->description; *p; p++) clt_sb_printf(b, *p == '\n' ? "\n  " : "%c", *p);
        clt_sb_printf(b, "\n");
    }
    for (int i = 0; i < s->nsplits; i++) {
        const clt_study_split *sp = &s->splits[i];
        clt_sb_printf(b, "\n[split %s]\nkind = %s\ndissimilar = %s\n", sp->name, sp->kind, sp->dissimilar ? "yes" : "no");
        if (!strcmp(sp->kind, "random")) clt_sb_printf(b, "seed = %s\n", sp->a);
        if (sp->b) clt_sb_printf(b, "a = %s\nb = %s\n", sp->a, sp->b);
    }
}

/* Two prepare.sh scripts make the same data if their commands agree: comments (which name the
   study) and the data tool's default path (a rebuilt or moved binary) do not count, so studies can
   share a data folder. */
static int recipe_line(const char *l) { return *l != '#' && strncmp(l, "DATA=", 5) != 0; }

static const char *next_recipe_line(const char *p) {
    while (p && *p && !recipe_line(p)) {
        p = strchr(p, '\n');
        if (p) p++;
    }
    return p && *p ? p : NULL;
}

static int same_recipe(const char *a, const char *b) {
    for (;;) {
        a = next_recipe_line(a);
        b = next_recipe_line(b);
        if (!a || !b) return !a && !b;
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        if (la != lb || memcmp(a, b, la)) return 0;
        a = ea ? ea + 1 : NULL;
        b = eb ? eb + 1 : NULL;
    }
}

int clt_study_materialise(const clt_study *s) {
    if (clt_mkdirs(s->run_dir) != 0) return -1;
    for (int i = 0; i < s->nnodes; i++) {
        const clt_study_node *n = &s->nodes[i];
        if (clt_mkdirs(n->dir) != 0) return -1;
        if (n->kind == CLT_NODE_DATA && clt_file_exists(n->done) && clt_file_exists(n->file)) {
            char *old = clt_read_file(n->file, NULL);
            int same = old && same_recipe(old, n->text);
            free(old);
            if (!same) {
                clt_error("%s was prepared by a different recipe than this study's (%s differs): remove the folder "
                          "to prepare it again, or give this study its own [source] packs",
                          n->dir, n->file);
                return -1;
            }
            continue; /* prepared: its script stays as it was run */
        }
        int changed;
        if (write_if_changed(n->file, n->text, &changed) != 0) return -1;
    }
    clt_sb b = {0};
    write_report_notes(s, &b);
    char *path = clt_path_join(s->run_dir, "report.ini");
    int changed, rc = write_if_changed(path, b.s, &changed);
    free(path);
    clt_sb_free(&b);
    return rc;
}

void clt_study_list(const clt_study *s, FILE *out) {
    int nets = 0, done = 0, stages = 0;
    double iters = 0, images = 0, vals = 0, work = 0;
    for (int i = 0; i < s->nnodes; i++) {
        const clt_study_node *n = &s->nodes[i];
        nets += n->kind == CLT_NODE_NET;
        done += n->kind == CLT_NODE_NET && clt_study_node_done(n);
        stages = CLT_MAX(stages, n->stage + 1);
        iters += n->cost;
        images += n->cost * n->batch;
        vals += n->validations;
        work += n->work;
    }
    fprintf(out, "# study %s from %s: %d networks (%d finished), %d data folders, %d stages\n", s->name, s->source, nets,
            done, s->nnodes - nets, stages);
    /* What a wall-time estimate needs: (training images / training rate + validation passes × images
       per pass / validation rate) / networks at a time. */
    fprintf(out, "# work: %.0f iterations, %.4g training images, %.0f validation passes, %.3g multiply-adds\n", iters,
            images, vals, work);
    fprintf(out, "# run folder %s, data in %s\n", s->run_dir, s->packs_dir);
    fprintf(out, "%-28s %5s %-8s %10s %10s  %s\n", "# node", "stage", "state", "iters", "work, GMAC", "depends on");
    for (int i = 0; i < s->nnodes; i++) {
        const clt_study_node *n = &s->nodes[i];
        fprintf(out, "%-28s %5d %-8s %10.0f %10.0f  ", n->id, n->stage, clt_study_node_done(n) ? "done" : "pending",
                n->cost, n->work / 1e9);
        for (int d = 0; d < n->ndeps; d++) fprintf(out, "%s%s", d ? " " : "", s->nodes[n->deps[d]].id);
        fprintf(out, "%s\n", n->ndeps ? "" : "-");
    }
}

/* Make cannot quote target names, and the scripts keep them plain too. */
static int plain_path(const char *p) {
    for (; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_./-+,@", *p)) return 0;
    return 1;
}

static int check_plain(const clt_study *s, const char *trainer, const char *what) {
    const char *bad = NULL;
    if (!plain_path(s->run_dir)) bad = s->run_dir;
    if (!plain_path(s->packs_dir)) bad = s->packs_dir;
    if (trainer && !plain_path(trainer)) bad = trainer;
    if (bad) {
        clt_error("--emit %s: path '%s' has characters a %s cannot carry (keep to letters, digits and _./-+,@)", what,
                  bad, what);
        return -1;
    }
    return 0;
}

static char *default_out(const clt_study *s, const char *out, const char *name) {
    return out ? clt_strdup(out) : clt_path_join(s->run_dir, name);
}

static int write_text(const char *path, const char *text) {
    char *d = dir_of(path);
    int rc = clt_mkdirs(d);
    free(d);
    int changed;
    if (rc == 0) rc = write_if_changed(path, text, &changed);
    return rc;
}

int clt_study_emit_make(const clt_study *s, const char *trainer, const char *out) {
    if (check_plain(s, trainer, "Makefile") != 0 || clt_study_materialise(s) != 0) return -1;
    char *path = default_out(s, out, "Makefile");
    int stages = 0;
    for (int i = 0; i < s->nnodes; i++) stages = CLT_MAX(stages, s->nodes[i].stage + 1);
    clt_sb b = {0};
    clt_sb_printf(&b,
                  "# Study %s as a Makefile, generated by `cltransfer study --emit make` from %s.\n"
                  "#   make -f %s -j N [DEVICE=SEL | DEVICES='SEL1 SEL2 ...'] [THREADS=T]\n"
                  "# DEVICE   the device of every network (cltransfer --device)\n"
                  "# DEVICES  a pool: each network takes the first device that no other network of this\n"
                  "#          make holds (flock), so make -j N with N devices runs one network per device\n"
                  "# THREADS  POCL_MAX_PTHREAD_COUNT of each network (CPU devices: cores / N)\n"
                  "# A network's target is its final.ckpt; one that was interrupted resumes from its newest\n"
                  "# snapshot. Targets: all (default), stage0..stage%d, and every file named below.\n"
                  "CLTRANSFER_TRAINER ?= %s\n"
                  "DEVICE ?=\nDEVICES ?=\nTHREADS ?=\n"
                  "LOCKS := %s/.device-locks\n\n"
                  "pooled = mkdir -p $(LOCKS); while :; do for d in $(DEVICES); do \\\n"
                  "  flock -n -E 75 $(LOCKS)/$$d $(CLTRANSFER_TRAINER) -c $(1) --resume --quiet --device $$d; \\\n"
                  "  rc=$$?; [ $$rc -eq 75 ] || exit $$rc; done; sleep 5; done\n"
                  "train = $(if $(THREADS),export POCL_MAX_PTHREAD_COUNT=$(THREADS); )$(if $(DEVICES),$(call pooled,$(1)),\\\n"
                  "  $(CLTRANSFER_TRAINER) -c $(1) --resume --quiet$(if $(DEVICE), --device $(DEVICE)))\n\n",
                  s->name, s->source, path, stages - 1, trainer, s->run_dir);
    clt_sb_printf(&b, "all:");
    for (int i = 0; i < s->nnodes; i++) clt_sb_printf(&b, " \\\n  %s", s->nodes[i].done);
    clt_sb_printf(&b, "\n\n");
    for (int st = 0; st < stages; st++) {
        clt_sb_printf(&b, "stage%d:", st);
        for (int i = 0; i < s->nnodes; i++)
            if (s->nodes[i].stage == st) clt_sb_printf(&b, " \\\n  %s", s->nodes[i].done);
        clt_sb_printf(&b, "\n\n");
    }
    clt_sb_printf(&b, ".PHONY: all");
    for (int st = 0; st < stages; st++) clt_sb_printf(&b, " stage%d", st);
    /* An interrupt must never make make delete a final.ckpt the trainer just wrote. */
    clt_sb_printf(&b, "\n.PRECIOUS:");
    for (int i = 0; i < s->nnodes; i++) clt_sb_printf(&b, " \\\n  %s", s->nodes[i].done);
    clt_sb_printf(&b, "\n");
    for (int i = 0; i < s->nnodes; i++) {
        const clt_study_node *n = &s->nodes[i];
        clt_sb_printf(&b, "\n# %s\n%s:", n->id, n->done);
        for (int d = 0; d < n->ndeps; d++) clt_sb_printf(&b, " %s", s->nodes[n->deps[d]].done);
        if (n->kind == CLT_NODE_DATA)
            clt_sb_printf(&b, "\n\tsh %s\n", n->file);
        else
            clt_sb_printf(&b, "\n\t$(call train,%s)\n", n->file);
    }
    int rc = write_text(path, b.s);
    if (rc == 0) fprintf(stderr, "wrote %s: make -f %s -j N\n", path, path);
    clt_sb_free(&b);
    free(path);
    return rc;
}

int clt_study_emit_slurm(const clt_study *s, const char *trainer, const char *out) {
    if (check_plain(s, trainer, "SLURM script") != 0 || clt_study_materialise(s) != 0) return -1;
    char *path = default_out(s, out, "study.slurm");
    if (path[0] != '/') {
        clt_error("--emit slurm: -o %s must be an absolute path: each array task runs the script from it", path);
        free(path);
        return -1;
    }
    int stages = 0;
    for (int i = 0; i < s->nnodes; i++) stages = CLT_MAX(stages, s->nodes[i].stage + 1);
    clt_sb b = {0};
    clt_sb_printf(&b,
                  "#!/bin/bash\n"
                  "# Study %s as SLURM job arrays, generated by `cltransfer study --emit slurm` from %s.\n"
                  "# Submit it with\n"
                  "#   bash %s\n"
                  "# sbatch options for every array go in SBATCH_OPTS, e.g.\n"
                  "#   SBATCH_OPTS='--partition=gpu --gres=gpu:1 --time=7-00:00:00' bash %s\n"
                  "# One job array per stage (data, then base nets, then the nets that copy their layers); each\n"
                  "# stage waits for every task of the stage before it to succeed (afterok), and is cancelled if\n"
                  "# one fails. A task skips a finished node and resumes an interrupted network from its newest\n"
                  "# snapshot, so submitting again after a failure or a time limit carries the study on.\n"
                  "# SLURM sends SIGTERM 5 minutes before a task's time limit: the trainer snapshots and stops.\n"
                  "set -euo pipefail\n"
                  "SELF=%s\n"
                  "LOGS=%s/slurm\n"
                  "CLTRANSFER_TRAINER=\"${CLTRANSFER_TRAINER:-%s}\"\n\n",
                  s->name, s->source, path, path, path, s->run_dir, trainer);
    for (int st = 0; st < stages; st++) {
        clt_sb_printf(&b, "STAGE%d=(", st);
        for (int i = 0; i < s->nnodes; i++)
            if (s->nodes[i].stage == st)
                clt_sb_printf(&b, "\n  %s:%s", s->nodes[i].kind == CLT_NODE_DATA ? "data" : "net", s->nodes[i].file);
        clt_sb_printf(&b, ")\n");
    }
    clt_sb_printf(&b,
                  "\n# One array task: a node's recipe, unless it is finished.\n"
                  "run_node() {\n"
                  "  local kind=${1%%%%:*} file=${1#*:}\n"
                  "  local dir=${file%%/*}\n"
                  "  if [ \"$kind\" = data ]; then\n"
                  "    [ -e \"$dir/.done\" ] || exec sh \"$file\"\n"
                  "  else\n"
                  "    [ -e \"$dir/final.ckpt\" ] || exec \"$CLTRANSFER_TRAINER\" -c \"$file\" --resume --quiet\n"
                  "  fi\n"
                  "}\n\n"
                  "if [ \"${1:-}\" = task ]; then\n"
                  "  eval \"nodes=(\\\"\\${STAGE$2[@]}\\\")\"\n"
                  "  run_node \"${nodes[$SLURM_ARRAY_TASK_ID]}\"\n"
                  "  exit 0\n"
                  "fi\n\n"
                  "# submit STAGE TASKS [AFTER_JOB]: prints the array's job id\n"
                  "submit() {\n"
                  "  local dep=()\n"
                  "  [ -n \"${3:-}\" ] && dep=(--dependency=afterok:$3 --kill-on-invalid-dep=yes)\n"
                  "  # shellcheck disable=SC2086\n"
                  "  sbatch --parsable --job-name=%s-stage$1 --array=0-$(($2 - 1)) ${dep[@]+\"${dep[@]}\"} \\\n"
                  "    --signal=B:TERM@300 --open-mode=append --output=\"$LOGS/stage$1-%%a.out\" \\\n"
                  "    ${SBATCH_OPTS:-} \"$SELF\" task \"$1\" | cut -d';' -f1\n"
                  "}\n\n"
                  "mkdir -p \"$LOGS\"\n",
                  s->name);
    for (int st = 0; st < stages; st++) {
        if (st == 0)
            clt_sb_printf(&b, "job0=$(submit 0 ${#STAGE0[@]})\n");
        else
            clt_sb_printf(&b, "job%d=$(submit %d ${#STAGE%d[@]} \"$job%d\")\n", st, st, st, st - 1);
        clt_sb_printf(&b, "echo \"stage %d: job array $job%d, ${#STAGE%d[@]} tasks\"\n", st, st, st);
    }
    int rc = write_text(path, b.s);
    if (rc == 0) {
        chmod(path, 0755);
        fprintf(stderr, "wrote %s: submit with bash %s\n", path, path);
    }
    clt_sb_free(&b);
    free(path);
    return rc;
}

int clt_study_emit_configs(const clt_study *s, const char *split, const char *dir) {
    if (!split && s->nsplits) split = s->splits[0].name;
    int found = !split || !strcmp(split, "whole");
    for (int i = 0; i < s->nsplits; i++) found |= split && !strcmp(s->splits[i].name, split);
    if (!found) {
        clt_error("--split %s: the study has no such split", split);
        return -1;
    }
    if (clt_mkdirs(dir) != 0) return -1;
    int written = 0, count = 0, rc = 0;
    for (int i = 0; i < s->nnodes && rc == 0; i++) {
        const clt_study_node *n = &s->nodes[i];
        if (n->kind != CLT_NODE_NET || n->repeat) continue;
        if (strcmp(n->split, "whole") && (!split || strcmp(n->split, split))) continue;
        for (int k = 0; k < i; k++) {
            const clt_study_node *o = &s->nodes[k];
            if (o->kind == CLT_NODE_NET && !o->repeat && !strcmp(o->name, n->name) &&
                (!strcmp(o->split, "whole") || (split && !strcmp(o->split, split)))) {
                clt_error("--emit configs: %s and %s would both be %s.ini", o->id, n->id, n->name);
                return -1;
            }
        }
        char file[96];
        snprintf(file, sizeof file, "%s.ini", n->name);
        char *p = clt_path_join(dir, file);
        int changed;
        rc = write_if_changed(p, n->text, &changed);
        written += changed;
        count++;
        free(p);
    }
    if (rc == 0) fprintf(stderr, "%d network configs in %s (%d changed)\n", count, dir, written);
    return rc;
}
