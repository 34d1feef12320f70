/* pack.c — reading, validating and writing packs and mean-image files (layout in data-tools/FORMAT.md). */
#include "data/pack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "util/util.h"

#define MEAN_MAGIC "CLTMEAN"
#define MEAN_VERSION 2          /* 2 adds the id of the pack the mean belongs to; 1 is still read */
#define MEAN_HEADER_SIZE 48
#define MEAN_V1_HEADER_SIZE 40

/* ---- little-endian fields, so a pack reads the same on any host ---- */

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32; }

/* crc32 over buffers larger than zlib's uInt. */
static uint32_t crc_bytes(uint32_t crc, const uint8_t *p, size_t n) {
    while (n) {
        uInt chunk = (uInt)CLT_MIN(n, (size_t)1 << 30);
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk, n -= chunk;
    }
    return crc;
}

static int pread_all(int fd, void *buf, size_t n, uint64_t off) {
    uint8_t *p = buf;
    while (n) {
        ssize_t got = pread(fd, p, n, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (got == 0) errno = 0;
            return -1;
        }
        p += got, n -= (size_t)got, off += (uint64_t)got;
    }
    return 0;
}

const char *clt_pack_encoding_name(int e) { return e == CLT_PACK_RAW ? "raw" : e == CLT_PACK_JPEG ? "jpeg" : "?"; }

void clt_pack_close(clt_pack *p) {
    if (p->fd >= 0) close(p->fd);
    free(p->path);
    free(p->index);
    memset(p, 0, sizeof *p);
    p->fd = -1;
}

int clt_pack_open(clt_pack *p, const char *path) {
    memset(p, 0, sizeof *p);
    p->path = clt_strdup(path);
    p->fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t h[CLT_PACK_HEADER_SIZE];
    struct stat st;
    if (p->fd < 0 || fstat(p->fd, &st) != 0) {
        clt_error("cannot open pack %s: %s", path, strerror(errno));
        goto fail;
    }
    p->file_size = (uint64_t)st.st_size;
    size_t head = (size_t)CLT_MIN(p->file_size, (uint64_t)sizeof h);
    if (pread_all(p->fd, h, head, 0) != 0) {
        clt_error("cannot read pack %s: %s", path, errno ? strerror(errno) : "unexpected end of file");
        goto fail;
    }
    if (head < 8 || memcmp(h, CLT_PACK_MAGIC, 8) != 0) {
        clt_error("%s is not a cltransfer pack (no CLTPACK magic at its start)", path);
        goto fail;
    }
    if (head < sizeof h) {
        clt_error("pack %s is truncated: %zu bytes, shorter than its %d-byte header", path, head, CLT_PACK_HEADER_SIZE);
        goto fail;
    }
    uint32_t version = get32(h + 8);
    if (version != CLT_PACK_VERSION) {
        clt_error("pack %s has format version %u; this build reads version %d (re-pack it with this cltransfer-data)",
                  path, version, CLT_PACK_VERSION);
        goto fail;
    }
    if (get32(h + 124) != crc_bytes(0, h, 124)) {
        clt_error("pack %s is damaged: header checksum mismatch", path);
        goto fail;
    }
    p->id = get32(h + 124);
    p->encoding = (int)get32(h + 16);
    uint32_t c = get32(h + 20), hh = get32(h + 24), ww = get32(h + 28), classes = get32(h + 32);
    uint32_t header_size = get32(h + 12), entry_size = get32(h + 36);
    p->count = get64(h + 40);
    p->data_offset = get64(h + 48);
    p->data_size = get64(h + 56);
    uint64_t index_offset = get64(h + 64);
    uint32_t index_crc = get32(h + 72);
    p->data_crc = get32(h + 76);
    const char *bad = NULL;
    if (header_size != CLT_PACK_HEADER_SIZE || entry_size != CLT_PACK_ENTRY_SIZE)
        bad = "header or index entry size is not this version's";
    else if (p->encoding != CLT_PACK_RAW && p->encoding != CLT_PACK_JPEG)
        bad = "unknown image encoding";
    else if ((c != 1 && c != 3) || hh < 1 || ww < 1 || hh > CLT_PACK_MAX_SIDE || ww > CLT_PACK_MAX_SIDE)
        bad = "image shape out of bounds";
    else if (classes < 1 || classes > CLT_PACK_MAX_CLASSES)
        bad = "class count out of bounds";
    else if (p->count < 1)
        bad = "it holds no images";
    else if (p->data_offset != CLT_PACK_HEADER_SIZE || index_offset < p->data_offset ||
             index_offset - p->data_offset != p->data_size)
        bad = "data region does not follow the header";
    else if (p->count > (UINT64_MAX - index_offset) / CLT_PACK_ENTRY_SIZE)
        bad = "image count out of bounds";
    if (bad) {
        clt_error("pack %s is damaged: %s", path, bad);
        goto fail;
    }
    p->c = (int)c, p->h = (int)hh, p->w = (int)ww, p->classes = (int)classes;
    uint64_t want = index_offset + p->count * CLT_PACK_ENTRY_SIZE;
    if (p->file_size != want) {
        clt_error("pack %s is %s: %llu bytes, its header says %llu (%llu images)", path,
                  p->file_size < want ? "truncated" : "damaged (bytes after its index)",
                  (unsigned long long)p->file_size, (unsigned long long)want, (unsigned long long)p->count);
        goto fail;
    }
    /* the file size bounds the index, so this allocation is what the file really holds */
    size_t index_bytes = (size_t)(p->count * CLT_PACK_ENTRY_SIZE);
    uint8_t *raw = clt_malloc(index_bytes);
    if (pread_all(p->fd, raw, index_bytes, index_offset) != 0) {
        clt_error("cannot read the index of pack %s: %s", path, errno ? strerror(errno) : "unexpected end of file");
        free(raw);
        goto fail;
    }
    if (crc_bytes(0, raw, index_bytes) != index_crc) {
        clt_error("pack %s is damaged: index checksum mismatch", path);
        free(raw);
        goto fail;
    }
    p->index = clt_malloc((size_t)p->count * sizeof *p->index);
    uint64_t raw_size = (uint64_t)c * hh * ww;
    for (uint64_t i = 0; i < p->count; i++) {
        const uint8_t *e = raw + i * CLT_PACK_ENTRY_SIZE;
        clt_pack_entry *x = &p->index[i];
        x->offset = get64(e);
        x->size = get32(e + 8);
        x->crc = get32(e + 12);
        x->label = (int32_t)get32(e + 16);
        x->orig_label = (int32_t)get32(e + 20);
        if (x->size == 0 || x->size > CLT_PACK_MAX_RECORD || x->offset > p->data_size ||
            x->size > p->data_size - x->offset || (p->encoding == CLT_PACK_RAW && x->size != raw_size)) {
            clt_error("pack %s is damaged: record %llu lies outside the data or has a bad size", path,
                      (unsigned long long)i);
            free(raw);
            goto fail;
        }
        if (x->label < 0 || x->label >= p->classes) {
            clt_error("pack %s is damaged: record %llu has label %d, outside 0..%d", path, (unsigned long long)i,
                      x->label, p->classes - 1);
            free(raw);
            goto fail;
        }
        if (x->size > p->max_record) p->max_record = x->size;
    }
    free(raw);
    return 0;
fail:
    clt_pack_close(p);
    return -1;
}

int clt_pack_read(const clt_pack *p, uint64_t i, uint8_t *buf, char *err, size_t errlen) {
    if (i >= p->count) {
        snprintf(err, errlen, "record %llu is past the end (%llu images)", (unsigned long long)i,
                 (unsigned long long)p->count);
        return -1;
    }
    const clt_pack_entry *e = &p->index[i];
    if (pread_all(p->fd, buf, e->size, p->data_offset + e->offset) != 0) {
        snprintf(err, errlen, "cannot read record %llu: %s", (unsigned long long)i,
                 errno ? strerror(errno) : "unexpected end of file");
        return -1;
    }
    if (crc_bytes(0, buf, e->size) != e->crc) {
        snprintf(err, errlen, "record %llu is damaged (checksum mismatch)", (unsigned long long)i);
        return -1;
    }
    return 0;
}

/* ---- writer ---- */

struct clt_pack_writer {
    clt_atomic_file af;
    int encoding, c, h, w, classes;
    uint64_t count, cap, data_size;
    uint32_t data_crc;
    clt_pack_entry *index;
};

int clt_pack_writer_open(clt_pack_writer **out, const char *path, int encoding, int c, int h, int w, int classes) {
    *out = NULL;
    if ((c != 1 && c != 3) || h < 1 || w < 1 || h > CLT_PACK_MAX_SIDE || w > CLT_PACK_MAX_SIDE || classes < 1 ||
        classes > CLT_PACK_MAX_CLASSES || (encoding != CLT_PACK_RAW && encoding != CLT_PACK_JPEG)) {
        clt_error("cannot write pack %s: shape %d×%d×%d, %d classes or encoding out of bounds", path, c, h, w, classes);
        return -1;
    }
    clt_pack_writer *pw = clt_calloc(1, sizeof *pw);
    if (clt_atomic_open(&pw->af, path) != 0) {
        free(pw);
        return -1;
    }
    pw->encoding = encoding, pw->c = c, pw->h = h, pw->w = w, pw->classes = classes;
    uint8_t zero[CLT_PACK_HEADER_SIZE] = {0}; /* the header is filled in at commit, when sizes are known */
    clt_atomic_write(&pw->af, zero, sizeof zero);
    *out = pw;
    return 0;
}

int clt_pack_writer_add(clt_pack_writer *pw, const void *data, size_t size, int label, int orig_label) {
    if (size == 0 || size > CLT_PACK_MAX_RECORD || label < 0 || label >= pw->classes ||
        (pw->encoding == CLT_PACK_RAW && size != (size_t)pw->c * pw->h * pw->w)) {
        clt_error("%s: record %llu of %zu bytes with label %d does not fit the pack", pw->af.path,
                  (unsigned long long)pw->count, size, label);
        return -1;
    }
    if (clt_atomic_write(&pw->af, data, size) != 0) return -1;
    if (pw->count == pw->cap) {
        pw->cap = pw->cap ? 2 * pw->cap : 1024;
        pw->index = clt_realloc(pw->index, (size_t)pw->cap * sizeof *pw->index);
    }
    uint32_t crc = crc_bytes(0, data, size);
    pw->index[pw->count++] = (clt_pack_entry){pw->data_size, (uint32_t)size, crc, label, orig_label};
    pw->data_crc = (uint32_t)crc32_combine(pw->data_crc, crc, (z_off_t)size);
    pw->data_size += size;
    return 0;
}

uint64_t clt_pack_writer_count(const clt_pack_writer *pw) { return pw->count; }
uint64_t clt_pack_writer_bytes(const clt_pack_writer *pw) {
    return CLT_PACK_HEADER_SIZE + pw->data_size + pw->count * CLT_PACK_ENTRY_SIZE;
}

void clt_pack_writer_abort(clt_pack_writer *pw) {
    if (!pw) return;
    clt_atomic_abort(&pw->af);
    free(pw->index);
    free(pw);
}

int clt_pack_writer_commit(clt_pack_writer *pw) {
    if (!pw->count) {
        clt_error("%s: no images to write; the pack is not created", pw->af.path);
        clt_pack_writer_abort(pw);
        return -1;
    }
    uint32_t index_crc = 0;
    uint8_t chunk[CLT_PACK_ENTRY_SIZE * 1024];
    for (uint64_t i = 0; i < pw->count; i += 1024) {
        size_t n = (size_t)CLT_MIN(pw->count - i, (uint64_t)1024);
        for (size_t k = 0; k < n; k++) {
            const clt_pack_entry *x = &pw->index[i + k];
            uint8_t *e = chunk + k * CLT_PACK_ENTRY_SIZE;
            put64(e, x->offset);
            put32(e + 8, x->size);
            put32(e + 12, x->crc);
            put32(e + 16, (uint32_t)x->label);
            put32(e + 20, (uint32_t)x->orig_label);
        }
        index_crc = crc_bytes(index_crc, chunk, n * CLT_PACK_ENTRY_SIZE);
        clt_atomic_write(&pw->af, chunk, n * CLT_PACK_ENTRY_SIZE);
    }
    uint8_t h[CLT_PACK_HEADER_SIZE] = {0};
    memcpy(h, CLT_PACK_MAGIC, 8);
    put32(h + 8, CLT_PACK_VERSION);
    put32(h + 12, CLT_PACK_HEADER_SIZE);
    put32(h + 16, (uint32_t)pw->encoding);
    put32(h + 20, (uint32_t)pw->c);
    put32(h + 24, (uint32_t)pw->h);
    put32(h + 28, (uint32_t)pw->w);
    put32(h + 32, (uint32_t)pw->classes);
    put32(h + 36, CLT_PACK_ENTRY_SIZE);
    put64(h + 40, pw->count);
    put64(h + 48, CLT_PACK_HEADER_SIZE);
    put64(h + 56, pw->data_size);
    put64(h + 64, CLT_PACK_HEADER_SIZE + pw->data_size);
    put32(h + 72, index_crc);
    put32(h + 76, pw->data_crc);
    put32(h + 124, crc_bytes(0, h, 124));
    if (!pw->af.failed && fseeko(pw->af.f, 0, SEEK_SET) != 0) {
        clt_error("cannot seek in %s: %s", pw->af.tmp_path, strerror(errno));
        pw->af.failed = 1;
    }
    clt_atomic_write(&pw->af, h, sizeof h);
    int rc = clt_atomic_commit(&pw->af);
    free(pw->index);
    free(pw);
    return rc;
}

/* ---- files beside a pack ---- */

char *clt_pack_side_path(const char *pack_path, const char *suffix) {
    size_t n = strlen(pack_path);
    if (n > 5 && !strcmp(pack_path + n - 5, ".pack")) n -= 5;
    char *s = clt_malloc(n + strlen(suffix) + 1);
    memcpy(s, pack_path, n);
    strcpy(s + n, suffix);
    return s;
}

int clt_pack_read_id(const char *pack_path, uint32_t *id) {
    uint8_t h[CLT_PACK_HEADER_SIZE];
    int fd = open(pack_path, O_RDONLY | O_CLOEXEC);
    int ok = fd >= 0 && pread_all(fd, h, sizeof h, 0) == 0 && !memcmp(h, CLT_PACK_MAGIC, 8) &&
             get32(h + 124) == crc_bytes(0, h, 124);
    if (fd >= 0) close(fd);
    if (!ok) {
        clt_error("%s: not a whole cltransfer pack, so its companions cannot be checked against it", pack_path);
        return -1;
    }
    *id = get32(h + 124);
    return 0;
}

/* The line a text companion names its pack with. */
#define PACK_ID_LINE "# pack id %08x\n"

/* A companion (file) written for the pack `had`, beside the pack `want`: refused, saying how it came
   to be and what mends it. */
static int companion_mismatch(const char *file, uint32_t had, const char *pack_path, uint32_t want) {
    clt_error("%s belongs to another pack (id %08x) than %s (id %08x): the pack was rewritten without its "
              "companions (a packing command killed between its files?); rerun the command that made the pack",
              file, had, pack_path, want);
    return -1;
}

/* Checks the "# pack id" line of a text companion against the pack; a file without one (written
   before ids) passes. */
static int check_text_companion(const char *file, const char *text, const char *pack_path) {
    const char *line = strstr(text, "# pack id ");
    unsigned had;
    uint32_t want;
    if (!line || sscanf(line, "# pack id %8x", &had) != 1) return 0;
    if (clt_pack_read_id(pack_path, &want) != 0) return -1;
    return had == want ? 0 : companion_mismatch(file, had, pack_path, want);
}

int clt_pack_write_classes(const char *pack_path, int k, const int *orig, const char *const *names) {
    char *path = clt_pack_side_path(pack_path, ".classes.txt");
    size_t cap = 256, len = 0;
    char *text = clt_malloc(cap);
    uint32_t id;
    if (clt_pack_read_id(pack_path, &id) != 0) {
        free(text);
        free(path);
        return -1;
    }
    len += (size_t)snprintf(text, cap, "# class map of %s: label<TAB>original label<TAB>name\n" PACK_ID_LINE, pack_path, id);
    if (len >= cap) len = cap - 1;
    for (int i = 0; i < k; i++) {
        const char *name = names && names[i] ? names[i] : "-";
        size_t need = strlen(name) + 32;
        if (len + need >= cap) text = clt_realloc(text, cap = 2 * cap + need);
        len += (size_t)snprintf(text + len, cap - len, "%d\t%d\t%s\n", i, orig[i], name);
    }
    int rc = clt_write_file_atomic(path, text, len);
    free(text);
    free(path);
    return rc;
}

int clt_pack_read_classes(const char *pack_path, int k, int *orig, char **names, int quiet) {
    char *path = clt_pack_side_path(pack_path, ".classes.txt");
    if (quiet && !clt_file_exists(path)) {
        free(path);
        return -1;
    }
    char *text = clt_read_file(path, NULL);
    if (!text || check_text_companion(path, text, pack_path) != 0) {
        free(text);
        free(path);
        return -1;
    }
    for (int i = 0; i < k; i++) names[i] = NULL, orig[i] = -1;
    int rc = 0, line_no = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        if (line[0] == '#' || !line[0]) continue;
        int label, o, used = 0;
        if (sscanf(line, "%d\t%d\t%n", &label, &o, &used) < 2 || !used || label < 0 || label >= k || names[label]) {
            clt_error("%s:%d: want 'label<TAB>original<TAB>name' with a label in 0..%d given once", path, line_no, k - 1);
            rc = -1;
            break;
        }
        orig[label] = o;
        names[label] = clt_strdup(line + used);
    }
    for (int i = 0; i < k; i++)
        if (!names[i]) names[i] = clt_strdup("-");
    free(text);
    free(path);
    return rc;
}

/* ---- mean image ---- */

static int mean_write(const char *path, uint32_t pack_id, int c, int h, int w, uint64_t count, const float *mean) {
    size_t n = (size_t)c * h * w, bytes = MEAN_HEADER_SIZE + 4 * n;
    uint8_t *buf = clt_malloc(bytes);
    memset(buf, 0, MEAN_HEADER_SIZE);
    memcpy(buf, MEAN_MAGIC, 8);
    put32(buf + 8, MEAN_VERSION);
    put32(buf + 12, (uint32_t)c);
    put32(buf + 16, (uint32_t)h);
    put32(buf + 20, (uint32_t)w);
    put64(buf + 24, count);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &mean[i], 4);
        put32(buf + MEAN_HEADER_SIZE + 4 * i, bits);
    }
    put32(buf + 32, crc_bytes(0, buf + MEAN_HEADER_SIZE, 4 * n));
    put32(buf + 36, pack_id);
    put32(buf + 44, crc_bytes(0, buf, 44));
    int rc = clt_write_file_atomic(path, buf, bytes);
    free(buf);
    return rc;
}

int clt_mean_write(const char *path, int c, int h, int w, uint64_t count, const float *mean) {
    return mean_write(path, 0, c, h, w, count, mean);
}

/* Reads a mean image of version 1 or 2; *pack_id is 0 when it names no pack. */
static int mean_read(const char *path, int *c, int *h, int *w, uint64_t *count, float **mean, uint32_t *pack_id) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint8_t hd[MEAN_HEADER_SIZE];
    *mean = NULL;
    *pack_id = 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        clt_error("cannot open mean image %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    const char *bad = NULL;
    uint64_t size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    uint32_t cc = 0, hh = 0, ww = 0, version = 0;
    size_t header = MEAN_HEADER_SIZE;
    if (S_ISDIR(st.st_mode))
        bad = "a folder, not a mean image";
    else if (size < 8 || pread_all(fd, hd, (size_t)CLT_MIN(size, (uint64_t)sizeof hd), 0) != 0 || memcmp(hd, MEAN_MAGIC, 8))
        bad = "not a cltransfer mean image (no CLTMEAN magic)";
    else if (size < 12 || ((version = get32(hd + 8)) != 1 && version != MEAN_VERSION))
        bad = size < 12 ? "truncated header" : "format version is not 1 or 2";
    else if (size < (header = version == 1 ? MEAN_V1_HEADER_SIZE : MEAN_HEADER_SIZE))
        bad = "truncated header";
    else if (get32(hd + header - 4) != crc_bytes(0, hd, header - 4))
        bad = "damaged: header checksum mismatch";
    else {
        cc = get32(hd + 12), hh = get32(hd + 16), ww = get32(hd + 20);
        if ((cc != 1 && cc != 3) || hh < 1 || ww < 1 || hh > CLT_PACK_MAX_SIDE || ww > CLT_PACK_MAX_SIDE)
            bad = "shape out of bounds";
        else if (size != header + 4ull * cc * hh * ww)
            bad = size < header + 4ull * cc * hh * ww ? "truncated" : "damaged: bytes after its data";
    }
    if (bad) {
        clt_error("mean image %s: %s", path, bad);
        close(fd);
        return -1;
    }
    size_t n = (size_t)cc * hh * ww;
    uint8_t *raw = clt_malloc(4 * n);
    if (pread_all(fd, raw, 4 * n, header) != 0 || crc_bytes(0, raw, 4 * n) != get32(hd + 32)) {
        clt_error("mean image %s: damaged: data checksum mismatch", path);
        free(raw);
        close(fd);
        return -1;
    }
    close(fd);
    float *m = clt_malloc(n * sizeof *m);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = get32(raw + 4 * i);
        memcpy(&m[i], &bits, 4);
    }
    free(raw);
    *c = (int)cc, *h = (int)hh, *w = (int)ww;
    if (count) *count = get64(hd + 24);
    if (version == MEAN_VERSION) *pack_id = get32(hd + 36);
    *mean = m;
    return 0;
}

double clt_mean_channel_average(const float *mean, int ch, int h, int w) {
    size_t plane = (size_t)h * w;
    double sum = 0;
    for (size_t i = 0; i < plane; i++) sum += mean[ch * plane + i];
    return sum / (double)plane;
}

int clt_mean_read(const char *path, int *c, int *h, int *w, uint64_t *count, float **mean) {
    uint32_t pack_id;
    return mean_read(path, c, h, w, count, mean, &pack_id);
}

int clt_pack_write_mean(const char *pack_path, const char *path, int c, int h, int w, uint64_t count, const float *mean) {
    uint32_t id;
    char *side = path ? NULL : clt_pack_side_path(pack_path, ".mean");
    int rc = clt_pack_read_id(pack_path, &id) == 0 ? mean_write(path ? path : side, id, c, h, w, count, mean) : -1;
    free(side);
    return rc;
}

int clt_pack_read_mean(const char *pack_path, int *c, int *h, int *w, uint64_t *count, float **mean) {
    char *path = clt_pack_side_path(pack_path, ".mean");
    uint32_t had, want;
    int rc = mean_read(path, c, h, w, count, mean, &had);
    if (rc == 0 && had && (clt_pack_read_id(pack_path, &want) != 0 || (had != want && companion_mismatch(path, had, pack_path, want))))
        rc = -1;
    if (rc != 0) {
        free(*mean);
        *mean = NULL;
    }
    free(path);
    return rc;
}

int clt_pack_check_companions(const char *pack_path) {
    int rc = 0;
    char *mean_path = clt_pack_side_path(pack_path, ".mean");
    if (clt_file_exists(mean_path)) {
        int c, h, w;
        float *m;
        if (clt_pack_read_mean(pack_path, &c, &h, &w, NULL, &m) != 0) rc = -1;
        free(m);
    }
    free(mean_path);
    static const char *TEXT[] = {".classes.txt", ".report.txt"};
    for (int i = 0; i < 2; i++) {
        char *path = clt_pack_side_path(pack_path, TEXT[i]);
        char *text = clt_file_exists(path) ? clt_read_file(path, NULL) : NULL;
        if (clt_file_exists(path) && (!text || check_text_companion(path, text, pack_path) != 0)) rc = -1;
        free(text);
        free(path);
    }
    return rc;
}

void clt_mean_acc_init(clt_mean_acc *a, int c, int h, int w) {
    a->c = c, a->h = h, a->w = w, a->count = 0;
    a->sum = clt_calloc((size_t)c * h * w, sizeof *a->sum);
}

void clt_mean_acc_add(clt_mean_acc *a, const uint8_t *hwc) {
    size_t plane = (size_t)a->h * a->w;
    for (int ch = 0; ch < a->c; ch++) {
        uint64_t *s = a->sum + ch * plane;
        const uint8_t *p = hwc + ch;
        for (size_t i = 0; i < plane; i++) s[i] += p[i * (size_t)a->c];
    }
    a->count++;
}

void clt_mean_acc_merge(clt_mean_acc *into, const clt_mean_acc *from) {
    size_t n = (size_t)into->c * into->h * into->w;
    for (size_t i = 0; i < n; i++) into->sum[i] += from->sum[i];
    into->count += from->count;
}

void clt_mean_acc_result(const clt_mean_acc *a, float *mean) {
    size_t n = (size_t)a->c * a->h * a->w;
    for (size_t i = 0; i < n; i++) mean[i] = a->count ? (float)((double)a->sum[i] / (double)a->count) : 0.0f;
}

void clt_mean_acc_free(clt_mean_acc *a) {
    free(a->sum);
    a->sum = NULL;
}
