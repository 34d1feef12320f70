/* checkpoint.c — writing and reading checkpoints; every size read is checked against the bytes
   that remain, so a hostile or damaged file cannot make the reader go out of bounds. */
#include "net/checkpoint.h"

#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char MAGIC[8] = {'C', 'L', 'T', 'C', 'K', 'P', 'T', '\n'};
static const char END_MAGIC[8] = {'C', 'L', 'T', 'E', 'N', 'D', '\n', 0};
#define MAX_HEADER (1 << 20)
#define MAX_BLOBS 256

/* ---- writing ---- */

typedef struct writer {
    clt_atomic_file f;
    uLong crc;
} writer;

static void put(writer *w, const void *p, size_t n) {
    clt_atomic_write(&w->f, p, n);
    w->crc = crc32(w->crc, p, (uInt)n);
}
static void put_u32(writer *w, uint32_t v) { put(w, &v, 4); } /* little-endian hosts only; see README */
static void put_u64(writer *w, uint64_t v) { put(w, &v, 8); }

static void put_blob(writer *w, const char *name, int ndims, const int *dims, const float *data, size_t count) {
    put_u32(w, (uint32_t)strlen(name));
    put(w, name, strlen(name));
    put_u32(w, (uint32_t)ndims);
    for (int i = 0; i < ndims; i++) put_u32(w, (uint32_t)dims[i]);
    put_u64(w, count);
    /* large blobs go in pieces so crc32's uInt length cannot overflow */
    const char *p = (const char *)data;
    size_t bytes = count * sizeof(float);
    for (size_t done = 0; done < bytes;) {
        size_t n = CLT_MIN(bytes - done, (size_t)1 << 30);
        put(w, p + done, n);
        done += n;
    }
}

static int arch_text(const clt_arch *a, char *buf, size_t n) {
    int len = snprintf(buf, n, "arch=%s\ninput=%d,%d,%d\n", a->name, a->in_c, a->in_h, a->in_w);
    for (int i = 0; i < 5; i++)
        len += snprintf(buf + len, n - len, "conv%d=%d,%d,%d,%d,%d\n", i + 1, a->conv[i].out, a->conv[i].k,
                        a->conv[i].stride, a->conv[i].pad, a->conv[i].group);
    len += snprintf(buf + len, n - len, "pool=%d,%d\nlrn=%d,%.9g,%.9g,%.9g\nfc=%d,%d,%d\ndropout=%.9g\ninit=%s\n",
                    a->pool_k, a->pool_stride, a->lrn_size, a->lrn_alpha, a->lrn_beta, a->lrn_k, a->fc[0], a->fc[1],
                    a->fc[2], a->dropout, a->init == CLT_INIT_HE ? "he" : "gaussian");
    return len;
}

int clt_checkpoint_write(const char *path, const clt_arch *arch, const float *params, const float *history,
                         int64_t iter, int64_t seed, int batch, const clt_ckpt_blob *extra, int n_extra) {
    clt_layer_params layer[CLT_LAYERS + 1];
    size_t param_count;
    if (clt_arch_layers(arch, layer, &param_count) != 0) return -1;
    char header[4096];
    int len = snprintf(header, sizeof header, "format=cltransfer-checkpoint\nversion=%d\n", CLT_CKPT_VERSION);
    len += arch_text(arch, header + len, sizeof header - len);
    int nblobs = 2 * clt_net_blob_count() + n_extra;
    len += snprintf(header + len, sizeof header - len, "iter=%" PRId64 "\nseed=%" PRId64 "\nbatch=%d\nimages_seen=%" PRId64
                    "\nblobs=%d\n", iter, seed, batch, iter * batch, nblobs);

    float *zeros = history ? NULL : clt_calloc(param_count, sizeof(float));
    writer w = {.crc = crc32(0, NULL, 0)};
    if (clt_atomic_open(&w.f, path) != 0) {
        free(zeros);
        return -1;
    }
    put(&w, MAGIC, sizeof MAGIC);
    put_u32(&w, CLT_CKPT_VERSION);
    put_u32(&w, (uint32_t)len);
    put(&w, header, len);
    for (int pass = 0; pass < 2; pass++) {
        const float *values = pass ? (history ? history : zeros) : params;
        /* blob order of clt_net_blob: layer 1..8, weight then bias */
        for (int l = 1; l <= CLT_LAYERS; l++) {
            const clt_layer_params *L = &layer[l];
            const char *suffix = pass ? ".momentum" : "";
            char name[64];
            snprintf(name, sizeof name, "%s.weight%s", L->name, suffix);
            put_blob(&w, name, 4, L->dims, values + L->w_off, L->w_count);
            int bdims[1] = {(int)L->b_count};
            snprintf(name, sizeof name, "%s.bias%s", L->name, suffix);
            put_blob(&w, name, 1, bdims, values + L->b_off, L->b_count);
        }
    }
    for (int i = 0; i < n_extra; i++) put_blob(&w, extra[i].name, extra[i].ndims, extra[i].dims, extra[i].data, extra[i].count);
    uint32_t crc = (uint32_t)w.crc;
    clt_atomic_write(&w.f, &crc, 4);
    clt_atomic_write(&w.f, END_MAGIC, sizeof END_MAGIC);
    free(zeros);
    return clt_atomic_commit(&w.f);
}

int clt_checkpoint_save(const char *path, clt_net *net, clt_device *d, int64_t iter, int64_t seed, int batch,
                        const clt_ckpt_blob *extra, int n_extra) {
    float *params = clt_malloc(net->param_count * sizeof(float));
    float *history = clt_malloc(net->param_count * sizeof(float));
    clt_download(d, params, net->params, 0, net->param_count * sizeof(float));
    clt_download(d, history, net->history, 0, net->param_count * sizeof(float));
    int rc = clt_device_report(d) != 0
                 ? -1
                 : clt_checkpoint_write(path, &net->arch, params, history, iter, seed, batch, extra, n_extra);
    free(params), free(history);
    return rc;
}

/* ---- reading ---- */

/* Reads the file front to back, never more than it holds: every size is checked against the bytes
   left before anything is allocated, so memory stays within the file's size, and a file that is no
   checkpoint is refused after its first 8 bytes. The CRC is taken on the way. */
typedef struct reader {
    FILE *f;
    const char *path;
    uint64_t left; /* bytes of the file not yet read */
    uLong crc;
    int bad;
} reader;

static int take(reader *r, void *dst, size_t n, const char *what) {
    if (r->bad) return -1;
    if (n > r->left) {
        clt_error("%s: truncated checkpoint: %s runs past the end of the file", r->path, what);
        r->bad = 1;
        return -1;
    }
    for (size_t done = 0; done < n;) {
        size_t piece = CLT_MIN(n - done, (size_t)1 << 30);
        if (fread((char *)dst + done, 1, piece, r->f) != piece) {
            clt_error("%s: cannot read %s: %s", r->path, what, ferror(r->f) ? strerror(errno) : "the file shrank");
            r->bad = 1;
            return -1;
        }
        r->crc = crc32(r->crc, (const Bytef *)dst + done, (uInt)piece);
        done += piece;
    }
    r->left -= n;
    return 0;
}

static int parse_ints(const char *s, int *v, int n) {
    for (int i = 0; i < n; i++) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x < 0 || x > 1000000) return -1;
        v[i] = (int)x;
        s = end;
        if (i + 1 < n) {
            if (*s != ',') return -1;
            s++;
        }
    }
    return *s ? -1 : 0;
}

static int parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_header(clt_checkpoint *ck, char *text, const char *path, int *nblobs) {
    clt_arch *a = &ck->arch;
    memset(a, 0, sizeof *a);
    bool seen_arch = false;
    *nblobs = -1;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *eq = strchr(line, '=');
        if (!eq) {
            clt_error("%s: corrupt checkpoint header line '%.60s'", path, line);
            return -1;
        }
        *eq = 0;
        const char *k = line, *v = eq + 1;
        int ok = 0, tmp[5] = {0};
        int64_t x = 0;
        if (!strcmp(k, "format")) ok = !strcmp(v, "cltransfer-checkpoint") ? 0 : -1;
        else if (!strcmp(k, "version")) ok = parse_i64(v, CLT_CKPT_VERSION, CLT_CKPT_VERSION, &x);
        else if (!strcmp(k, "arch")) {
            if (!strcmp(v, "caffenet")) clt_arch_caffenet(a);
            else if (!strcmp(v, "small")) clt_arch_small(a);
            else ok = -1;
            seen_arch = true;
        } else if (!strcmp(k, "input")) {
            ok = parse_ints(v, tmp, 3);
            a->in_c = tmp[0], a->in_h = tmp[1], a->in_w = tmp[2];
        } else if (!strncmp(k, "conv", 4) && k[4] >= '1' && k[4] <= '5' && !k[5]) {
            ok = parse_ints(v, tmp, 5);
            a->conv[k[4] - '1'] = (clt_conv_spec){tmp[0], tmp[1], tmp[2], tmp[3], tmp[4]};
        } else if (!strcmp(k, "pool")) {
            ok = parse_ints(v, tmp, 2);
            a->pool_k = tmp[0], a->pool_stride = tmp[1];
        } else if (!strcmp(k, "lrn")) {
            ok = sscanf(v, "%d,%f,%f,%f", &a->lrn_size, &a->lrn_alpha, &a->lrn_beta, &a->lrn_k) == 4 ? 0 : -1;
        } else if (!strcmp(k, "fc")) {
            ok = parse_ints(v, a->fc, 3);
        } else if (!strcmp(k, "dropout")) a->dropout = (float)atof(v);
        else if (!strcmp(k, "init")) a->init = !strcmp(v, "he") ? CLT_INIT_HE : CLT_INIT_GAUSSIAN;
        /* the bounds are the config's: a resumed run continues from iter, so it must be one the
           trainer could have reached */
        else if (!strcmp(k, "iter")) ok = parse_i64(v, 0, 1000000000000LL, &ck->iter);
        else if (!strcmp(k, "seed")) ok = parse_i64(v, INT64_MIN, INT64_MAX, &ck->seed);
        else if (!strcmp(k, "batch")) {
            ok = parse_i64(v, 0, 65536, &x);
            ck->batch = (int)x;
        } else if (!strcmp(k, "images_seen")) ok = parse_i64(v, 0, INT64_MAX, &ck->images_seen);
        else if (!strcmp(k, "blobs")) {
            ok = parse_i64(v, 0, MAX_BLOBS, &x);
            *nblobs = (int)x;
        }
        /* unknown keys are skipped: later versions may add descriptive lines */
        if (ok != 0) {
            clt_error("%s: checkpoint header has a bad '%s' line ('%.60s')", path, k, v);
            return -1;
        }
    }
    if (!seen_arch || *nblobs < 0 || *nblobs > MAX_BLOBS) {
        clt_error("%s: checkpoint header lacks the net definition or blob count", path);
        return -1;
    }
    return 0;
}

/* The header's net must be the blobs' net: layer i's weight is [out][in/group][k][k] for conv and
   [out][in][1][1] for fc, in being the layer below's out (fc6's comes from conv5's maps, which only
   the count can say here), and its bias [out]. A header of one arch over blobs of another is refused. */
static int check_blobs_match_header(const clt_checkpoint *ck, const char *path) {
    const clt_arch *a = &ck->arch;
    static const char *NAMES[] = {"conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"};
    for (int l = 0; l < 8; l++) {
        int want[4] = {0}, out;
        if (l < 5) {
            const clt_conv_spec *c = &a->conv[l];
            int in = l ? a->conv[l - 1].out : a->in_c;
            if (c->group < 1 || in % c->group) {
                clt_error("%s: checkpoint header: %s has %d groups over %d input channels", path, NAMES[l], c->group, in);
                return -1;
            }
            want[0] = out = c->out, want[1] = in / c->group, want[2] = want[3] = c->k;
        } else {
            out = a->fc[l - 5];
            want[0] = out, want[1] = l > 5 ? a->fc[l - 6] : 0, want[2] = want[3] = 1;
        }
        for (int pass = 0; pass < 2; pass++) {
            char w[80], bname[80];
            snprintf(w, sizeof w, "%s.weight%s", NAMES[l], pass ? ".momentum" : "");
            snprintf(bname, sizeof bname, "%s.bias%s", NAMES[l], pass ? ".momentum" : "");
            const clt_ckpt_blob *bw = clt_checkpoint_find(ck, w), *bb = clt_checkpoint_find(ck, bname);
            if (!bw || !bb) {
                clt_error("%s: checkpoint has no blob %s", path, bw ? bname : w);
                return -1;
            }
            bool same = bw->ndims == 4;
            for (int j = 0; same && j < 4; j++) same = !want[j] || bw->dims[j] == want[j];
            if (!same || bb->ndims != 1 || bb->dims[0] != out) {
                clt_error("%s: blob %s is %dx%dx%dx%d (bias %zu), but the header's %s net has %s %dx%dx%dx%d "
                          "(bias %d): header and blobs do not belong together",
                          path, w, bw->dims[0], bw->ndims > 1 ? bw->dims[1] : 0, bw->ndims > 2 ? bw->dims[2] : 0,
                          bw->ndims > 3 ? bw->dims[3] : 0, bb->count, a->name, NAMES[l], want[0], want[1], want[2],
                          want[3], out);
                return -1;
            }
        }
    }
    return 0;
}

/* A NaN or an infinity in a checkpoint would train on (frozen layers never change) or print as a
   range that skips it; such a file is refused, naming the blob and the first bad value. */
static int check_finite(const clt_checkpoint *ck, const char *path) {
    for (int i = 0; i < ck->nblobs; i++) {
        const clt_ckpt_blob *b = &ck->blobs[i];
        for (size_t j = 0; j < b->count; j++)
            if (!isfinite(b->data[j])) {
                clt_error("%s: blob %s holds %s at index %zu: the net it saved had diverged or the file is damaged",
                          path, b->name, isnan(b->data[j]) ? "NaN" : "an infinity", j);
                return -1;
            }
    }
    return 0;
}

static int read_blobs(clt_checkpoint *ck, reader *r, int nblobs) {
    const char *path = r->path;
    ck->blobs = clt_calloc(nblobs, sizeof *ck->blobs);
    for (int i = 0; i < nblobs; i++) {
        clt_ckpt_blob *b = &ck->blobs[i];
        uint32_t nlen, ndims;
        uint64_t count;
        if (take(r, &nlen, 4, "blob name length") != 0) return -1;
        if (nlen == 0 || nlen >= sizeof b->name) {
            clt_error("%s: corrupt checkpoint (blob %d name length %u)", path, i, nlen);
            return -1;
        }
        if (take(r, b->name, nlen, "blob name") != 0 || take(r, &ndims, 4, "blob rank") != 0) return -1;
        if (ndims < 1 || ndims > 4) {
            clt_error("%s: corrupt checkpoint (blob %s has %u dimensions)", path, b->name, ndims);
            return -1;
        }
        b->ndims = (int)ndims;
        /* the product is bounded by the bytes left at every step, so it cannot wrap around */
        uint64_t product = 1;
        for (uint32_t j = 0; j < ndims; j++) {
            uint32_t dim;
            if (take(r, &dim, 4, "blob shape") != 0) return -1;
            if (dim == 0 || dim > (1u << 30) || product * dim > r->left / sizeof(float)) {
                clt_error("%s: truncated or corrupt checkpoint (blob %s dimension %u: more values than the file holds)", path,
                          b->name, dim);
                return -1;
            }
            b->dims[j] = (int)dim;
            product *= dim;
        }
        if (take(r, &count, 8, "blob size") != 0) return -1;
        if (count != product) {
            clt_error("%s: corrupt checkpoint (blob %s claims %" PRIu64 " floats)", path, b->name, count);
            return -1;
        }
        for (int k = 0; k < i; k++)
            if (!strcmp(ck->blobs[k].name, b->name)) {
                clt_error("%s: corrupt checkpoint (blob %s appears twice)", path, b->name);
                return -1;
            }
        b->count = count;
        b->data = clt_malloc(count * sizeof(float));
        ck->nblobs = i + 1;
        if (take(r, b->data, count * sizeof(float), "blob data") != 0) return -1;
    }
    return 0;
}

/* The file's last 12 bytes: the CRC of everything before them, then the end marker. Bytes between
   the last blob and them are refused, saying whether a whole checkpoint ends before them (something
   was appended) or not. */
static int read_footer(reader *r) {
    const char *path = r->path;
    unsigned char foot[12];
    uLong crc = r->crc;
    uint64_t extra = r->left - 12;
    if (extra) {
        bool appended = fread(foot, 1, 12, r->f) == 12 && !memcmp(foot + 4, END_MAGIC, 8) &&
                        !memcmp(foot, &(uint32_t){(uint32_t)crc}, 4);
        clt_error("%s: corrupt checkpoint (%" PRIu64 " bytes %s)", path, appended ? extra : extra + 12,
                  appended ? "after its end marker: something was appended" : "after the last blob where the footer belongs");
        return -1;
    }
    if (fread(foot, 1, 12, r->f) != 12) {
        clt_error("%s: cannot read the footer: %s", path, strerror(errno));
        return -1;
    }
    if (memcmp(foot + 4, END_MAGIC, 8) != 0) {
        clt_error("%s: corrupt checkpoint (no end marker after the last blob)", path);
        return -1;
    }
    uint32_t want;
    memcpy(&want, foot, 4);
    if ((uint32_t)crc != want) {
        clt_error("%s: corrupt checkpoint (checksum mismatch)", path);
        return -1;
    }
    return 0;
}

int clt_checkpoint_load(clt_checkpoint *ck, const char *path) {
    memset(ck, 0, sizeof *ck);
    FILE *f = fopen(path, "rbe");
    if (!f) {
        clt_error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || S_ISDIR(st.st_mode)) {
        clt_error("%s is a folder, not a checkpoint", path);
        fclose(f);
        return -1;
    }
    /* the last 12 bytes are the footer: no blob may run into them */
    uint64_t size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 8;
    reader r = {f, path, size >= 8 + 12 ? size - 12 : 8, crc32(0, NULL, 0), 0};
    int rc = -1;
    char *header = NULL;
    char magic[8];
    uint32_t version, hlen;
    if (r.left < sizeof MAGIC || fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, sizeof MAGIC) != 0) {
        clt_error("%s: not a cltransfer checkpoint (bad magic)", path);
        goto done;
    }
    if (!S_ISREG(st.st_mode) || size < 8 + 12) {
        clt_error(S_ISREG(st.st_mode) ? "%s: truncated checkpoint (the file was cut short)"
                                      : "%s is not a regular file, so not a checkpoint", path);
        goto done;
    }
    r.crc = crc32(r.crc, (const Bytef *)magic, 8);
    r.left -= 8;
    if (take(&r, &version, 4, "version") != 0) goto done;
    if (version != CLT_CKPT_VERSION) {
        clt_error("%s: checkpoint version %u, but this cltransfer reads version %d", path, version, CLT_CKPT_VERSION);
        goto done;
    }
    if (take(&r, &hlen, 4, "header length") != 0) goto done;
    if (hlen > MAX_HEADER || hlen > r.left) {
        clt_error("%s: %s checkpoint (header length %u)", path, hlen > r.left ? "truncated" : "corrupt", hlen);
        goto done;
    }
    header = clt_malloc(hlen + 1);
    if (take(&r, header, hlen, "header") != 0) goto done;
    header[hlen] = 0;
    if (strlen(header) != hlen) {
        clt_error("%s: corrupt checkpoint (a NUL byte in its header)", path);
        goto done;
    }
    int nblobs;
    if (parse_header(ck, header, path, &nblobs) != 0) goto done;
    if (read_blobs(ck, &r, nblobs) != 0) goto done;
    r.left += 12;
    if (read_footer(&r) != 0) goto done;
    if (check_blobs_match_header(ck, path) != 0 || check_finite(ck, path) != 0) goto done;
    rc = 0;
done:
    free(header);
    fclose(f);
    if (rc != 0) clt_checkpoint_free(ck);
    return rc;
}

void clt_checkpoint_free(clt_checkpoint *ck) {
    for (int i = 0; i < ck->nblobs; i++) free(ck->blobs[i].data);
    free(ck->blobs);
    memset(ck, 0, sizeof *ck);
}

const clt_ckpt_blob *clt_checkpoint_find(const clt_checkpoint *ck, const char *name) {
    for (int i = 0; i < ck->nblobs; i++)
        if (!strcmp(ck->blobs[i].name, name)) return &ck->blobs[i];
    return NULL;
}

int clt_checkpoint_apply(const clt_checkpoint *ck, const char *path, clt_net *net, clt_device *d, int first,
                         int last, bool with_momentum) {
    for (int i = 0; i < clt_net_blob_count(); i++) {
        char name[64];
        size_t off, count;
        int layer;
        clt_net_blob(net, i, name, sizeof name, &off, &count, &layer);
        if (layer < first || layer > last) continue;
        for (int pass = 0; pass < (with_momentum ? 2 : 1); pass++) {
            char full[80];
            snprintf(full, sizeof full, "%s%s", name, pass ? ".momentum" : "");
            const clt_ckpt_blob *b = clt_checkpoint_find(ck, full);
            if (!b) {
                clt_error("%s: checkpoint has no blob %s", path, full);
                return -1;
            }
            const int *want = net->layer[layer].dims;
            bool same = b->count == count &&
                        (i % 2 ? b->ndims == 1 : b->ndims == 4 && !memcmp(b->dims, want, 4 * sizeof(int)));
            if (!same) {
                if (i % 2)
                    clt_error("%s: blob %s has %zu values but this net's %s has %zu", path, full, b->count, name,
                              count);
                else
                    clt_error("%s: blob %s is %dx%dx%dx%d but this net's %s is %dx%dx%dx%d", path, full, b->dims[0],
                              b->dims[1], b->dims[2], b->dims[3], name, want[0], want[1], want[2], want[3]);
                return -1;
            }
            clt_upload(d, pass ? net->history : net->params, off * sizeof(float), b->data, count * sizeof(float));
        }
        if (!with_momentum) clt_zero(d, net->history, off * sizeof(float), count * sizeof(float));
    }
    return clt_device_report(d);
}
