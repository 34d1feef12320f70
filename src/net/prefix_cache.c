/* prefix_cache.c — block n's output per training image, computed once and reused (prefix_cache.h). */
#include "net/prefix_cache.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* The budget in bytes: $CLTRANSFER_PREFIX_CACHE (MiB, "off" = 0), else a quarter of the device's
   memory within one allocation and, on CPU devices, of the host memory available now. */
static uint64_t budget_bytes(const clt_device *d) {
    const char *env = getenv("CLTRANSFER_PREFIX_CACHE");
    if (env && *env) {
        if (!strcmp(env, "off")) return 0;
        char *end;
        double mib = strtod(env, &end);
        if (*end == '\0' && mib >= 0) return (uint64_t)(mib * 1048576.0);
        clt_warn("CLTRANSFER_PREFIX_CACHE=%s: expected \"off\" or a size in MiB; using the default budget", env);
    }
    uint64_t budget = CLT_MIN(d->global_mem / 4, (uint64_t)d->max_alloc);
    if (!d->is_gpu) {
        uint64_t host = clt_host_available_bytes();
        if (host) budget = CLT_MIN(budget, host / 4);
    }
    return budget;
}

int clt_prefix_cache_open(clt_prefix_cache *c, clt_net *net, clt_device *d, int frozen_layers, int batch,
                          size_t records, bool same_input, char *note, size_t note_len) {
    memset(c, 0, sizeof *c);
    c->batch = batch;
    note[0] = '\0';
    if (frozen_layers < 1) return 0;
    if (!same_input) {
        snprintf(note, note_len, "prefix cache off: random crops or mirroring change a training image's input "
                                 "between epochs");
        return 0;
    }
    /* block 7 opens with the dropout of fc6's output, a new mask every iteration: with dropout on,
       the deepest output that is the same every epoch is block 6's */
    int n = CLT_MIN(frozen_layers, net->arch.dropout > 0 ? 6 : CLT_LAYERS - 1);
    clt_block_output out = clt_net_block_output(net, n);
    size_t row = (size_t)out.channels * out.plane;
    uint64_t bytes = (uint64_t)records * row * sizeof(float), budget = budget_bytes(d);
    if (records == 0 || records > INT_MAX || bytes > budget) {
        snprintf(note, note_len, "prefix cache off: block %d's output for %zu images is %.1f MiB, over the budget "
                 "of %.1f MiB; every batch recomputes layers 1..%d", n, records, bytes / 1048576.0,
                 budget / 1048576.0, n);
        return 0;
    }
    c->store = clt_alloc(d, bytes, "frozen-prefix cache");
    c->positions = clt_alloc(d, 4 * (size_t)batch * sizeof(cl_int), "frozen-prefix cache positions");
    if (!clt_device_ok(d)) {
        clt_prefix_cache_close(c);
        return -1;
    }
    c->layers = n;
    c->records = records;
    c->row = row;
    c->stored = clt_calloc(records, sizeof *c->stored);
    c->unstored = records;
    for (int s = 0; s < 2; s++) c->host_positions[s] = clt_malloc(2 * (size_t)batch * sizeof(int));
    snprintf(note, note_len, "prefix cache: block %d's output for %zu images (%.1f MiB) computed once, then reused",
             n, records, bytes / 1048576.0);
    return 0;
}

/* Waits until upload slot s's host array may be written again. */
static void wait_slot(clt_prefix_cache *c, int s) {
    if (c->uploaded[s]) {
        clWaitForEvents(1, &c->uploaded[s]);
        clReleaseEvent(c->uploaded[s]);
        c->uploaded[s] = NULL;
    }
}

/* Uploads `count` ints of slot s without blocking: the host goes on to stage the next batch. */
static void upload_slot(clt_prefix_cache *c, clt_device *d, int s, int count) {
    if (!clt_device_ok(d)) return;
    size_t at = (size_t)s * 2 * c->batch * sizeof(cl_int);
    cl_int err = clEnqueueWriteBuffer(d->queue, c->positions, CL_FALSE, at, count * sizeof(cl_int),
                                      c->host_positions[s], 0, NULL, &c->uploaded[s]);
    clt_check_cl(d, err, "clEnqueueWriteBuffer", "frozen-prefix cache positions");
}

/* Rows between the cache and block n's output blob: the `count` images listed at slot s. */
static void move_rows(clt_prefix_cache *c, clt_net *net, clt_device *d, const char *kernel, int s, int count,
                      int positions_at) {
    if (count == 0) return;
    clt_block_output out = clt_net_block_output(net, c->layers);
    int records_at = s * 2 * c->batch;
    size_t global[3] = {clt_round_up(out.plane, d->wg1d), (size_t)out.channels, (size_t)count};
    size_t local[3] = {d->wg1d, 1, 1};
    CLT_LAUNCH(d, kernel, 3, global, local, CLT_INT(out.plane), CLT_INT(c->batch), CLT_INT(out.channels),
               CLT_MEM(c->store), CLT_MEM(out.blob->data), CLT_MEM(c->positions), CLT_INT(records_at),
               CLT_INT(positions_at));
}

void clt_prefix_cache_forward(clt_prefix_cache *c, clt_net *net, clt_device *d, clt_reader *reader, uint64_t iter,
                              uint64_t dropout_seed) {
    if (!c->layers) {
        clt_net_forward(net, d, c->batch, true, dropout_seed);
        return;
    }
    int s = c->slot;
    c->slot ^= 1;
    wait_slot(c, s);
    int *records = c->host_positions[s], *to_store = records + c->batch;
    bool all_stored = true;
    for (int j = 0; j < c->batch; j++) {
        uint64_t record;
        int y0, x0, mirror;
        clt_reader_train_plan(reader, iter, j, &record, &y0, &x0, &mirror);
        records[j] = (int)record;
        all_stored = all_stored && c->stored[record];
    }
    if (all_stored) {
        upload_slot(c, d, s, c->batch);
        move_rows(c, net, d, "prefix_cache_gather", s, c->batch, 0);
        c->hits++;
    } else {
        clt_net_forward_blocks(net, d, c->batch, 1, c->layers, true, dropout_seed);
        /* each record once, also when a batch that spans two epochs holds it twice */
        int count = 0;
        for (int j = 0; j < c->batch; j++)
            if (!c->stored[records[j]]) {
                c->stored[records[j]] = true;
                c->unstored--;
                to_store[count++] = j;
            }
        upload_slot(c, d, s, c->batch + count);
        move_rows(c, net, d, "prefix_cache_store", s, count, s * 2 * c->batch + c->batch);
        c->misses++;
    }
    clt_net_forward_blocks(net, d, c->batch, c->layers + 1, CLT_LAYERS, true, dropout_seed);
}

void clt_prefix_cache_close(clt_prefix_cache *c) {
    for (int s = 0; s < 2; s++) {
        wait_slot(c, s);
        free(c->host_positions[s]);
    }
    clt_free(c->store);
    clt_free(c->positions);
    free(c->stored);
    memset(c, 0, sizeof *c);
}
