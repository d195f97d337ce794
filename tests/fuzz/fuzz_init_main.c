/* The init's check of a main process request (src/linux/init/mainproc.c
 * cv_init_parse_main, proto.h struct cv_main_req): the input is the request,
 * which comes from the host, or in --enter mode from whoever holds the
 * socket. */
#include "fuzz.h"

#include "../../src/linux/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static union {
        char buf[CV_SPAWN_MAX];
        struct cv_main_req req;
    } rx __attribute__((aligned(8)));
    static char *argv[4097], *envp[4097];
    const char *cwd = NULL;
    const void *filter = NULL;

    if (size > CV_SPAWN_MAX)
        return 0;
    memcpy(rx.buf, data, size);
    if (cv_init_parse_main(rx.buf, size, &cwd, argv, envp, &filter) == 0) {
        size_t total = strlen(cwd);
        for (uint32_t i = 0; i < rx.req.argc; i++)
            total += strlen(argv[i]);
        for (uint32_t i = 0; i < rx.req.envc; i++)
            total += strlen(envp[i]);
        if (argv[rx.req.argc] || envp[rx.req.envc] || total > size || cwd[0] != '/')
            abort();
        if (filter && ((const char *)filter < rx.buf || (const char *)filter + rx.req.seccomp_len * 8 > rx.buf + size))
            abort();
    }
    return 0;
}
