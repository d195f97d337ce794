/* The init program's command line (src/linux/init/args.c): a workload can
 * run the program with any arguments. The input is argv, NUL-separated. */
#include "fuzz.h"

#include "../../src/linux/init/args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    char *argv[65];
    int argc = 0;
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    argv[argc++] = (char *)"containerv-init";
    for (char *p = buf; p < buf + size && argc < 64; p += strlen(p) + 1)
        argv[argc++] = p;
    argv[argc] = NULL;
    struct cv_init_args a = {.fds = {-1, -1, -1, -1}};
    if (cv_init_parse_args(argc, argv, &a)) {
        if (a.enter_fd >= 0) { /* --enter=FD alone */
            if (a.enter_fd < 3 || argc != 2)
                abort();
            free(buf);
            return 0;
        }
        if (a.fds[0] < 3 || a.fds[1] < 3 || a.fds[2] < 3 || a.fds[3] < -1 || a.n_peers < 0 || a.n_peers > 3)
            abort();
        if (a.fault && (a.fault < buf || a.fault >= buf + size + 1))
            abort();
    }
    free(buf);
    return 0;
}
