/* fuzz_common.h — what the fuzz targets share: the input as a file the readers open by path, and
   checksum repair, so mutations reach the parsers that sit behind a CRC check. */
#ifndef CLT_FUZZ_COMMON_H
#define CLT_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

/* The readers take a path; a memfd keeps the millions of inputs off the disk. */
static inline const char *fuzz_file(const void *data, size_t size) {
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("clt_fuzz_input", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz input file");
        abort();
    }
    return path;
}

static inline uint32_t fuzz_crc(const uint8_t *p, size_t n) { return (uint32_t)crc32(0, p, (uInt)n); }

static inline uint32_t fuzz_get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t fuzz_get64(const uint8_t *p) { return fuzz_get32(p) | (uint64_t)fuzz_get32(p + 4) << 32; }
static inline void fuzz_put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#endif
