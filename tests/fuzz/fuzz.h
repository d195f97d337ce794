/* Shared by the fuzz targets: the input as a NUL-terminated string. */
#ifndef CV_FUZZ_H
#define CV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline char *fuzz_str(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* A private scratch directory for file-based parsers (made once). */
char *fuzz_scratch_dir(void);
/* Write data to path (whole file); aborts on failure. */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);

#endif
