/* cmd_pack.c — `cltransfer-data pack`: gathers labelled JPEGs from a folder tree or list file, applies a
   class list and per-class reduction, and packs them (src/data/packbuild.c does the work). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data_tools.h"
#include "data/pack.h"
#include "data/packbuild.h"
#include "data/split.h"
#include "util/util.h"

static const char *help =
    "usage: cltransfer-data pack (--imagenet DIR | --folders DIR | --list FILE --root DIR) -o OUT.pack [options]\n"
    "\n"
    "Inputs (labels):\n"
    "  --imagenet DIR   ImageNet layout, DIR/<wnid>/*.JPEG (e.g. ILSVRC2012 train/): the label of a folder is\n"
    "                   the line of its wnid in the synset list (default: the bundled ilsvrc12_synsets.txt)\n"
    "  --folders DIR    any tree with one sub-folder of JPEGs per class: labels 0..K-1 by sorted folder name\n"
    "  --list FILE      Caffe-style list, 'relative/path.JPEG label' a line (e.g. ILSVRC2012 val.txt), with\n"
    "  --root DIR       the folder the paths are relative to; labels must be in 0..K-1 (--num-classes)\n"
    "  --num-classes K  label range of --list (default: the synset list's length if --synsets, else 1000)\n"
    "  --synsets FILE   class ids in label order (for --imagenet; with --list, names the classes)\n"
    "Selection:\n"
    "  --split FILE     keep only the classes of this list (from `split`), labels remapped to their rank\n"
    "                   0..K'-1 in it; the map is written to OUT.classes.txt\n"
    "  --per-class N    keep at most N images per class, chosen as `split --per-class` does (seed --seed)\n"
    "  --seed S         seed of --per-class (0..4294967295)\n"
    "Images (stored warped to the size, ignoring aspect, like the study; grey and CMYK become RGB):\n"
    "  --size S         stored side (default 256); or --height H --width W\n"
    "  --quality Q      JPEG quality 1..100 (default 90)\n"
    "  --subsampling N  chroma subsampling 444, 422 or 420 (default 420)\n"
    "  --gray           store one grey channel instead of RGB\n"
    "  --raw            store raw pixels instead of JPEG (fast to read, large)\n"
    "Running:\n"
    "  --threads N      packing threads (default: all cores)\n"
    "  --no-progress    no progress output\n"
    "  --strict         exit 1 if any input was skipped\n"
    "  -o, --output     the pack; beside it: OUT.mean (mean image), OUT.classes.txt (label map),\n"
    "                   OUT.report.txt (summary and every skipped input with the reason)\n"
    "\n"
    "Unreadable files, non-JPEGs, truncated or corrupt JPEGs, bad list lines, labels out of range and\n"
    "missing files are skipped and counted; the summary names the first few of each kind.\n";

typedef struct gather {
    clt_pack_item *items;
    size_t n, cap;
    int k_orig;       /* the input's label range */
    char **names;     /* [k_orig]: class names, or NULL entries */
} gather;

static void add_item(gather *g, char *path, int orig) {
    if (g->n == g->cap) g->items = clt_realloc(g->items, (g->cap = g->cap ? 2 * g->cap : 4096) * sizeof *g->items);
    g->items[g->n++] = (clt_pack_item){path, orig, orig};
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int is_jpeg_name(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".jpeg") || !strcasecmp(dot, ".jpg"));
}

/* Sorted names of the entries of dir that are folders (want_dirs) or files; others are reported. */
static char **list_dir(const char *dir, int want_dirs, size_t *n, clt_pack_report *rep) {
    DIR *d = opendir(dir);
    *n = 0;
    if (!d) {
        clt_error("cannot open folder %s: %s", dir, strerror(errno));
        return NULL;
    }
    size_t cap = 256;
    char **names = clt_malloc(cap * sizeof *names);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *full = clt_path_join(dir, e->d_name);
        struct stat st;
        int ok = stat(full, &st) == 0;
        int is_dir = ok && S_ISDIR(st.st_mode);
        if (want_dirs ? is_dir : !is_dir) {
            if (*n == cap) names = clt_realloc(names, (cap *= 2) * sizeof *names);
            names[(*n)++] = clt_strdup(e->d_name);
        } else if (!ok) {
            clt_pack_report_add(rep, 1, "unreadable", full, "%s", strerror(errno));
        } else {
            clt_pack_report_add(rep, 0, want_dirs ? "not a class folder, ignored" : "sub-folder in a class folder, ignored",
                           full, "%s", want_dirs ? "a file beside the class folders" : "only files directly inside are packed");
        }
        free(full);
    }
    closedir(d);
    qsort(names, *n, sizeof *names, cmp_str);
    return names;
}

static int gather_folders(gather *g, const char *root, char **synsets, int n_syn, const unsigned char *selected,
                          clt_pack_report *rep) {
    size_t n_dirs;
    char **dirs = list_dir(root, 1, &n_dirs, rep);
    if (!dirs) return -1;
    if (!synsets) {
        if (n_dirs == 0) {
            clt_error("%s has no class sub-folders", root);
            free(dirs);
            return -1;
        }
        if (n_dirs > CLT_PACK_MAX_CLASSES) {
            clt_error("%s has %zu class folders, more than %d", root, n_dirs, CLT_PACK_MAX_CLASSES);
            clt_free_strings(dirs, (int)n_dirs);
            return -1;
        }
        g->k_orig = (int)n_dirs;
        g->names = clt_calloc(n_dirs, sizeof *g->names);
    } else {
        g->k_orig = n_syn;
        g->names = clt_calloc((size_t)n_syn, sizeof *g->names);
        for (int k = 0; k < n_syn; k++) g->names[k] = clt_strdup(synsets[k]);
    }
    unsigned char *seen = clt_calloc((size_t)g->k_orig, 1);
    for (size_t i = 0; i < n_dirs; i++) {
        int label = (int)i;
        if (synsets) {
            char **hit = bsearch(&dirs[i], synsets, (size_t)n_syn, sizeof *synsets, cmp_str);
            label = hit ? (int)(hit - synsets) : -1;
        }
        char *dir = clt_path_join(root, dirs[i]);
        if (label < 0) {
            clt_pack_report_add(rep, 0, "folder not in the synset list, ignored", dir, "its images are not packed");
        } else {
            if (!synsets) g->names[label] = clt_strdup(dirs[i]);
            seen[label] = 1;
            if (!selected || selected[label]) {
                size_t n_files, jpegs = 0;
                char **files = list_dir(dir, 0, &n_files, rep);
                for (size_t f = 0; files && f < n_files; f++) {
                    char *path = clt_path_join(dir, files[f]);
                    if (is_jpeg_name(files[f]))
                        add_item(g, path, label), jpegs++;
                    else {
                        clt_pack_report_add(rep, 0, "not named *.jpg/*.jpeg, ignored", path, "not packed");
                        free(path);
                    }
                }
                if (files && !jpegs) clt_pack_report_add(rep, 0, "empty class folder", dir, "class %d has no JPEG files", label);
                if (!files) clt_pack_report_add(rep, 1, "unreadable", dir, "cannot list the class folder");
                clt_free_strings(files, (int)n_files);
            }
        }
        free(dir);
    }
    if (synsets)
        for (int k = 0; k < g->k_orig; k++)
            if (!seen[k] && (!selected || selected[k]))
                clt_pack_report_add(rep, 0, "class folder missing", synsets[k], "no folder %s/%s for class %d", root, synsets[k], k);
    free(seen);
    clt_free_strings(dirs, (int)n_dirs);
    return 0;
}

static int gather_list(gather *g, const char *list, const char *root, int k, char **synsets, int n_syn,
                       const unsigned char *selected, clt_pack_report *rep) {
    char *text = clt_read_file(list, NULL);
    if (!text) return -1;
    g->k_orig = k;
    g->names = clt_calloc((size_t)k, sizeof *g->names);
    for (int i = 0; synsets && i < n_syn && i < k; i++) g->names[i] = clt_strdup(synsets[i]);
    int line_no = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        size_t l = strlen(line);
        while (l && isspace((unsigned char)line[l - 1])) line[--l] = 0;
        if (!l || line[0] == '#') continue;
        char where[64];
        snprintf(where, sizeof where, "%s:%d", list, line_no);
        char *sp = strrchr(line, ' ');
        if (!sp) sp = strrchr(line, '\t');
        char *end = NULL;
        errno = 0;
        long label = sp ? strtol(sp + 1, &end, 10) : 0;
        if (!sp || sp == line || !sp[1] || *end || errno) {
            clt_pack_report_add(rep, 1, "bad list line", where, "want 'path label', got '%.100s'", line);
            continue;
        }
        if (label < 0 || label >= k) {
            clt_pack_report_add(rep, 1, "label out of range", where, "label %ld outside 0..%d", label, k - 1);
            continue;
        }
        *sp = 0;
        if (!selected || selected[label]) add_item(g, clt_path_join(root, line), (int)label);
    }
    free(text);
    return 0;
}

int cmd_pack(int argc, char **argv) {
    static const struct option opts[] = {
        {"imagenet", required_argument, 0, 'I'}, {"folders", required_argument, 0, 'F'},
        {"list", required_argument, 0, 'L'},     {"root", required_argument, 0, 'R'},
        {"num-classes", required_argument, 0, 'K'}, {"synsets", required_argument, 0, 'S'},
        {"split", required_argument, 0, 'C'},    {"per-class", required_argument, 0, 'N'},
        {"seed", required_argument, 0, 'e'},     {"size", required_argument, 0, 's'},
        {"height", required_argument, 0, 'H'},   {"width", required_argument, 0, 'W'},
        {"quality", required_argument, 0, 'q'},  {"subsampling", required_argument, 0, 'u'},
        {"gray", no_argument, 0, 'g'},           {"raw", no_argument, 0, 'r'},
        {"threads", required_argument, 0, 't'},  {"no-progress", no_argument, 0, 'P'},
        {"strict", no_argument, 0, 'x'},         {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *imagenet = NULL, *folders = NULL, *list = NULL, *root = NULL, *synsets_path = NULL, *split = NULL,
               *output = NULL;
    long k_list = 0, per_class = 0, seed = -1, size = 256, height = 0, width = 0, quality = 90, subsamp = 420,
         threads = 0;
    int gray = 0, raw = 0, progress = -1, strict = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'I': imagenet = optarg; break;
        case 'F': folders = optarg; break;
        case 'L': list = optarg; break;
        case 'R': root = optarg; break;
        case 'K': if (clt_option_int("num-classes", optarg, 1, CLT_PACK_MAX_CLASSES, &k_list)) return DT_USAGE; break;
        case 'S': synsets_path = optarg; break;
        case 'C': split = optarg; break;
        case 'N': if (clt_option_int("per-class", optarg, 1, 1000000000, &per_class)) return DT_USAGE; break;
        case 'e': if (clt_option_int("seed", optarg, 0, 0xffffffffL, &seed)) return DT_USAGE; break;
        case 's': if (clt_option_int("size", optarg, 1, CLT_PACK_MAX_SIDE, &size)) return DT_USAGE; break;
        case 'H': if (clt_option_int("height", optarg, 1, CLT_PACK_MAX_SIDE, &height)) return DT_USAGE; break;
        case 'W': if (clt_option_int("width", optarg, 1, CLT_PACK_MAX_SIDE, &width)) return DT_USAGE; break;
        case 'q': if (clt_option_int("quality", optarg, 1, 100, &quality)) return DT_USAGE; break;
        case 'u':
            if (clt_option_int("subsampling", optarg, 420, 444, &subsamp) || (subsamp != 420 && subsamp != 422 && subsamp != 444)) {
                clt_error("--subsampling wants 444, 422 or 420");
                return DT_USAGE;
            }
            break;
        case 'g': gray = 1; break;
        case 'r': raw = 1; break;
        case 't': if (clt_option_int("threads", optarg, 0, 1024, &threads)) return DT_USAGE; break;
        case 'P': progress = 0; break;
        case 'x': strict = 1; break;
        case 'o': output = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return DT_USAGE;
        }
    }
    if (dt_no_extra(argc, argv, optind, "pack")) return DT_USAGE;
    if (!!imagenet + !!folders + !!list != 1 || (list && !root) || (!list && root)) {
        clt_error("pack: give one input: --imagenet DIR, --folders DIR, or --list FILE with --root DIR");
        return DT_USAGE;
    }
    if (!output) {
        clt_error("pack: -o OUT.pack is required");
        return DT_USAGE;
    }
    if (per_class && seed < 0) {
        clt_error("pack: --per-class needs --seed");
        return DT_USAGE;
    }
    if (!!height != !!width) {
        clt_error("pack: give both --height and --width, or --size");
        return DT_USAGE;
    }

    int rc = 1, n_syn = 0, n_sel = 0;
    char **synsets = NULL, *syn_default = NULL;
    int *sel = NULL;
    unsigned char *selected = NULL;
    clt_pack_report rep = {0};
    gather g = {0};
    if (imagenet && !synsets_path) synsets_path = syn_default = dt_reference("ilsvrc12_synsets.txt");
    if ((imagenet && !synsets_path) || (synsets_path && clt_read_synsets(synsets_path, &synsets, &n_syn))) goto done;
    if (imagenet) {
        /* bsearch needs the ids sorted; the ILSVRC list is, and a custom one must be too */
        for (int i = 1; i < n_syn; i++)
            if (strcmp(synsets[i - 1], synsets[i]) >= 0) {
                clt_error("%s: synsets must be sorted and distinct (line %d)", synsets_path, i + 1);
                goto done;
            }
    }
    int k_orig;
    if (list) {
        k_orig = k_list ? (int)k_list : synsets ? n_syn : 1000;
    } else if (imagenet) {
        k_orig = n_syn;
    } else {
        /* folder classes are only known after listing; a split is checked against them then */
        k_orig = CLT_PACK_MAX_CLASSES;
    }
    if (split) {
        if (clt_read_class_list(split, k_orig, &sel, &n_sel)) goto done;
        selected = clt_calloc((size_t)k_orig, 1);
        for (int i = 0; i < n_sel; i++) selected[sel[i]] = 1;
    }
    if (list ? gather_list(&g, list, root, k_orig, synsets, n_syn, selected, &rep)
             : gather_folders(&g, imagenet ? imagenet : folders, imagenet ? synsets : NULL, n_syn, selected, &rep))
        goto done;
    if (split && sel[n_sel - 1] >= g.k_orig) {
        clt_error("%s lists class %d but %s has %d classes", split, sel[n_sel - 1], imagenet ? imagenet : folders, g.k_orig);
        goto done;
    }
    int classes = split ? n_sel : g.k_orig;
    int *new_label = clt_malloc((size_t)g.k_orig * sizeof *new_label), *orig = clt_malloc((size_t)classes * sizeof *orig);
    for (int k = 0; k < g.k_orig; k++) new_label[k] = split ? -1 : k;
    for (int i = 0; i < classes; i++) orig[i] = split ? sel[i] : i, new_label[orig[i]] = i;
    const char **names = clt_calloc((size_t)classes, sizeof *names);
    for (int i = 0; i < classes; i++) names[i] = g.names[orig[i]];
    for (size_t i = 0; i < g.n; i++) g.items[i].label = new_label[g.items[i].orig_label];
    if (per_class) {
        int *labels = clt_malloc(g.n * sizeof *labels);
        unsigned char *keep = clt_malloc(g.n ? g.n : 1);
        for (size_t i = 0; i < g.n; i++) labels[i] = g.items[i].orig_label;
        clt_select_per_class(labels, g.n, (int)per_class, (uint32_t)seed, keep);
        size_t m = 0;
        for (size_t i = 0; i < g.n; i++) {
            if (keep[i])
                g.items[m++] = g.items[i];
            else
                free(g.items[i].path);
        }
        fprintf(stderr, "per-class %ld, seed %ld: %zu of %zu images selected\n", per_class, seed, m, g.n);
        g.n = m;
        free(labels);
        free(keep);
    }
    clt_pack_build_config cfg = {
        .out_path = output,
        .channels = gray ? 1 : 3,
        .height = (int)(height ? height : size),
        .width = (int)(width ? width : size),
        .encoding = raw ? CLT_PACK_RAW : CLT_PACK_JPEG,
        .quality = (int)quality,
        .subsampling = (int)subsamp,
        .classes = classes,
        .threads = (int)threads,
        .progress = progress,
    };
    uint64_t packed;
    if (g.n == 0) {
        clt_pack_report_print(&rep, 10);
        clt_error("pack: no images found to pack; %s is not written", output);
    } else if (clt_pack_build(&cfg, g.items, g.n, &rep, &packed) == 0 &&
               clt_pack_write_classes(output, classes, orig, names) == 0) {
        rc = strict && rep.skipped ? 1 : 0;
        if (rc) clt_error("pack: %zu inputs skipped and --strict given", rep.skipped);
    }
    free(names);
    free(new_label);
    free(orig);
done:
    for (size_t i = 0; i < g.n; i++) free(g.items[i].path);
    free(g.items);
    clt_free_strings(g.names, g.k_orig);
    clt_pack_report_free(&rep);
    clt_free_strings(synsets, n_syn);
    free(syn_default);
    free(sel);
    free(selected);
    return rc;
}
