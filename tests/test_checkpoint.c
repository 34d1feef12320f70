/* test_checkpoint.c — checkpoint round trip (bit-exact parameters, momentum, mean image and header)
   and every kind of damage refused with its own message: truncation, a flipped byte, wrong magic,
   wrong version, a blob whose shape does not fit the net, a missing blob, bytes appended, a header
   over another net's blobs, a NaN weight, /dev/zero and a folder. */
#include <math.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <zlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/checkpoint.h"
#include "testutil.h"

static char dir[] = "/tmp/clt_test_ckpt_XXXXXX";

static char *path_of(const char *name) { return clt_path_join(dir, name); }

static unsigned char *slurp(const char *path, size_t *len) { return (unsigned char *)clt_read_file(path, len); }

static void spit(const char *path, const unsigned char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, len, f);
    fclose(f);
}

/* Runs the loader on `path` with stderr captured; checks it refuses with a message holding `want`. */
static void expect_refused(const char *what, const char *path, const char *want) {
    fflush(stderr);
    char *log = path_of("stderr.txt");
    FILE *saved = fdopen(dup(fileno(stderr)), "w");
    freopen(log, "w", stderr);
    clt_checkpoint ck;
    int rc = clt_checkpoint_load(&ck, path);
    fflush(stderr);
    dup2(fileno(saved), fileno(stderr));
    fclose(saved);
    size_t len;
    char *msg = clt_read_file(log, &len);
    t_check(rc != 0 && msg && strstr(msg, want) && strstr(msg, path),
            "checkpoint %s is refused naming the file and '%s' (got: %s)", what, want, msg ? msg : "");
    if (rc == 0) clt_checkpoint_free(&ck);
    free(msg);
    free(log);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    clt_device *d = t_device();
    struct rlimit lim = {(rlim_t)8 << 30, (rlim_t)8 << 30}; /* the OpenCL stack maps more than 1 GiB */
    if (!T_ASAN) setrlimit(RLIMIT_AS, &lim);
    clt_arch a;
    clt_arch_small(&a);
    a.fc[2] = 5;
    clt_net net;
    if (clt_net_create(&net, d, &a, 2) != 0) return 1;
    clt_net_init_layers(&net, d, 3, 1, CLT_LAYERS);
    float *hist = malloc(net.param_count * sizeof(float));
    t_fill(hist, net.param_count, 4, -1, 1);
    clt_upload(d, net.history, 0, hist, net.param_count * sizeof(float));
    float mean[28 * 28];
    t_fill(mean, 28 * 28, 5, 0, 255);
    char *good = path_of("good.ckpt");
    clt_ckpt_blob mean_blob = {"mean", 3, {1, 28, 28}, 28 * 28, mean};
    t_check(clt_checkpoint_save(good, &net, d, 1234, 77, 2, &mean_blob, 1) == 0, "checkpoint save");

    float *params = t_download(net.params, net.param_count);
    clt_checkpoint ck;
    int rc = clt_checkpoint_load(&ck, good);
    t_check(rc == 0, "checkpoint load of a fresh file");
    if (rc == 0) {
        t_check(ck.iter == 1234 && ck.seed == 77 && ck.batch == 2 && ck.images_seen == 2468,
                "checkpoint header: iter %lld seed %lld batch %d images_seen %lld", (long long)ck.iter,
                (long long)ck.seed, ck.batch, (long long)ck.images_seen);
        t_check(!strcmp(ck.arch.name, "small") && ck.arch.fc[2] == 5 && ck.arch.conv[1].group == 2 &&
                    ck.arch.init == CLT_INIT_HE,
                "checkpoint header carries the net definition");
        t_check(ck.nblobs == 33, "checkpoint holds 16 blobs, their momentum and the mean (%d blobs)", ck.nblobs);
        const clt_ckpt_blob *w2 = clt_checkpoint_find(&ck, "conv2.weight");
        t_check(w2 && w2->ndims == 4 && w2->dims[0] == 64 && w2->dims[1] == 16 && w2->dims[2] == 5,
                "blob conv2.weight is named and shaped 64x16x5x5");
        const clt_ckpt_blob *m = clt_checkpoint_find(&ck, "mean");
        if (m) t_same_bits("checkpoint mean image round trip", m->data, mean, 28 * 28);

        /* into a fresh net: every parameter and momentum value comes back bit for bit */
        clt_net other;
        clt_net_create(&other, d, &a, 2);
        t_check(clt_checkpoint_apply(&ck, good, &other, d, 1, CLT_LAYERS, true) == 0, "checkpoint apply to a same-shaped net");
        float *p2 = t_download(other.params, other.param_count), *h2 = t_download(other.history, other.param_count);
        t_same_bits("checkpoint round trip: parameters", p2, params, net.param_count);
        t_same_bits("checkpoint round trip: momentum", h2, hist, net.param_count);
        free(p2), free(h2);
        clt_net_destroy(&other);

        /* a net of other widths: refused, naming the blob and both shapes */
        clt_arch b = a;
        b.conv[0].out = 16;
        clt_net wrong;
        clt_net_create(&wrong, d, &b, 2);
        fflush(stderr);
        t_check(clt_checkpoint_apply(&ck, good, &wrong, d, 1, CLT_LAYERS, false) != 0,
                "checkpoint apply to a net with another conv1 width is refused");
        /* but copying only layers above the changed ones would be fine; layer 1 differs here */
        clt_net_destroy(&wrong);
        clt_checkpoint_free(&ck);
    }

    size_t len;
    unsigned char *bytes = slurp(good, &len);
    char *bad = path_of("bad.ckpt");
    spit(bad, bytes, len / 2);
    expect_refused("cut in half", bad, "truncated");
    spit(bad, bytes, len - 3);
    expect_refused("missing its last 3 bytes", bad, "truncated");
    unsigned char *copy = malloc(len);
    memcpy(copy, bytes, len);
    copy[len / 3] ^= 0x10;
    spit(bad, copy, len);
    expect_refused("with one flipped bit", bad, "checksum");
    memcpy(copy, bytes, len);
    copy[0] = 'X';
    spit(bad, copy, len);
    expect_refused("with a wrong magic", bad, "not a cltransfer checkpoint");
    memcpy(copy, bytes, len);
    copy[8] = 9;
    spit(bad, copy, len);
    expect_refused("of another version", bad, "version 9");
    spit(bad, (const unsigned char *)"", 0);
    expect_refused("that is empty", bad, "not a cltransfer checkpoint");
    /* bytes appended after a whole checkpoint are not a cut-short file */
    memcpy(copy, bytes, len);
    unsigned char *longer = malloc(len + 5);
    memcpy(longer, bytes, len);
    memcpy(longer + len, "extra", 5);
    spit(bad, longer, len + 5);
    expect_refused("with 5 bytes appended", bad, "5 bytes after its end marker");
    free(longer);
    /* a header whose net is not its blobs' net, checksum made right: conv1 says 96 wide over 32 */
    memcpy(copy, bytes, len);
    char *conv1 = memmem(copy, len, "conv1=32,", 9);
    if (conv1) memcpy(conv1, "conv1=96,", 9);
    uint32_t crc = (uint32_t)crc32(0, copy, (uInt)(len - 12));
    memcpy(copy + len - 12, &crc, 4);
    spit(bad, copy, len);
    t_check(conv1 != NULL, "the small net's header says conv1=32");
    expect_refused("whose header's conv1 is not its blobs' conv1", bad, "do not belong together");
    /* /dev/zero: refused at its first 8 bytes under the 8 GiB address-space limit (reading it whole
       would need more) */
    expect_refused("that is /dev/zero", "/dev/zero", "bad magic");
    expect_refused("that is a folder", dir, "is a folder");
    /* a NaN weight is refused, not loaded or skipped */
    float nan = NAN;
    clt_upload(d, net.params, 0, &nan, sizeof nan);
    char *nan_path = path_of("nan.ckpt");
    t_check(clt_checkpoint_save(nan_path, &net, d, 1, 77, 2, &mean_blob, 1) == 0, "save a net with a NaN weight");
    expect_refused("with a NaN weight", nan_path, "blob conv1.weight holds NaN at index 0");
    clt_upload(d, net.params, 0, params, sizeof(float));
    free(nan_path);
    char *missing = path_of("absent.ckpt");
    expect_refused("that does not exist", missing, "cannot open");

    /* an interrupted save leaves the previous file whole: saving over a read-only folder fails */
    char *ro = path_of("ro");
    clt_mkdirs(ro);
    char *ro_file = clt_path_join(ro, "x.ckpt");
    spit(ro_file, bytes, len);
    if (getuid() != 0) { /* root ignores folder permissions */
        chmod(ro, 0500);
        t_check(clt_checkpoint_save(ro_file, &net, d, 1, 1, 2, NULL, 0) != 0, "save into a read-only folder fails");
        size_t len2;
        unsigned char *after = slurp(ro_file, &len2);
        t_check(len2 == len && !memcmp(after, bytes, len), "the previous checkpoint is untouched");
        free(after);
        chmod(ro, 0700);
    }
    free(bytes), free(copy), free(params), free(hist);
    free(good), free(bad), free(missing), free(ro), free(ro_file);
    clt_net_destroy(&net);
    int status = t_done();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) status = 1;
    return status;
}
