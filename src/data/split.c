/* split.c — random halves (NumPy-exact), the WordNet man-made/natural split, class lists, per-class subsets. */
#include "data/split.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/mt19937.h"
#include "util/util.h"

#define WORDNET_ARTIFACT 21939u
#define WORDNET_ORGANISM 4475u
#define MAX_LIST_CLASSES 1000000

void clt_split_random(uint32_t seed, int k, int *a, int *b) {
    clt_mt mt;
    clt_mt_seed_array(&mt, &seed, 1);
    uint32_t *chosen = clt_malloc((size_t)(k / 2 + 1) * sizeof *chosen);
    clt_mt_choose_sorted(&mt, (uint32_t)k, (uint32_t)(k / 2), chosen);
    unsigned char *in_a = clt_calloc((size_t)k, 1);
    for (int i = 0; i < k / 2; i++) a[i] = (int)chosen[i], in_a[chosen[i]] = 1;
    for (int c = 0, nb = 0; c < k; c++)
        if (!in_a[c]) b[nb++] = c;
    free(chosen);
    free(in_a);
}

void clt_free_strings(char **s, int n) {
    for (int i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

/* Splits the buffer into lines in place; returns the next line or NULL, with *line_no counted. */
static char *next_line(char **cursor, int *line_no) {
    char *s = *cursor;
    if (!s || !*s) return NULL;
    char *nl = strchr(s, '\n');
    if (nl) {
        *nl = 0;
        *cursor = nl + 1;
    } else {
        *cursor = s + strlen(s);
    }
    size_t len = strlen(s);
    if (len && s[len - 1] == '\r') s[len - 1] = 0;
    (*line_no)++;
    return s;
}

static int is_wnid(const char *s) {
    if (s[0] != 'n' || strlen(s) != 9) return 0;
    for (int i = 1; i < 9; i++)
        if (!isdigit((unsigned char)s[i])) return 0;
    return 1;
}

int clt_read_synsets(const char *path, char ***wnids, int *n) {
    char *buf = clt_read_file(path, NULL);
    if (!buf) return -1;
    int cap = 1024, count = 0, line_no = 0;
    char **list = clt_malloc((size_t)cap * sizeof *list);
    char *cur = buf, *line;
    while ((line = next_line(&cur, &line_no))) {
        char *w = line + strspn(line, " \t");
        if (!*w || *w == '#') continue;
        w[strcspn(w, " \t")] = 0; /* a synset_words-style file carries words after the id */
        if (!is_wnid(w)) {
            clt_error("%s:%d: '%.40s' is not a WordNet noun id (n + 8 digits)", path, line_no, w);
            goto fail;
        }
        if (count == MAX_LIST_CLASSES) {
            clt_error("%s: more than %d synsets", path, MAX_LIST_CLASSES);
            goto fail;
        }
        if (count == cap) list = clt_realloc(list, (size_t)(cap *= 2) * sizeof *list);
        list[count++] = clt_strdup(w);
    }
    if (!count) {
        clt_error("%s: no synsets in the file", path);
        goto fail;
    }
    free(buf);
    *wnids = list;
    *n = count;
    return 0;
fail:
    clt_free_strings(list, count);
    free(buf);
    return -1;
}

/* ---- WordNet: noun synsets with their hypernyms, enough to walk the closure ---- */

typedef struct wordnet {
    uint32_t *offset;  /* synset offsets, ascending (data.noun is ordered by offset) */
    uint32_t *first;   /* hypernyms of synset i: hyper[first[i] .. first[i+1]) */
    uint32_t *hyper;   /* hypernym synset offsets */
    size_t count, n_hyper;
} wordnet;

static void wordnet_free(wordnet *wn) {
    free(wn->offset);
    free(wn->first);
    free(wn->hyper);
}

static int parse_u32(const char *tok, int base, uint32_t *out) {
    if (!tok || !*tok) return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(tok, &end, base);
    if (*end || errno || v > 0xffffffffUL) return -1;
    *out = (uint32_t)v;
    return 0;
}

static int wordnet_load(wordnet *wn, const char *path) {
    memset(wn, 0, sizeof *wn);
    char *buf = clt_read_file(path, NULL);
    if (!buf) return -1;
    size_t cap = 1 << 16, hcap = 1 << 17;
    wn->offset = clt_malloc(cap * sizeof *wn->offset);
    wn->first = clt_malloc((cap + 1) * sizeof *wn->first);
    wn->hyper = clt_malloc(hcap * sizeof *wn->hyper);
    char *cur = buf, *line, *save;
    int line_no = 0;
    while ((line = next_line(&cur, &line_no))) {
        if (line[0] == ' ' || !line[0]) continue; /* the license header lines start with spaces */
        uint32_t off, w_cnt, p_cnt;
        char *tok = strtok_r(line, " ", &save);
        if (parse_u32(tok, 10, &off)) goto bad;
        strtok_r(NULL, " ", &save); /* lex_filenum */
        strtok_r(NULL, " ", &save); /* ss_type */
        if (parse_u32(strtok_r(NULL, " ", &save), 16, &w_cnt) || w_cnt > 255) goto bad;
        for (uint32_t i = 0; i < 2 * w_cnt; i++)
            if (!strtok_r(NULL, " ", &save)) goto bad;
        if (parse_u32(strtok_r(NULL, " ", &save), 10, &p_cnt) || p_cnt > 9999) goto bad;
        if (wn->count && off <= wn->offset[wn->count - 1]) {
            clt_error("%s:%d: synset offsets are not ascending", path, line_no);
            goto fail;
        }
        if (wn->count + 1 >= cap) {
            cap *= 2;
            wn->offset = clt_realloc(wn->offset, cap * sizeof *wn->offset);
            wn->first = clt_realloc(wn->first, (cap + 1) * sizeof *wn->first);
        }
        wn->offset[wn->count] = off;
        wn->first[wn->count] = (uint32_t)wn->n_hyper;
        for (uint32_t i = 0; i < p_cnt; i++) {
            char *sym = strtok_r(NULL, " ", &save), *target = strtok_r(NULL, " ", &save);
            char *pos = strtok_r(NULL, " ", &save), *st = strtok_r(NULL, " ", &save);
            uint32_t t;
            if (!st || parse_u32(target, 10, &t)) goto bad;
            /* instance hypernyms (@i) count too: the closure runs up every is-a link */
            if ((!strcmp(sym, "@") || !strcmp(sym, "@i")) && !strcmp(pos, "n")) {
                if (wn->n_hyper == hcap) wn->hyper = clt_realloc(wn->hyper, (hcap *= 2) * sizeof *wn->hyper);
                wn->hyper[wn->n_hyper++] = t;
            }
        }
        wn->count++;
        continue;
    bad:
        clt_error("%s:%d: not a WordNet data.noun line", path, line_no);
        goto fail;
    }
    wn->first[wn->count] = (uint32_t)wn->n_hyper;
    free(buf);
    if (!wn->count) {
        clt_error("%s: no synsets found (is it WordNet's data.noun?)", path);
        wordnet_free(wn);
        return -1;
    }
    return 0;
fail:
    free(buf);
    wordnet_free(wn);
    return -1;
}

static long wordnet_find(const wordnet *wn, uint32_t off) {
    size_t lo = 0, hi = wn->count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (wn->offset[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < wn->count && wn->offset[lo] == off ? (long)lo : -1;
}

/* Whether `target` is in the hypernym closure of synset `start` (itself included). `stamp`/`mark` avoid
   revisiting shared ancestors; `stack` has room for every synset. */
static int wordnet_below(const wordnet *wn, long start, uint32_t target, uint32_t *mark, uint32_t stamp,
                         long *stack) {
    size_t top = 0;
    stack[top++] = start;
    mark[start] = stamp;
    while (top) {
        long s = stack[--top];
        if (wn->offset[s] == target) return 1;
        for (uint32_t h = wn->first[s]; h < wn->first[s + 1]; h++) {
            long p = wordnet_find(wn, wn->hyper[h]);
            if (p >= 0 && mark[p] != stamp) mark[p] = stamp, stack[top++] = p;
        }
    }
    return 0;
}

int clt_split_natman(const char *data_noun, const char *synsets_path, const char *manual_path, int *nat,
                     int *n_nat, int *man, int *n_man) {
    char **wnids = NULL, *manual = NULL;
    int k = 0, rc = -1;
    wordnet wn;
    if (clt_read_synsets(synsets_path, &wnids, &k)) return -1;
    if (wordnet_load(&wn, data_noun)) {
        clt_free_strings(wnids, k);
        return -1;
    }
    uint32_t *mark = clt_calloc(wn.count, sizeof *mark);
    long *stack = clt_malloc(wn.count * sizeof *stack);
    signed char *cat = clt_malloc((size_t)k); /* 1 man-made, 0 natural, -1 neither */
    for (int c = 0; c < k; c++) {
        long s = wordnet_find(&wn, (uint32_t)atol(wnids[c] + 1));
        if (s < 0) {
            clt_error("%s: class %d (%s) is not a synset of %s", synsets_path, c, wnids[c], data_noun);
            goto done;
        }
        if (wordnet_below(&wn, s, WORDNET_ARTIFACT, mark, 2 * (uint32_t)c + 1, stack))
            cat[c] = 1;
        else if (wordnet_below(&wn, s, WORDNET_ORGANISM, mark, 2 * (uint32_t)c + 2, stack))
            cat[c] = 0;
        else
            cat[c] = -1;
    }
    manual = clt_read_file(manual_path, NULL);
    if (!manual) goto done;
    char *cur = manual, *line, *save;
    int line_no = 0;
    while ((line = next_line(&cur, &line_no))) {
        if (!line[0] || line[0] == '#') continue;
        char *wnid = strtok_r(line, "\t", &save), *what = strtok_r(NULL, "\t", &save);
        int c = 0;
        while (c < k && strcmp(wnids[c], wnid ? wnid : "")) c++;
        if (!what || c == k || (strcmp(what, "man-made") && strcmp(what, "natural"))) {
            clt_error("%s:%d: want 'wnid<TAB>man-made|natural' with a wnid of %s", manual_path, line_no, synsets_path);
            goto done;
        }
        if (cat[c] != -1) {
            clt_error("%s:%d: %s is already placed by WordNet (%s)", manual_path, line_no, wnid,
                      cat[c] == 1 ? "below artifact" : cat[c] == 0 ? "below organism" : "listed twice");
            goto done;
        }
        cat[c] = strcmp(what, "man-made") ? 2 : 3; /* 2/3: placed by hand, so a repeat is caught above */
    }
    *n_nat = *n_man = 0;
    for (int c = 0; c < k; c++) {
        if (cat[c] == -1) {
            clt_error("class %d (%s) is below neither artifact nor organism and not in %s", c, wnids[c], manual_path);
            goto done;
        }
        if (cat[c] == 1 || cat[c] == 3)
            man[(*n_man)++] = c;
        else
            nat[(*n_nat)++] = c;
    }
    rc = 0;
done:
    free(manual);
    free(cat);
    free(mark);
    free(stack);
    wordnet_free(&wn);
    clt_free_strings(wnids, k);
    return rc;
}

/* ---- class lists ---- */

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int clt_read_class_list(const char *path, int max_classes, int **list, int *n) {
    char *buf = clt_read_file(path, NULL);
    if (!buf) return -1;
    int *out = clt_malloc((size_t)max_classes * sizeof *out), count = 0, line_no = 0;
    char *cur = buf, *line;
    while ((line = next_line(&cur, &line_no))) {
        char *s = line + strspn(line, " \t");
        if (!*s || *s == '#') continue;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        end += strspn(end, " \t");
        if (end == s || *end || errno || v < 0 || v >= max_classes) {
            clt_error("%s:%d: want a class index in 0..%d, got '%.40s'", path, line_no, max_classes - 1, s);
            goto fail;
        }
        if (count == max_classes) {
            clt_error("%s:%d: more than %d classes listed", path, line_no, max_classes);
            goto fail;
        }
        out[count++] = (int)v;
    }
    qsort(out, (size_t)count, sizeof *out, cmp_int);
    for (int i = 1; i < count; i++)
        if (out[i] == out[i - 1]) {
            clt_error("%s: class %d is listed twice", path, out[i]);
            goto fail;
        }
    if (!count) {
        clt_error("%s: the class list is empty", path);
        goto fail;
    }
    free(buf);
    *list = out;
    *n = count;
    return 0;
fail:
    free(buf);
    free(out);
    return -1;
}

int clt_write_class_list(const char *path, const int *list, int n) {
    size_t cap = (size_t)n * 12 + 1, len = 0;
    char *text = clt_malloc(cap);
    for (int i = 0; i < n; i++) len += (size_t)snprintf(text + len, cap - len, "%d\n", list[i]);
    int rc = clt_write_file_atomic(path, text, len);
    free(text);
    return rc;
}

/* ---- per-class subsets ---- */

static int cmp_by_label(const void *a, const void *b, void *labels) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int lx = ((const int *)labels)[x], ly = ((const int *)labels)[y];
    if (lx != ly) return (lx > ly) - (lx < ly);
    return (x > y) - (x < y);
}

void clt_select_per_class(const int *labels, size_t n, int per_class, uint32_t seed, unsigned char *keep) {
    size_t *order = clt_malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = i;
    qsort_r(order, n, sizeof *order, cmp_by_label, (void *)labels);
    memset(keep, 0, n);
    uint32_t *chosen = clt_malloc((size_t)(per_class > 0 ? per_class : 1) * sizeof *chosen);
    for (size_t g = 0; g < n;) {
        size_t e = g;
        while (e < n && labels[order[e]] == labels[order[g]]) e++;
        size_t m = e - g;
        if (labels[order[g]] < 0) {
        } else if (m <= (size_t)per_class) {
            for (size_t i = g; i < e; i++) keep[order[i]] = 1;
        } else {
            uint32_t key[2] = {seed, (uint32_t)labels[order[g]]};
            clt_mt mt;
            clt_mt_seed_array(&mt, key, 2);
            clt_mt_choose_sorted(&mt, (uint32_t)m, (uint32_t)per_class, chosen);
            for (int i = 0; i < per_class; i++) keep[order[g + chosen[i]]] = 1;
        }
        g = e;
    }
    free(chosen);
    free(order);
}
