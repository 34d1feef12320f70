/* device.h — the OpenCL device layer: finding and choosing a device, one context and queue per
   process, the program built from cl/NAME.cl (binary-cached on disk), buffers and kernel launches.

   Errors are sticky: the first failing OpenCL or CLBlast call is recorded in the device with its
   name and the call, later enqueues become no-ops, and callers check clt_device_ok() at the points
   where they can stop (after a training step, after building a net). */
#ifndef CLT_DEVICE_H
#define CLT_DEVICE_H

#include <CL/cl.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/util.h"

typedef struct clt_kernel_entry {
    char *name;
    cl_kernel kernel;
} clt_kernel_entry;

typedef struct clt_device {
    int index; /* position in `cltransfer --list-devices` */
    cl_platform_id platform;
    cl_device_id id;
    cl_context context;
    cl_command_queue queue;
    char name[256], vendor[256], platform_name[256], platform_version[256];
    char driver_version[128], device_version[128];
    cl_device_type type;
    cl_uint compute_units;
    cl_ulong global_mem, max_alloc, local_mem;
    size_t max_work_group;
    size_t wg1d; /* work-group size used for 1-D element-wise kernels on this device */
    bool is_gpu;
    /* Convolution weight gradients as dout · colT with a transposed im2col (true: CPU devices, where
       CLBlast's product with a transposed operand runs at half speed) or as dout · colᵀ (GPUs, where
       the NT product takes the split-k path). Tests flip it to check both. */
    bool conv_dweight_nn;

    cl_program program; /* every kernel of cl/NAME.cl */
    char *kernel_dir;
    clt_kernel_entry *kernels;
    int n_kernels;

    int failed;
    /* While planning (clt_plan_begin), clt_alloc only adds up what it is asked for. */
    bool planning;
    uint64_t planned_bytes, planned_largest;
    char planned_largest_what[64];
    char error[2048];
} clt_device;

/* Prints every platform and device with its index, type, vendor, driver and OpenCL versions,
   compute units and memory. Returns 0, or -1 where OpenCL itself cannot be queried. */
int clt_list_devices(FILE *out);

/* Opens the device named by `selector`: NULL or "" picks the first GPU, else the first device; a
   number picks that index; anything else is a case-insensitive substring of the device name.
   A selector that matches nothing is an error naming the devices that exist.
   Builds the kernels from cl/ and applies CLBlast tuning for the device (device/open.c). */
int clt_device_open(clt_device *d, const char *selector);
/* The same without CLBlast tuning: context, queue and kernels only. */
int clt_device_open_bare(clt_device *d, const char *selector);
void clt_device_close(clt_device *d);

/* The folder holding cl/NAME.cl: $CLTRANSFER_KERNEL_DIR, next to the binary (cl/ or
   ../share/cltransfer/cl), the install prefix, then the source tree. NULL if none holds them. */
char *clt_find_kernel_dir(void);

/* ---- sticky errors ---- */
static inline bool clt_device_ok(const clt_device *d) { return !d->failed; }
/* Records the first failure; prints nothing. */
void clt_device_fail(clt_device *d, const char *fmt, ...) CLT_PRINTF(2, 3);
/* Records `err` from `call` if it is not CL_SUCCESS; returns true when err was CL_SUCCESS. */
bool clt_check_cl(clt_device *d, cl_int err, const char *call, const char *what);
/* Prints the recorded error (if any) and returns -1, else returns 0. */
int clt_device_report(clt_device *d);
const char *clt_cl_error_name(cl_int err);

/* ---- buffers (sizes in bytes; `what` names the buffer in errors) ---- */
cl_mem clt_alloc(clt_device *d, size_t bytes, const char *what);
/* A set of buffers is planned before it is allocated, so that a set too large for the device (or,
   on a CPU device, for the host's available memory) is refused as a whole, naming its total, rather
   than half-allocated and then ended by the kernel's OOM killer: between clt_plan_begin and
   clt_plan_end clt_alloc allocates nothing and returns NULL. clt_plan_end returns 0 when the total
   fits, else -1 with the device failed (sticky) and a message naming `what`, the total and the
   largest buffer. */
void clt_plan_begin(clt_device *d);
int clt_plan_end(clt_device *d, const char *what);
void clt_free(cl_mem m);
void clt_upload(clt_device *d, cl_mem dst, size_t dst_off, const void *src, size_t bytes);
void clt_download(clt_device *d, void *dst, cl_mem src, size_t src_off, size_t bytes); /* blocking */
/* An upload that returns at once: src must stay as it is until clt_wait(done), or until a later
   command of the in-order queue is done when done is NULL; *done is NULL when nothing was enqueued. */
void clt_upload_async(clt_device *d, cl_mem dst, size_t dst_off, const void *src, size_t bytes, const char *what,
                      cl_event *done);
void clt_wait(cl_event *e); /* waits for *e and releases it; nothing when NULL */
void clt_flush(clt_device *d);
void clt_zero(clt_device *d, cl_mem m, size_t off, size_t bytes);
void clt_finish(clt_device *d);

/* A float range inside a buffer: the unit every layer takes. `off` counts floats. */
typedef struct clt_view {
    cl_mem mem;
    size_t off;
} clt_view;
static inline clt_view clt_at(cl_mem m, size_t off) { return (clt_view){m, off}; }
static inline clt_view clt_shift(clt_view v, size_t floats) { return (clt_view){v.mem, v.off + floats}; }

/* ---- kernels ---- */
typedef struct clt_arg {
    size_t size;
    const void *value;
} clt_arg;
#define CLT_MEM(m) ((clt_arg){sizeof(cl_mem), &(m)})
#define CLT_INT(v) ((clt_arg){sizeof(cl_int), &(cl_int){(cl_int)(v)}})
#define CLT_UINT(v) ((clt_arg){sizeof(cl_uint), &(cl_uint){(cl_uint)(v)}})
#define CLT_FLOAT(v) ((clt_arg){sizeof(cl_float), &(cl_float){(cl_float)(v)}})
#define CLT_LOCAL(bytes) ((clt_arg){(bytes), NULL})
/* A view travels as two arguments: the buffer, then the float offset. */
#define CLT_VIEW(v) CLT_MEM((v).mem), CLT_INT((v).off)

cl_kernel clt_kernel(clt_device *d, const char *name);
/* Enqueues kernel `name`; local NULL lets the driver choose. Global sizes must be multiples of
   local sizes (clt_round_up). */
void clt_launch(clt_device *d, const char *name, int dims, const size_t *global, const size_t *local,
                int nargs, const clt_arg *args);
#define CLT_LAUNCH(d, name, dims, global, local, ...)                                            \
    clt_launch((d), (name), (dims), (global), (local),                                         \
               (int)(sizeof((clt_arg[]){__VA_ARGS__}) / sizeof(clt_arg)), (clt_arg[]){__VA_ARGS__})
/* 1-D launch over n items with the device's wg1d; the kernel must bounds-check against n. */
#define CLT_LAUNCH_1D(d, name, n, ...)                                                          \
    clt_launch((d), (name), 1, (size_t[]){clt_round_up((n), (d)->wg1d)}, (size_t[]){(d)->wg1d}, \
               (int)(sizeof((clt_arg[]){__VA_ARGS__}) / sizeof(clt_arg)), (clt_arg[]){__VA_ARGS__})

static inline size_t clt_round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

#endif
