/* The init's parse of a spawn request (src/linux/init/init.c plan_strings, proto.h
 * struct cv_spawn_req): the input is the request. */
#include "fuzz.h"

#include "../../src/linux/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static union {
        char buf[CV_SPAWN_MAX];
        struct cv_spawn_req req;
    } rx; /* as the init's mmap'ed reqbuf */
    static char *argv[4097], *envp[4097];
    const char *cwd = NULL;

    if (size > CV_SPAWN_MAX)
        return 0;
    memcpy(rx.buf, data, size);
    if (cv_init_parse_spawn(rx.buf, size, &cwd, argv, envp) == 0) {
        size_t total = strlen(cwd);
        for (uint32_t i = 0; i < rx.req.argc; i++)
            total += strlen(argv[i]);
        for (uint32_t i = 0; i < rx.req.envc; i++)
            total += strlen(envp[i]);
        if (argv[rx.req.argc] || envp[rx.req.envc] || total > size)
            abort();
    }
    return 0;
}
