/* report_plot.c — the report's Figures 2 and 3 as gnuplot scripts (data inline, kept in plots/ so
   they can be restyled by hand) rendered to PNG; without gnuplot the report goes on without them. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/treatment.h"
#include "study/report.h"
#include "util/strbuf.h"
#include "util/util.h"


/* The paper's markers: white circles for the bases, blue for selffer, red for transfer (dark
   frozen, light fine-tuned), orange hexagons (gnuplot's closest: pentagons) for the dissimilar
   split, and grey squares for random filters. */
static const char *SERIES_STYLE[CLT_F2_SERIES] = {
    "pt 6 ps 1.6 lc rgb 'black'",   "pt 7 ps 1.1 lc rgb '#1c3f94'", "pt 7 ps 1.1 lc rgb '#7fb1ea'",
    "pt 13 ps 1.3 lc rgb '#a01c1c'", "pt 13 ps 1.3 lc rgb '#f28b82'"};
static const char *SERIES_TITLE[CLT_F2_SERIES] = {"baseB", "selffer BnB", "selffer BnB+", "transfer AnB", "transfer AnB+"};
static const double SERIES_OFFSET[CLT_F2_SERIES] = {0, -0.2, -0.1, 0.1, 0.2};
#define DIS_STYLE(t) ((t) ? "pt 15 ps 1.3 lc rgb '#e07b00'" : "pt 15 ps 1.3 lc rgb '#8a4b00'")
#define RF_STYLE "pt 5 ps 1.1 lc rgb '#666666'"

static int similar(const clt_result *x) {
    return !x->dissimilar && strcmp(x->split, "whole") && strcmp(x->target, "all");
}

/* A plot command grows one series at a time; an empty series is left out, since gnuplot stops on
   a plot whose every series is empty. */
typedef struct plot {
    clt_sb data, cmd;
    int series;
} plot;

/* Datablock names are unique within a script, so panels never see each other's data. */
static int g_blocks;

static void begin_block(plot *p, const char *name) {
    clt_sb_printf(&p->data, "$%s%d << EOD\n", name, g_blocks);
}

static void end_block(plot *p, const char *name, int rows, const char *style_with, const char *title) {
    clt_sb_printf(&p->data, "EOD\n");
    if (rows) {
        clt_sb_printf(&p->cmd, "%s$%s%d using 1:2 %s %s", p->series ? ", \\\n  " : "plot ", name, g_blocks, style_with,
                      title && *title ? "" : "notitle");
        if (title && *title) clt_sb_printf(&p->cmd, " title '%s'", title);
        p->series++;
    }
    g_blocks++;
}

static void finish_panel(clt_sb *out, plot *p, const char *title, const char *ylabel, const char *key) {
    clt_sb_printf(out, "%s", p->data.s ? p->data.s : "");
    clt_sb_printf(out, "set title '%s'\nset ylabel '%s'\nset key %s\n", title, ylabel, key);
    if (p->series)
        clt_sb_printf(out, "set autoscale y\n%s\n", p->cmd.s);
    else
        clt_sb_printf(out, "set yrange [0:1]\nset label 1 'no networks of this kind' at graph 0.5, 0.5 center\n"
                           "plot 2 notitle\nunset label 1\n");
    clt_sb_free(&p->data);
    clt_sb_free(&p->cmd);
    p->series = 0;
}

/* A series of mean values at n = 0..7, joined by a line; NaN entries are skipped. */
static void mean_line(plot *p, const char *name, const double *m, const char *style) {
    begin_block(p, name);
    int rows = 0;
    for (int k = 0; k < 8; k++)
        if (isfinite(m[k])) clt_sb_printf(&p->data, "%d %.6f\n", k, m[k]), rows++;
    char with[128];
    snprintf(with, sizeof with, "with lines lw 2 %s", style);
    end_block(p, name, rows > 1 ? rows : 0, with, NULL);
}

static void fig2_panel(clt_sb *out, const clt_result *r, int n, const clt_analysis *a, const char *title) {
    plot p = {0};
    for (int s = 0; s < CLT_F2_SERIES; s++) {
        begin_block(&p, "p");
        int rows = 0;
        for (int i = 0; i < n; i++) {
            const clt_result *x = &r[i];
            if (!isfinite(x->metric) || !similar(x) || strcmp(x->treatment, clt_treatment_name(s))) continue;
            int k = s == CLT_F2_BASE ? 0 : x->n;
            clt_sb_printf(&p.data, "%.2f %.6f\n", k + SERIES_OFFSET[s], x->metric);
            rows++;
        }
        char with[128];
        snprintf(with, sizeof with, "with points %s", SERIES_STYLE[s]);
        end_block(&p, "p", rows, with, SERIES_TITLE[s]);
        if (s == CLT_F2_BASE) continue;
        double m[8];
        for (int k = 0; k < 8; k++) m[k] = k ? a->fig2_mean[s][k] : a->base_mean;
        char style[64];
        snprintf(style, sizeof style, "%s", strstr(SERIES_STYLE[s], "lc"));
        mean_line(&p, "m", m, style);
    }
    finish_panel(out, &p, title, "top-1 accuracy", "inside bottom left vertical");
}

static void fig3_panels(clt_sb *out, const clt_result *r, int n, const clt_analysis *a, const char *who, const char *dis_name) {
    plot p = {0};
    char title[160];
    /* Dissimilar split: the base nets and frozen transfer nets, by target half. */
    for (int t = 0; t < 2; t++) {
        begin_block(&p, "d");
        int rows = 0;
        for (int i = 0; i < n; i++) {
            const clt_result *x = &r[i];
            if (!isfinite(x->metric) || !x->dissimilar || strcmp(x->target, t ? "B" : "A")) continue;
            if (!strcmp(x->treatment, "base"))
                clt_sb_printf(&p.data, "0 %.6f\n", x->metric), rows++;
            else if (!strcmp(x->treatment, "transfer"))
                clt_sb_printf(&p.data, "%d %.6f\n", x->n, x->metric), rows++;
        }
        char with[128], tt[64];
        snprintf(with, sizeof with, "with points %s", DIS_STYLE(t));
        snprintf(tt, sizeof tt, "%s, toward %c", t ? "AnB" : "BnA", 'A' + t);
        end_block(&p, "d", rows, with, tt);
        mean_line(&p, "dm", a->dis_mean[t], strstr(DIS_STYLE(t), "lc"));
    }
    snprintf(title, sizeof title, "%s: %s (n = 0: base)", who, dis_name);
    finish_panel(out, &p, title, "top-1 accuracy", "inside bottom left vertical");

    /* Random frozen nets. */
    begin_block(&p, "r");
    int rows = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(r[i].metric) && !strcmp(r[i].treatment, "random_frozen"))
            clt_sb_printf(&p.data, "%d %.6f\n", r[i].n, r[i].metric), rows++;
    if (rows && isfinite(a->rf_mean[0])) clt_sb_printf(&p.data, "0 %.6f\n", a->rf_mean[0]), rows++;
    end_block(&p, "r", rows, "with points " RF_STYLE, "random, frozen");
    mean_line(&p, "rm", a->rf_mean, "lc rgb '#666666'");
    snprintf(title, sizeof title, "%s: random frozen layers 1..n", who);
    finish_panel(out, &p, title, "top-1 accuracy", "inside top right vertical");

    /* Each kind's mean difference from its own base. */
    const double *series[3] = {a->norm_sim, a->norm_dis, a->norm_rf};
    const char *styles[3] = {SERIES_STYLE[CLT_F2_TRANSFER], DIS_STYLE(1), RF_STYLE};
    const char *titles[3] = {"transfer AnB, random split", "transfer AnB, dissimilar split", "random frozen"};
    for (int s = 0; s < 3; s++) {
        begin_block(&p, "z");
        int cnt = 0;
        for (int k = 1; k < 8; k++) cnt += isfinite(series[s][k]);
        if (cnt) clt_sb_printf(&p.data, "0 0\n");
        for (int k = 1; k < 8; k++)
            if (isfinite(series[s][k])) clt_sb_printf(&p.data, "%d %.6f\n", k, series[s][k]);
        char with[128];
        snprintf(with, sizeof with, "with linespoints lw 2 %s", styles[s]);
        end_block(&p, "z", cnt ? cnt + 1 : 0, with, titles[s]);
    }
    snprintf(title, sizeof title, "%s: top-1 minus own base", who);
    finish_panel(out, &p, title, "relative top-1", "below horizontal");
}

static void preamble(clt_sb *b, const char *name, const char *png, int w, int h) {
    clt_sb_printf(b, "# Generated by `cltransfer report`; `gnuplot %s.gp` redraws it.\n", name);
    clt_sb_printf(b, "set terminal pngcairo size %d,%d font ',10'\nset output '", w, h);
    for (const char *c = png; *c; c++) clt_sb_printf(b, *c == '\'' ? "''" : "%c", *c);
    clt_sb_printf(b, "'\nset xrange [-0.5:7.5]\nset xtics 0,1,7\nset grid ytics lc rgb '#dddddd'\n"
                     "set key font ',9'\nset xlabel 'layer n at which the network is chopped and retrained'\n");
}

static char *find_program(const char *prog) {
    if (strchr(prog, '/')) return access(prog, X_OK) == 0 ? clt_strdup(prog) : NULL;
    const char *path = getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    char *copy = clt_strdup(path), *save = NULL, *found = NULL;
    for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char *p = clt_path_join(*d ? d : ".", prog);
        if (access(p, X_OK) == 0)
            found = p;
        else
            free(p);
    }
    free(copy);
    return found;
}

static int run_gnuplot(const char *gnuplot, const char *script, const char *log) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(gnuplot, gnuplot, script, (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int render(const char *gnuplot, const char *dir, const char *name, const clt_sb *script, const char *png, char *why,
                  size_t why_size) {
    char file[64], logname[64];
    snprintf(file, sizeof file, "%s.gp", name);
    snprintf(logname, sizeof logname, "%s.log", name);
    char *gp = clt_path_join(dir, file), *log = clt_path_join(dir, logname);
    int rc = clt_write_file_atomic(gp, script->s, script->len);
    if (rc == 0) {
        unlink(png);
        rc = run_gnuplot(gnuplot, gp, log);
        if (rc != 0 || !clt_file_exists(png)) {
            snprintf(why, why_size, "gnuplot failed on %s (see %s)", gp, log);
            rc = -1;
        }
    } else {
        snprintf(why, why_size, "cannot write %s", gp);
    }
    free(gp);
    free(log);
    return rc;
}

int clt_report_plots(const char *run_dir, const char *nets_root, const clt_result *r, int n, const clt_analysis *ours,
                     const clt_result *ref, int nref, const clt_analysis *paper, const char *gnuplot, int *fig1, char *why,
                     size_t why_size) {
    *fig1 = 0;
    char *prog = find_program(gnuplot);
    if (!prog) {
        snprintf(why, why_size, "%s not found (Debian: apt-get install gnuplot-nox)", gnuplot);
        return -1;
    }
    char *dir = clt_path_join(run_dir, "plots");
    char *png2 = clt_path_join(run_dir, "fig2.png"), *png3 = clt_path_join(run_dir, "fig3.png");
    int rc = clt_mkdirs(dir);
    if (rc != 0) snprintf(why, why_size, "cannot create %s", dir);
    int both = paper != NULL;

    clt_sb f2 = {0};
    preamble(&f2, "fig2", png2, both ? 1500 : 800, 600);
    clt_sb_printf(&f2, "set multiplot layout 1,%d title 'Figure 2: transfer between the random halves'\n", both ? 2 : 1);
    fig2_panel(&f2, r, n, ours, "this run");
    if (both) fig2_panel(&f2, ref, nref, paper, "the paper (ImageNet, CaffeNet)");
    clt_sb_printf(&f2, "unset multiplot\n");
    if (rc == 0) rc = render(prog, dir, "fig2", &f2, png2, why, why_size);

    clt_sb f3 = {0};
    preamble(&f3, "fig3", png3, 1650, both ? 1100 : 560);
    clt_sb_printf(&f3, "set multiplot layout %d,3 title 'Figure 3: dissimilar split and random frozen layers'\n",
                  both ? 2 : 1);
    fig3_panels(&f3, r, n, ours, "this run", "dissimilar split");
    if (both) fig3_panels(&f3, ref, nref, paper, "paper", "natman split");
    clt_sb_printf(&f3, "unset multiplot\n");
    if (rc == 0) rc = render(prog, dir, "fig3", &f3, png3, why, why_size);

    char *png1 = clt_path_join(run_dir, "fig1.png");
    clt_sb f1 = {0};
    if (rc == 0 && clt_report_filters_script(&f1, nets_root, r, n, png1) > 0) {
        rc = render(prog, dir, "fig1", &f1, png1, why, why_size);
        *fig1 = rc == 0;
    }
    clt_sb_free(&f1);
    free(png1);
    clt_sb_free(&f2);
    clt_sb_free(&f3);
    free(dir);
    free(png2);
    free(png3);
    free(prog);
    return rc;
}
