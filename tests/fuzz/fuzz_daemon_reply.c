/* The client's parse of the daemon's replies (src/cli/daemon_client.c
 * recv_reply / daemon_error, src/daemon/proto.c cvd_recv / cvd_check): the input
 * is one message that arrives on a SOCK_SEQPACKET socket into the client's
 * buffer. */
#include "fuzz.h"

#include "../../src/daemon/proto.h"

#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int sv[2] = {-1, -1};
    union {
        char buf[sizeof(struct cvd_error) + 64];
        struct cvd_hdr h;
    } u; /* as daemon_client.c's request() and follow() */
    char step[48], message[512];
    int fds[CVD_MAX_FDS], nfds = 0;

    if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (size == 0 || size > 4096)
        return 0;
    if (send(sv[1], data, size, 0) != (ssize_t)size)
        abort();
    ssize_t n = cvd_recv(sv[0], u.buf, sizeof(u.buf), fds, CVD_MAX_FDS, &nfds);
    int type = n > 0 ? cvd_check(u.buf, (size_t)n) : -1;
    if (type >= 0 && (size_t)n > sizeof(u.buf))
        abort();
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    if (type == CVD_ERROR) {
        const struct cvd_error *e = (const struct cvd_error *)u.buf;
        cvd_strlcpy(step, e->step, sizeof(step));
        cvd_strlcpy(message, e->message, sizeof(message));
        if (strlen(step) >= sizeof(step) || strlen(message) >= sizeof(message))
            abort();
    } else if (type == CVD_STARTED) {
        (void)((const struct cvd_started *)u.buf)->pid;
    } else if (type == CVD_STATUS_ROW) {
        abort(); /* larger than the client's buffer: cannot pass cvd_check */
    }
    return 0;
}
