/* The daemon's parse of a client's message (src/daemon/daemon.c handle_msg /
 * do_run: cvd_check, check_run, parse_argv): input "<nfds byte><message>". */
#include "fuzz.h"

#include "../../src/daemon/daemon.h"
#include "../../src/daemon/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static union {
        char buf[CVD_MAX_MSG + 1];
        struct cvd_run run;
    } rx; /* as the daemon's receive buffer */
    const char *why = NULL;

    if (size < 1 || size - 1 > CVD_MAX_MSG)
        return 0;
    int nfds = data[0] % (CVD_MAX_FDS + 1);
    size_t n = size - 1;
    memcpy(rx.buf, data + 1, n);
    int type = cvd_check(rx.buf, n);
    if (type == CVD_SIGNAL)
        (void)((const struct cvd_signal *)rx.buf)->sig;
    char **argv = cvd_parse_run(rx.buf, n, nfds, &why);
    if (argv) {
        size_t total = 0;
        for (char **a = argv; *a; a++)
            total += strlen(*a);
        if (total > n)
            abort();
        free(argv);
    } else if (!why) {
        abort(); /* every refusal names what was wrong */
    }
    return 0;
}
