/* cmd_split.c — `cltransfer-data split`: the study's class splits and per-class reduced datasets. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_tools.h"
#include "data/pack.h"
#include "data/packbuild.h"
#include "data/split.h"
#include "util/util.h"

static const char *help =
    "usage: cltransfer-data split --random --seed S [--classes K] -o PREFIX\n"
    "       cltransfer-data split --natman [--wordnet DIR] [--synsets FILE] [--manual FILE] -o PREFIX\n"
    "       cltransfer-data split --per-class N --seed S (--list FILE | --pack FILE) -o OUTPUT\n"
    "\n"
    "Class splits write two class lists, PREFIX_A.txt and PREFIX_B.txt: one original label index a line,\n"
    "ascending (give them to `pack --split`).\n"
    "  --random       A = sorted(numpy.random.choice(numpy.arange(K), K//2, replace=False)) after\n"
    "                 numpy.random.seed([S]) (NumPy's legacy RandomState, bit-exact); B = the rest.\n"
    "                 K=1000 gives the study's 500/500 halves, K=10 the Fashion-MNIST 5/5 halves.\n"
    "  --seed S       0..4294967295\n"
    "  --classes K    number of classes (default 1000)\n"
    "  --natman       the man-made/natural split of the 1000 ILSVRC-2012 classes from WordNet 3.0:\n"
    "                 A = natural (449 classes), B = man-made (551), as the published logs name them.\n"
    "                 Classes below artifact are man-made, below organism natural, the 68 others as\n"
    "                 listed by hand in the study (--manual).\n"
    "  --wordnet DIR  WordNet 3.0 folder or its data.noun (default /usr/share/wordnet, Debian wordnet-base)\n"
    "  --synsets FILE the class ids in label order (default: the bundled ilsvrc12_synsets.txt)\n"
    "  --manual FILE  the hand-placed classes (default: the bundled natman_manual_68.txt)\n"
    "\n"
    "Reduced datasets keep at most N examples per class, the same ones on every run:\n"
    "  --per-class N  for each class c with m > N examples (in input order), keep those at positions\n"
    "                 sorted(numpy.random.permutation(m)[:N]) after numpy.random.seed([S, c]); c is the\n"
    "                 original label. Subsets nest: for one seed, the N kept are among the M kept for M > N.\n"
    "  --list FILE    a Caffe-style list ('relative/path label' lines): writes the kept lines to OUTPUT\n"
    "  --pack FILE    a pack: writes a pack OUTPUT of the kept records (copied, not re-encoded), its mean\n"
    "                 and class map\n"
    "  -o, --output   PREFIX for splits, the output file for --per-class\n";

static int write_halves(const char *prefix, const int *a, int na, const int *b, int nb, const char *what) {
    size_t len = strlen(prefix) + 8;
    char *pa = clt_malloc(len), *pb = clt_malloc(len);
    snprintf(pa, len, "%s_A.txt", prefix);
    snprintf(pb, len, "%s_B.txt", prefix);
    int rc = clt_write_class_list(pa, a, na) || clt_write_class_list(pb, b, nb) ? 1 : 0;
    if (!rc) printf("%s: wrote %s (%d classes) and %s (%d classes)\n", what, pa, na, pb, nb);
    free(pa);
    free(pb);
    return rc;
}

/* Caffe's list files put the label after the last space, so paths may hold spaces. */
static int parse_list_label(const char *line, long *label) {
    const char *sp = strrchr(line, ' ');
    if (!sp || sp == line) return -1;
    char *end;
    errno = 0;
    *label = strtol(sp + 1, &end, 10);
    while (*end && isspace((unsigned char)*end)) end++;
    return sp[1] && !*end && !errno && *label >= 0 && *label <= 0x7fffffff ? 0 : -1;
}

static int per_class_list(const char *in, const char *out, int n_keep, uint32_t seed) {
    size_t size;
    char *text = clt_read_file(in, &size);
    if (!text) return 1;
    size_t cap = 1024, n = 0, bad = 0;
    char **lines = clt_malloc(cap * sizeof *lines);
    int *labels = clt_malloc(cap * sizeof *labels);
    int line_no = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        size_t l = strlen(line);
        if (l && line[l - 1] == '\r') line[--l] = 0;
        if (!l || line[0] == '#') continue;
        long label;
        if (parse_list_label(line, &label)) {
            if (bad++ < 5) clt_warn("%s:%d: not 'path label', left out: %.80s", in, line_no, line);
            continue;
        }
        if (n == cap) {
            cap *= 2;
            lines = clt_realloc(lines, cap * sizeof *lines);
            labels = clt_realloc(labels, cap * sizeof *labels);
        }
        lines[n] = line;
        labels[n++] = (int)label;
    }
    unsigned char *keep = clt_malloc(n ? n : 1);
    clt_select_per_class(labels, n, n_keep, seed, keep);
    size_t out_len = 0, kept = 0;
    char *out_text = clt_malloc(size + 1);
    for (size_t i = 0; i < n; i++)
        if (keep[i]) {
            size_t l = strlen(lines[i]);
            memcpy(out_text + out_len, lines[i], l);
            out_text[out_len + l] = '\n';
            out_len += l + 1, kept++;
        }
    int rc = clt_write_file_atomic(out, out_text, out_len) ? 1 : 0;
    if (!rc)
        printf("per-class %d, seed %u: kept %zu of %zu lines of %s in %s%s\n", n_keep, seed, kept, n, in, out,
               bad ? " (malformed lines left out, see warnings)" : "");
    if (bad > 5) clt_warn("%s: %zu malformed lines in all", in, bad);
    free(out_text);
    free(keep);
    free(labels);
    free(lines);
    free(text);
    return rc;
}

static int per_class_pack(const char *in, const char *out, int n_keep, uint32_t seed) {
    clt_pack p;
    if (clt_pack_open(&p, in)) return 1;
    int *labels = clt_malloc((size_t)p.count * sizeof *labels);
    for (uint64_t i = 0; i < p.count; i++) labels[i] = p.index[i].orig_label;
    unsigned char *keep = clt_malloc((size_t)p.count);
    clt_select_per_class(labels, (size_t)p.count, n_keep, seed, keep);
    clt_pack_writer *pw;
    int rc = 1;
    uint8_t *buf = clt_malloc(p.max_record);
    char err[384];
    if (clt_pack_writer_open(&pw, out, p.encoding, p.c, p.h, p.w, p.classes)) goto done;
    for (uint64_t i = 0; i < p.count; i++) {
        if (!keep[i]) continue;
        if (clt_pack_read(&p, i, buf, err, sizeof err) ||
            clt_pack_writer_add(pw, buf, p.index[i].size, p.index[i].label, p.index[i].orig_label)) {
            clt_error("pack %s: %s", in, err);
            clt_pack_writer_abort(pw);
            goto done;
        }
    }
    uint64_t kept = clt_pack_writer_count(pw);
    if (clt_pack_writer_commit(pw)) goto done;
    int *orig = clt_malloc((size_t)p.classes * sizeof *orig);
    char **names = clt_malloc((size_t)p.classes * sizeof *names);
    if (clt_pack_read_classes(in, p.classes, orig, names, 1) == 0) {
        clt_pack_write_classes(out, p.classes, orig, (const char *const *)names);
        for (int k = 0; k < p.classes; k++) free(names[k]);
    }
    free(orig);
    free(names);
    clt_mean_acc acc;
    if (clt_pack_mean(out, 0, -1, &acc) == 0) {
        float *m = clt_malloc((size_t)p.c * p.h * p.w * sizeof *m);
        clt_mean_acc_result(&acc, m);
        char *mean_path = clt_pack_side_path(out, ".mean");
        rc = clt_pack_write_mean(out, mean_path, p.c, p.h, p.w, acc.count, m) ? 1 : 0;
        free(mean_path);
        free(m);
        clt_mean_acc_free(&acc);
    }
    if (!rc)
        printf("per-class %d, seed %u: kept %llu of %llu images of %s in %s\n", n_keep, seed, (unsigned long long)kept,
               (unsigned long long)p.count, in, out);
done:
    free(buf);
    free(keep);
    free(labels);
    clt_pack_close(&p);
    return rc;
}

int cmd_split(int argc, char **argv) {
    static const struct option opts[] = {
        {"random", no_argument, 0, 'r'},       {"natman", no_argument, 0, 'n'},
        {"per-class", required_argument, 0, 'p'}, {"seed", required_argument, 0, 's'},
        {"classes", required_argument, 0, 'k'}, {"wordnet", required_argument, 0, 'w'},
        {"synsets", required_argument, 0, 'y'}, {"manual", required_argument, 0, 'm'},
        {"list", required_argument, 0, 'l'},    {"pack", required_argument, 0, 'P'},
        {"output", required_argument, 0, 'o'},  {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int random = 0, natman = 0, have_seed = 0;
    long per_class = 0, seed = 0, classes = 1000;
    const char *wordnet = "/usr/share/wordnet", *synsets = NULL, *manual = NULL, *list = NULL, *pack = NULL,
               *output = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': random = 1; break;
        case 'n': natman = 1; break;
        case 'p': if (clt_option_int("per-class", optarg, 1, 1000000000, &per_class)) return DT_USAGE; break;
        case 's': if (clt_option_int("seed", optarg, 0, 0xffffffffL, &seed)) return DT_USAGE; have_seed = 1; break;
        case 'k': if (clt_option_int("classes", optarg, 2, 1000000, &classes)) return DT_USAGE; break;
        case 'w': wordnet = optarg; break;
        case 'y': synsets = optarg; break;
        case 'm': manual = optarg; break;
        case 'l': list = optarg; break;
        case 'P': pack = optarg; break;
        case 'o': output = optarg; break;
        case 'h': fputs(help, stdout); return 0;
        default: fputs(help, stderr); return DT_USAGE;
        }
    }
    if (dt_no_extra(argc, argv, optind, "split")) return DT_USAGE;
    if (random + natman + (per_class > 0) != 1) {
        clt_error("split: give one of --random, --natman, --per-class N (see split --help)");
        return DT_USAGE;
    }
    if (!output) {
        clt_error("split: -o is required (see split --help)");
        return DT_USAGE;
    }
    if ((random || per_class) && !have_seed) {
        clt_error("split: --seed is required with --random and --per-class");
        return DT_USAGE;
    }
    if (random) {
        int *a = clt_malloc((size_t)classes * sizeof *a), *b = clt_malloc((size_t)classes * sizeof *b);
        clt_split_random((uint32_t)seed, (int)classes, a, b);
        char what[64];
        snprintf(what, sizeof what, "random halves, seed %ld", seed);
        int rc = write_halves(output, a, (int)(classes / 2), b, (int)(classes - classes / 2), what);
        free(a);
        free(b);
        return rc;
    }
    if (natman) {
        struct stat st;
        char *data_noun = stat(wordnet, &st) == 0 && S_ISDIR(st.st_mode) ? clt_path_join(wordnet, "data.noun")
                                                                          : clt_strdup(wordnet);
        char *syn = synsets ? clt_strdup(synsets) : dt_reference("ilsvrc12_synsets.txt");
        char *man = manual ? clt_strdup(manual) : dt_reference("natman_manual_68.txt");
        int rc = 1;
        if (syn && man) {
            int n_nat, n_man; /* a synset list holds at most CLT_PACK_MAX_CLASSES ids */
            int *natl = clt_malloc(CLT_PACK_MAX_CLASSES * sizeof *natl), *manl = clt_malloc(CLT_PACK_MAX_CLASSES * sizeof *manl);
            if (clt_split_natman(data_noun, syn, man, natl, &n_nat, manl, &n_man) == 0)
                rc = write_halves(output, natl, n_nat, manl, n_man, "natman (A natural, B man-made)");
            free(natl);
            free(manl);
        }
        free(data_noun);
        free(syn);
        free(man);
        return rc;
    }
    if (!!list + !!pack != 1) {
        clt_error("split --per-class: give one of --list FILE or --pack FILE");
        return DT_USAGE;
    }
    return list ? per_class_list(list, output, (int)per_class, (uint32_t)seed)
                : per_class_pack(pack, output, (int)per_class, (uint32_t)seed);
}
