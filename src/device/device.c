/* device.c — OpenCL platforms and devices, the per-process context, the kernel program with its
   on-disk binary cache, sticky error recording, buffers and launches. */
#include "device/device.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


const char *clt_cl_error_name(cl_int err) {
    switch (err) {
#define E(x) case x: return #x;
        E(CL_SUCCESS) E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
        E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
        E(CL_PROFILING_INFO_NOT_AVAILABLE) E(CL_MEM_COPY_OVERLAP) E(CL_IMAGE_FORMAT_MISMATCH)
        E(CL_IMAGE_FORMAT_NOT_SUPPORTED) E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE)
        E(CL_MISALIGNED_SUB_BUFFER_OFFSET) E(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        E(CL_COMPILE_PROGRAM_FAILURE) E(CL_LINKER_NOT_AVAILABLE) E(CL_LINK_PROGRAM_FAILURE)
        E(CL_DEVICE_PARTITION_FAILED) E(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) E(CL_INVALID_VALUE)
        E(CL_INVALID_DEVICE_TYPE) E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT)
        E(CL_INVALID_QUEUE_PROPERTIES) E(CL_INVALID_COMMAND_QUEUE) E(CL_INVALID_HOST_PTR)
        E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR) E(CL_INVALID_IMAGE_SIZE)
        E(CL_INVALID_SAMPLER) E(CL_INVALID_BINARY) E(CL_INVALID_BUILD_OPTIONS) E(CL_INVALID_PROGRAM)
        E(CL_INVALID_PROGRAM_EXECUTABLE) E(CL_INVALID_KERNEL_NAME) E(CL_INVALID_KERNEL_DEFINITION)
        E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
        E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
        E(CL_INVALID_WORK_ITEM_SIZE) E(CL_INVALID_GLOBAL_OFFSET) E(CL_INVALID_EVENT_WAIT_LIST)
        E(CL_INVALID_EVENT) E(CL_INVALID_OPERATION) E(CL_INVALID_GL_OBJECT) E(CL_INVALID_BUFFER_SIZE)
        E(CL_INVALID_MIP_LEVEL) E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_PROPERTY)
        E(CL_INVALID_IMAGE_DESCRIPTOR) E(CL_INVALID_COMPILER_OPTIONS) E(CL_INVALID_LINKER_OPTIONS)
        E(CL_INVALID_DEVICE_PARTITION_COUNT)
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "unknown OpenCL error";
    }
}

void clt_device_fail(clt_device *d, const char *fmt, ...) {
    if (d->failed) return;
    d->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->error, sizeof d->error, fmt, ap);
    va_end(ap);
}

bool clt_check_cl(clt_device *d, cl_int err, const char *call, const char *what) {
    if (err == CL_SUCCESS) return true;
    clt_device_fail(d, "OpenCL error %s (%d) in %s%s%s%s", clt_cl_error_name(err), err, call,
                    what ? " (" : "", what ? what : "", what ? ")" : "");
    return false;
}

int clt_device_report(clt_device *d) {
    if (!d->failed) return 0;
    clt_error("%s", d->error);
    return -1;
}

/* ---- enumeration ---- */

typedef struct found_device {
    cl_platform_id platform;
    cl_device_id device;
} found_device;

static int enumerate(found_device **out, int *count) {
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    *out = NULL;
    *count = 0;
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || np == 0) return 0;
    if (err != CL_SUCCESS) {
        clt_error("OpenCL error %s (%d) in clGetPlatformIDs", clt_cl_error_name(err), err);
        return -1;
    }
    cl_platform_id *plats = clt_calloc(np, sizeof *plats);
    clGetPlatformIDs(np, plats, NULL);
    found_device *list = NULL;
    int n = 0;
    for (cl_uint p = 0; p < np; p++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || nd == 0) continue;
        cl_device_id *devs = clt_calloc(nd, sizeof *devs);
        clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, nd, devs, NULL);
        list = clt_realloc(list, (n + nd) * sizeof *list);
        for (cl_uint i = 0; i < nd; i++) list[n++] = (found_device){plats[p], devs[i]};
        free(devs);
    }
    free(plats);
    *out = list;
    *count = n;
    return 0;
}

static void dev_str(cl_device_id dev, cl_device_info what, char *buf, size_t n) {
    buf[0] = 0;
    clGetDeviceInfo(dev, what, n, buf, NULL);
    buf[n - 1] = 0;
}

static void plat_str(cl_platform_id p, cl_platform_info what, char *buf, size_t n) {
    buf[0] = 0;
    clGetPlatformInfo(p, what, n, buf, NULL);
    buf[n - 1] = 0;
}

static const char *type_name(cl_device_type t) {
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

static void describe(FILE *out, int index, found_device f) {
    char name[256], vendor[256], driver[128], version[128], cver[128], pname[256];
    cl_device_type type = 0;
    cl_uint cu = 0;
    cl_ulong mem = 0;
    dev_str(f.device, CL_DEVICE_NAME, name, sizeof name);
    dev_str(f.device, CL_DEVICE_VENDOR, vendor, sizeof vendor);
    dev_str(f.device, CL_DRIVER_VERSION, driver, sizeof driver);
    dev_str(f.device, CL_DEVICE_VERSION, version, sizeof version);
    dev_str(f.device, CL_DEVICE_OPENCL_C_VERSION, cver, sizeof cver);
    plat_str(f.platform, CL_PLATFORM_NAME, pname, sizeof pname);
    clGetDeviceInfo(f.device, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    clGetDeviceInfo(f.device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    clGetDeviceInfo(f.device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    fprintf(out, "[%d] %s (%s)\n", index, name, type_name(type));
    fprintf(out, "    platform: %s\n    vendor: %s\n    driver: %s\n    OpenCL: %s; %s\n", pname, vendor,
            driver, version, cver);
    fprintf(out, "    compute units: %u\n    memory: %.0f MiB\n", cu, mem / 1048576.0);
}

int clt_list_devices(FILE *out) {
    found_device *list;
    int n;
    if (enumerate(&list, &n) != 0) return -1;
    if (n == 0) fprintf(out, "no OpenCL devices found (is an ICD such as pocl-opencl-icd installed?)\n");
    for (int i = 0; i < n; i++) describe(out, i, list[i]);
    free(list);
    return 0;
}

static void print_choices(found_device *list, int n) {
    fprintf(stderr, "devices that exist:\n");
    for (int i = 0; i < n; i++) {
        char name[256];
        dev_str(list[i].device, CL_DEVICE_NAME, name, sizeof name);
        fprintf(stderr, "  [%d] %s\n", i, name);
    }
    if (n == 0) fprintf(stderr, "  (none: no OpenCL platform is installed)\n");
}

static int select_device(found_device *list, int n, const char *sel) {
    if (!sel || !*sel) {
        for (int i = 0; i < n; i++) {
            cl_device_type t = 0;
            clGetDeviceInfo(list[i].device, CL_DEVICE_TYPE, sizeof t, &t, NULL);
            if (t & CL_DEVICE_TYPE_GPU) return i;
        }
        return n > 0 ? 0 : -1;
    }
    char *end;
    long idx = strtol(sel, &end, 10);
    if (*end == 0 && end != sel) return (idx >= 0 && idx < n) ? (int)idx : -1;
    for (int i = 0; i < n; i++) {
        char name[256];
        dev_str(list[i].device, CL_DEVICE_NAME, name, sizeof name);
        if (strcasestr(name, sel)) return i;
    }
    return -1;
}

/* ---- kernel program: sources, binary cache ---- */

char *clt_find_kernel_dir(void) {
    const char *env = getenv("CLTRANSFER_KERNEL_DIR");
    char *candidates[5] = {0};
    int n = 0;
    if (env && *env) candidates[n++] = clt_strdup(env);
    char *exe = clt_exe_dir();
    if (exe) {
        candidates[n++] = clt_path_join(exe, "cl");
        candidates[n++] = clt_path_join(exe, "../share/cltransfer/cl");
        free(exe);
    }
    candidates[n++] = clt_strdup(CLT_INSTALL_DATADIR "/cl");
    candidates[n++] = clt_strdup(CLT_SOURCE_DIR "/cl");
    char *found = NULL;
    for (int i = 0; i < n; i++) {
        char *probe = clt_path_join(candidates[i], "relu.cl");
        if (!found && clt_file_exists(probe)) found = clt_strdup(candidates[i]);
        free(probe);
        free(candidates[i]);
    }
    return found;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Concatenates cl/NAME.cl in name order, each preceded by a #line so build errors name the file. */
static char *load_sources(const char *dir) {
    DIR *dp = opendir(dir);
    if (!dp) {
        clt_error("cannot open kernel folder %s: %s", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        size_t len = strlen(e->d_name);
        if (len > 3 && strcmp(e->d_name + len - 3, ".cl") == 0) {
            names = clt_realloc(names, (n + 1) * sizeof *names);
            names[n++] = clt_strdup(e->d_name);
        }
    }
    closedir(dp);
    qsort(names, n, sizeof *names, cmp_str);
    size_t cap = 1024, len = 0;
    char *src = clt_malloc(cap);
    src[0] = 0;
    int ok = 1;
    for (int i = 0; i < n; i++) {
        char *path = clt_path_join(dir, names[i]);
        size_t flen;
        char *text = ok ? clt_read_file(path, &flen) : NULL;
        if (!text) ok = 0;
        if (ok) {
            size_t need = len + flen + strlen(path) + 64;
            if (need > cap) src = clt_realloc(src, cap = need * 2);
            len += sprintf(src + len, "#line 1 \"%s\"\n", names[i]);
            memcpy(src + len, text, flen);
            len += flen;
            src[len++] = '\n';
            src[len] = 0;
        }
        free(text);
        free(path);
        free(names[i]);
    }
    free(names);
    if (!ok) {
        free(src);
        return NULL;
    }
    return src;
}

static char *cache_dir(void) {
    const char *env = getenv("CLTRANSFER_CACHE_DIR");
    if (env && *env) return clt_strdup(env);
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return clt_path_join(xdg, "cltransfer");
    const char *home = getenv("HOME");
    if (home && *home) return clt_path_join(home, ".cache/cltransfer");
    return clt_strdup("/tmp/cltransfer-cache");
}

static const char *BUILD_OPTIONS = "-cl-std=CL1.2";

static char *cache_path(clt_device *d, const char *src) {
    uint64_t h = CLT_FNV_INIT;
    const char *parts[] = {d->platform_name, d->platform_version, d->name, d->device_version,
                           d->driver_version, BUILD_OPTIONS, src};
    for (size_t i = 0; i < CLT_ARRAY_LEN(parts); i++) h = clt_fnv1a(h, parts[i], strlen(parts[i]) + 1);
    char *dir = cache_dir();
    char name[64];
    snprintf(name, sizeof name, "kernels-%016llx.bin", (unsigned long long)h);
    char *p = clt_path_join(dir, name);
    free(dir);
    return p;
}

static void print_build_log(clt_device *d, cl_program prog) {
    size_t n = 0;
    clGetProgramBuildInfo(prog, d->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &n);
    char *log = clt_malloc(n + 1);
    clGetProgramBuildInfo(prog, d->id, CL_PROGRAM_BUILD_LOG, n, log, NULL);
    log[n] = 0;
    fprintf(stderr, "%s\n", log);
    free(log);
}

static cl_program program_from_cache(clt_device *d, const char *path) {
    size_t len;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fclose(f);
    char *bin = clt_read_file(path, &len);
    if (!bin || len == 0) {
        free(bin);
        return NULL;
    }
    cl_int err, status;
    const unsigned char *ptr = (const unsigned char *)bin;
    cl_program prog = clCreateProgramWithBinary(d->context, 1, &d->id, &len, &ptr, &status, &err);
    free(bin);
    if (err != CL_SUCCESS || status != CL_SUCCESS) {
        if (prog) clReleaseProgram(prog);
        return NULL;
    }
    if (clBuildProgram(prog, 1, &d->id, BUILD_OPTIONS, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        return NULL;
    }
    return prog;
}

static void program_to_cache(clt_device *d, cl_program prog, const char *path) {
    size_t len = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof len, &len, NULL) != CL_SUCCESS || !len) return;
    unsigned char *bin = clt_malloc(len);
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS) {
        char *dir = clt_strdup(path);
        *strrchr(dir, '/') = 0;
        /* A cache that cannot be written only costs a recompile next time. */
        if (clt_mkdirs(dir) == 0) clt_write_file_atomic(path, bin, len);
        free(dir);
    }
    free(bin);
    (void)d;
}

static int build_program(clt_device *d) {
    d->kernel_dir = clt_find_kernel_dir();
    if (!d->kernel_dir) {
        clt_error("cannot find the OpenCL kernels (cl/NAME.cl): looked next to the binary, in %s and "
                  "in %s; set CLTRANSFER_KERNEL_DIR", CLT_INSTALL_DATADIR "/cl", CLT_SOURCE_DIR "/cl");
        return -1;
    }
    char *src = load_sources(d->kernel_dir);
    if (!src) return -1;
    char *cpath = cache_path(d, src);
    d->program = program_from_cache(d, cpath);
    if (!d->program) {
        cl_int err;
        const char *s = src;
        d->program = clCreateProgramWithSource(d->context, 1, &s, NULL, &err);
        if (err != CL_SUCCESS) {
            clt_error("OpenCL error %s (%d) in clCreateProgramWithSource", clt_cl_error_name(err), err);
            free(src);
            free(cpath);
            return -1;
        }
        err = clBuildProgram(d->program, 1, &d->id, BUILD_OPTIONS, NULL, NULL);
        if (err != CL_SUCCESS) {
            clt_error("OpenCL error %s (%d) in clBuildProgram of the kernels in %s:", clt_cl_error_name(err),
                      err, d->kernel_dir);
            print_build_log(d, d->program);
            free(src);
            free(cpath);
            return -1;
        }
        program_to_cache(d, d->program, cpath);
    }
    free(src);
    free(cpath);
    return 0;
}

int clt_device_open_bare(clt_device *d, const char *selector) {
    memset(d, 0, sizeof *d);
    found_device *list;
    int n;
    if (enumerate(&list, &n) != 0) return -1;
    int idx = select_device(list, n, selector);
    if (idx < 0) {
        if (n == 0)
            clt_error("no OpenCL device found (is an ICD such as pocl-opencl-icd installed?)");
        else
            clt_error("no OpenCL device matches '%s'", selector ? selector : "");
        print_choices(list, n);
        free(list);
        return -1;
    }
    d->index = idx;
    d->platform = list[idx].platform;
    d->id = list[idx].device;
    free(list);

    dev_str(d->id, CL_DEVICE_NAME, d->name, sizeof d->name);
    dev_str(d->id, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
    dev_str(d->id, CL_DRIVER_VERSION, d->driver_version, sizeof d->driver_version);
    dev_str(d->id, CL_DEVICE_VERSION, d->device_version, sizeof d->device_version);
    plat_str(d->platform, CL_PLATFORM_NAME, d->platform_name, sizeof d->platform_name);
    plat_str(d->platform, CL_PLATFORM_VERSION, d->platform_version, sizeof d->platform_version);
    clGetDeviceInfo(d->id, CL_DEVICE_TYPE, sizeof d->type, &d->type, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof d->compute_units, &d->compute_units, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof d->global_mem, &d->global_mem, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof d->max_alloc, &d->max_alloc, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof d->local_mem, &d->local_mem, NULL);
    clGetDeviceInfo(d->id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof d->max_work_group, &d->max_work_group, NULL);
    d->is_gpu = (d->type & CL_DEVICE_TYPE_GPU) != 0;
    d->conv_dweight_nn = !d->is_gpu;
    d->wg1d = CLT_MIN(d->is_gpu ? 256 : 64, d->max_work_group);

    cl_int err;
    d->context = clCreateContext(NULL, 1, &d->id, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        clt_error("OpenCL error %s (%d) in clCreateContext for %s", clt_cl_error_name(err), err, d->name);
        return -1;
    }
    d->queue = clCreateCommandQueue(d->context, d->id, 0, &err);
    if (err != CL_SUCCESS) {
        clt_error("OpenCL error %s (%d) in clCreateCommandQueue for %s", clt_cl_error_name(err), err, d->name);
        clt_device_close(d);
        return -1;
    }
    if (build_program(d) != 0) {
        clt_device_close(d);
        return -1;
    }
    return 0;
}

void clt_device_close(clt_device *d) {
    for (int i = 0; i < d->n_kernels; i++) {
        clReleaseKernel(d->kernels[i].kernel);
        free(d->kernels[i].name);
    }
    free(d->kernels);
    if (d->program) clReleaseProgram(d->program);
    if (d->queue) clReleaseCommandQueue(d->queue);
    if (d->context) clReleaseContext(d->context);
    free(d->kernel_dir);
    d->kernels = NULL;
    d->n_kernels = 0;
    d->program = NULL;
    d->queue = NULL;
    d->context = NULL;
    d->kernel_dir = NULL;
}

/* ---- buffers ---- */

void clt_plan_begin(clt_device *d) {
    d->planning = true;
    d->planned_bytes = d->planned_largest = 0;
    d->planned_largest_what[0] = 0;
}

int clt_plan_end(clt_device *d, const char *what) {
    d->planning = false;
    if (d->failed) return -1;
    uint64_t limit = d->global_mem;
    uint64_t host = d->is_gpu ? 0 : clt_host_available_bytes();
    if (host && host < limit) limit = host;
    if (d->planned_bytes <= limit) return 0;
    char host_text[96] = "";
    if (host) snprintf(host_text, sizeof host_text, " and the host %llu bytes available", (unsigned long long)host);
    clt_device_fail(d, "cannot allocate %s: %llu bytes in all (the largest, %s, %llu bytes), but %s has %llu bytes "
                    "of global memory%s; lower the batch size",
                    what, (unsigned long long)d->planned_bytes, d->planned_largest_what,
                    (unsigned long long)d->planned_largest, d->name, (unsigned long long)d->global_mem, host_text);
    return -1;
}

cl_mem clt_alloc(clt_device *d, size_t bytes, const char *what) {
    if (d->failed) return NULL;
    if (d->planning) {
        d->planned_bytes += bytes;
        if (bytes > d->planned_largest) {
            d->planned_largest = bytes;
            snprintf(d->planned_largest_what, sizeof d->planned_largest_what, "%s", what);
        }
        return NULL;
    }
    if (bytes > d->max_alloc) {
        clt_device_fail(d, "cannot allocate %s: %zu bytes asked for, but %s allows at most %llu bytes in one "
                        "buffer", what, bytes, d->name, (unsigned long long)d->max_alloc);
        return NULL;
    }
    cl_int err;
    cl_mem m = clCreateBuffer(d->context, CL_MEM_READ_WRITE, bytes ? bytes : 4, NULL, &err);
    if (err != CL_SUCCESS) {
        clt_device_fail(d, "OpenCL error %s (%d) in clCreateBuffer: cannot allocate %s, %zu bytes",
                        clt_cl_error_name(err), err, what, bytes);
        return NULL;
    }
    /* Drivers allocate lazily; touching the buffer now makes out-of-memory surface here, named. */
    clt_zero(d, m, 0, bytes);
    clFinish(d->queue);
    if (d->failed) {
        char prev[sizeof d->error];
        memcpy(prev, d->error, sizeof prev);
        d->failed = 0;
        clt_device_fail(d, "cannot allocate %s, %zu bytes: %s", what, bytes, prev);
        clReleaseMemObject(m);
        return NULL;
    }
    return m;
}

void clt_free(cl_mem m) {
    if (m) clReleaseMemObject(m);
}

void clt_upload(clt_device *d, cl_mem dst, size_t dst_off, const void *src, size_t bytes) {
    if (d->failed || !bytes) return;
    clt_check_cl(d, clEnqueueWriteBuffer(d->queue, dst, CL_TRUE, dst_off, bytes, src, 0, NULL, NULL),
                 "clEnqueueWriteBuffer", NULL);
}

void clt_download(clt_device *d, void *dst, cl_mem src, size_t src_off, size_t bytes) {
    if (d->failed || !bytes) return;
    clt_check_cl(d, clEnqueueReadBuffer(d->queue, src, CL_TRUE, src_off, bytes, dst, 0, NULL, NULL),
                 "clEnqueueReadBuffer", NULL);
}

void clt_upload_async(clt_device *d, cl_mem dst, size_t dst_off, const void *src, size_t bytes, const char *what,
                      cl_event *done) {
    if (done) *done = NULL;
    if (d->failed || !bytes) return;
    clt_check_cl(d, clEnqueueWriteBuffer(d->queue, dst, CL_FALSE, dst_off, bytes, src, 0, NULL, done),
                 "clEnqueueWriteBuffer", what);
}

void clt_wait(cl_event *e) {
    if (!*e) return;
    clWaitForEvents(1, e);
    clReleaseEvent(*e);
    *e = NULL;
}

void clt_flush(clt_device *d) {
    if (d->failed) return;
    clt_check_cl(d, clFlush(d->queue), "clFlush", NULL);
}

void clt_zero(clt_device *d, cl_mem m, size_t off, size_t bytes) {
    if (d->failed || !bytes) return;
    cl_uchar zero = 0;
    clt_check_cl(d, clEnqueueFillBuffer(d->queue, m, &zero, 1, off, bytes, 0, NULL, NULL),
                 "clEnqueueFillBuffer", NULL);
}

void clt_finish(clt_device *d) {
    if (d->failed) return;
    clt_check_cl(d, clFinish(d->queue), "clFinish", NULL);
}

/* ---- kernels ---- */

cl_kernel clt_kernel(clt_device *d, const char *name) {
    for (int i = 0; i < d->n_kernels; i++)
        if (strcmp(d->kernels[i].name, name) == 0) return d->kernels[i].kernel;
    if (d->failed) return NULL;
    cl_int err;
    cl_kernel k = clCreateKernel(d->program, name, &err);
    if (!clt_check_cl(d, err, "clCreateKernel", name)) return NULL;
    d->kernels = clt_realloc(d->kernels, (d->n_kernels + 1) * sizeof *d->kernels);
    d->kernels[d->n_kernels++] = (clt_kernel_entry){clt_strdup(name), k};
    return k;
}

void clt_launch(clt_device *d, const char *name, int dims, const size_t *global, const size_t *local,
                int nargs, const clt_arg *args) {
    if (d->failed) return;
    for (int i = 0; i < dims; i++)
        if (global[i] == 0) return; /* nothing to do; OpenCL 1.2 refuses empty ranges */
    cl_kernel k = clt_kernel(d, name);
    if (!k) return;
    for (int i = 0; i < nargs; i++) {
        cl_int err = clSetKernelArg(k, i, args[i].size, args[i].value);
        if (err != CL_SUCCESS) {
            clt_device_fail(d, "OpenCL error %s (%d) in clSetKernelArg(%s, argument %d)", clt_cl_error_name(err),
                            err, name, i);
            return;
        }
    }
    clt_check_cl(d, clEnqueueNDRangeKernel(d->queue, k, dims, NULL, global, local, 0, NULL, NULL),
                 "clEnqueueNDRangeKernel", name);
}
