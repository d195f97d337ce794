#include "fuzz.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <unistd.h>

static char dir[64];

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    remove(path);
    return 0;
}

/* the scratch directory goes when the fuzzer exits (a crash leaves it, with
 * the input that made it) */
static void remove_scratch(void)
{
    if (dir[0])
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *fuzz_scratch_dir(void)
{
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/cv-fuzz.XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_scratch);
    }
    return dir;
}

void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        abort();
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n <= 0)
            abort();
        data += n;
        size -= (size_t)n;
    }
    close(fd);
}
