/* The host's parse of what a container's init sends (src/linux/process.c
 * cv_spawn_read_answer and the cv_host_parse_* checks it, containerv_wait,
 * cv_reset_end and container.c's step_child_ready use). An init is the first
 * process of a container: one taken over by its workload must not be able to
 * make the host read out of bounds, leak fds or take a failure for success.
 *
 * The input: one byte of flags (bit 0: the spawn asked for a tty), then up to
 * 8 messages, each [fds][length, 2 bytes little-endian][bytes] (fds & 7 is the
 * count of fds sent with it; a message cut short by the input's end is sent as
 * it is). The messages go, with their fds, on a fresh SOCK_SEQPACKET pair into
 * cv_spawn_read_answer, as the init's answers to a spawn request; each is also
 * given to every cv_host_parse_* check alone. Whatever the input, no fd may be
 * left open but the ones cv_spawn_read_answer returned. */
#include "fuzz.h"

#include "../../src/linux/linux.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_MSGS 8

static int count_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

static void check_parsers(const uint8_t *msg, size_t len)
{
    union {
        struct cv_spawned_msg spawned;
        struct cv_reset_msg reset;
        struct cv_sync_msg sync;
        char buf[2048];
    } in, out;
    struct containerv_error err;
    int code = -1;

    if (len > sizeof(in.buf))
        len = sizeof(in.buf);
    memcpy(in.buf, msg, len);
    int t = cv_host_parse_spawn_answer(in.buf, len, &out.spawned);
    if (t == CV_MSG_SPAWNED) {
        if (strlen(out.spawned.step) >= sizeof(out.spawned.step) || out.spawned.error < 0 ||
            out.spawned.error >= 4096)
            abort();
    } else if (t != CV_MSG_HELLO && t != -EPROTO) {
        abort();
    }
    t = cv_host_parse_exited(in.buf, len, &code);
    if (t == 0 && (code < 0 || code > 255))
        abort();
    if (cv_host_parse_reset_done(in.buf, len, &out.reset) == 0) {
        if (strlen(out.reset.what) >= sizeof(out.reset.what) || out.reset.error < 0 || out.reset.error >= 4096)
            abort();
        if (out.reset.error) /* as cv_reset_end reports it */
            cv_error_plain(&err, out.reset.error, "reset", "not as new: %s", out.reset.what);
    }
    /* in place, as step_child_ready parses it */
    t = cv_host_parse_sync(in.buf, len, &in.sync);
    if (t == CV_SYNC_ERROR) {
        if (strlen(in.sync.where) >= sizeof(in.sync.where) || strlen(in.sync.what) >= sizeof(in.sync.what) ||
            in.sync.code < 0 || in.sync.code >= 4096)
            abort();
        if (cv_error(&err, in.sync.code ? in.sync.code : EIO, in.sync.where, "%s", in.sync.what) >= 0)
            abort();
    } else if (t == CV_SYNC_READY || t == CV_SYNC_INIT) { /* the child's report, or the init's */
        if (in.sync.n_steps > sizeof(in.sync.steps) / sizeof(in.sync.steps[0]))
            abort();
        for (uint32_t i = 0; i < in.sync.n_steps; i++) /* as account_child's trace prints them */
            if (strlen(in.sync.steps[i].name) >= sizeof(in.sync.steps[i].name))
                abort();
    } else if (t != -EPROTO) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int devnull = -1, base = -1;
    if (devnull < 0) {
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0)
            abort();
        base = count_fds();
    }
    if (size < 1 || size > 16384)
        return 0;
    bool tty = data[0] & 1;
    const uint8_t *p = data + 1, *end = data + size;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    int on = 1;
    if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
        abort();
    for (int m = 0; m < MAX_MSGS && p < end; m++) {
        int nfds = *p++ & 7;
        size_t len = 0;
        if (end - p >= 2) {
            len = (size_t)p[0] | (size_t)p[1] << 8;
            p += 2;
        } else {
            p = end;
        }
        if (len > (size_t)(end - p))
            len = (size_t)(end - p);
        check_parsers(p, len);
        int fds[7];
        for (int i = 0; i < nfds; i++)
            fds[i] = devnull;
        /* cv_send_fds, as the init's send_reply; a message cut short is sent as it is */
        if (cv_send_fds(sv[1], p, len, fds, nfds) < 0)
            break;
        p += len;
    }
    close(sv[1]); /* after the messages: the end of the stream */

    struct cv_spawn_answer a;
    struct containerv_error err;
    int r = cv_spawn_read_answer(sv[0], tty, "fuzz", "cvtest", "/", &a, &err);
    if (r == 0) {
        if (a.pid <= 0 || a.pidfd < 0 || (tty ? a.master < 0 : a.master != -1))
            abort();
        close(a.pidfd);
        if (a.master >= 0)
            close(a.master);
    } else if (r > -1 || r < -4095 || strlen(err.message) >= sizeof(err.message)) {
        abort(); /* a failure is -errno, whatever code the init sent */
    }
    close(sv[0]);
    if (count_fds() != base)
        abort(); /* an fd the init sent was left open */
    return 0;
}
