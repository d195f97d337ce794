/* containerv-init: pid 1 of a container, a small static program (musl)
 * that the library embeds and the child of clone3 executes from a sealed
 * memfd once the container is set up (initexe.c says why). It is started
 * only that way, with an empty environment and:
 *   containerv-init --fds=SYNC,LISTEN,LOCK,UPPER --t0=NS --FLAGS --fault=SPEC [--peers=UID,...]
 * SYNC: the sync socket, the creator's control connection from now on;
 * LISTEN: the control socket; LOCK: the state lock, held for the
 * container's life; UPPER: the writable layer's upper dir or -1. FLAGS:
 * 'u' in a user namespace, 'd' to die with the creator. NS: when the child
 * executed this (CLOCK_MONOTONIC), for the init.exec step. The peers: with
 * a user namespace, the uids the control socket accepts.
 * Or, for containerv_enter (a process started in a running container's
 * namespaces and cgroup):
 *   containerv-init --enter=FD
 * FD: a socket that brings one CV_MSG_PREPARE and one CV_MSG_START.
 * Anything else (a workload that runs this program through a script whose
 * interpreter is /proc/self/exe, say) is refused before it does anything:
 * such a process has only what the workload had anyway. */
#include "../linux.h"
#include "args.h"
#include "mainproc.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

static bool parse(int argc, char **argv, struct cv_init_args *a)
{
    if (!cv_init_parse_args(argc, argv, a))
        return false;
    struct stat st;
    if (a->enter_fd >= 0)
        return fstat(a->enter_fd, &st) == 0 && S_ISSOCK(st.st_mode);
    /* the sync and control sockets must be sockets the creator made: a
     * process that merely runs this program has none at those numbers */
    return fstat(a->fds[0], &st) == 0 && S_ISSOCK(st.st_mode) && fstat(a->fds[1], &st) == 0 &&
           S_ISSOCK(st.st_mode) && fcntl(a->fds[2], F_GETFD) >= 0;
}

/* The steps the init reports (CV_SYNC_INIT), each injectable before and
 * after its work like the child's. */
static int prepare(const struct cv_init_args *a, struct cv_sync_msg *m)
{
    int sync_fd = a->fds[0];
    uint64_t now = cv_now_ns();
    m->steps[0].ns = now > a->t0 ? now - a->t0 : 0;
    snprintf(m->steps[0].name, sizeof(m->steps[0].name), "init.exec");
    m->n_steps = 1;
    if (cv_fault_child(a->fault, "init.exec", sync_fd))
        return cv_child_fail(m, "init.exec", EIO, "injected fault");
    if (cv_fault_child_after(a->fault, "init.exec"))
        return cv_child_fail(m, "init.exec", EIO, "injected fault after the step");
    uint64_t t = cv_now_ns();
    if (cv_fault_child(a->fault, "init.prepare", sync_fd))
        return cv_child_fail(m, "init.prepare", EIO, "injected fault");
    int e = cv_init_prepare(a->fds[3], a->userns, a->peers, a->n_peers);
    if (e < 0)
        return cv_child_fail(m, "init.prepare", e, "setting up the init");
    if (cv_fault_child_after(a->fault, "init.prepare"))
        return cv_child_fail(m, "init.prepare", EIO, "injected fault after the step");
    cv_child_step(m, "init.prepare", t);
    /* the host's last step has this name too: paused there, a creator
     * killed meanwhile leaves no init behind (the report fails to send) */
    if (cv_fault_child(a->fault, "init.ready", sync_fd))
        return cv_child_fail(m, "init.ready", EIO, "injected fault");
    return 0;
}

/* containerv_enter: this process was started in the container's
 * namespaces and cgroup; it becomes the process that PREPARE and START on
 * fd describe, through the same steps as a main process (mainproc.c). */
__attribute__((noreturn)) static void enter(int fd)
{
    static char buf[CV_SPAWN_MAX] __attribute__((aligned(8)));
    int keep[1] = {fd};
    cv_close_except(keep, 1);
    for (;;) {
        char cbuf[CMSG_SPACE(16 * sizeof(int))];
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
        ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
        if (n <= 0)
            _exit(1);
        int fds[16], nfds = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) && nfds < 16; i++)
                    memcpy(&fds[nfds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
        uint32_t type = (size_t)n >= sizeof(uint32_t) ? *(const uint32_t *)buf : 0;
        if (nfds >= 1 && !(mh.msg_flags & MSG_CTRUNC) && type == CV_MSG_PREPARE &&
            (size_t)n >= sizeof(struct cv_main_req)) {
            cv_main_prepare(buf, (size_t)n, fds, nfds);
            continue;
        }
        if (nfds == 1 && !(mh.msg_flags & MSG_CTRUNC) && type == CV_MSG_START && (size_t)n == sizeof(struct cv_start_req))
            cv_main_start(fds[0]); /* returns only when nothing was prepared */
        _exit(1);
    }
}

int main(int argc, char **argv)
{
    /* first: no one in the container may ptrace this process, read its
     * fds or open /proc/1/exe (the exec made it dumpable again) */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    struct cv_init_args a = {.fds = {-1, -1, -1, -1}};
    if (!parse(argc, argv, &a)) {
        static const char msg[] = "containerv-init: only libcontainerv starts this program\n";
        if (write(2, msg, sizeof(msg) - 1) < 0)
            return 127;
        return 127;
    }
    if (a.enter_fd >= 0)
        enter(a.enter_fd);
    /* the exec may have dropped the parent-death signal (credentials that
     * changed); the creator dead by now shows as EOF on the sync socket */
    if (a.die)
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    int keep[4];
    int n = 0;
    for (int i = 0; i < 4; i++)
        if (a.fds[i] >= 0) {
            fcntl(a.fds[i], F_SETFD, FD_CLOEXEC);
            keep[n++] = a.fds[i];
        }
    cv_close_except(keep, n);
    static struct cv_sync_msg m; /* static: this process never allocates */
    m.step = CV_SYNC_INIT;
    int r = prepare(&a, &m);
    m.t[CV_T_READY] = cv_now_ns();
    if (cv_sync_send(a.fds[0], &m) < 0 || r < 0)
        _exit(1);
    cv_init_main(a.fds[0], a.fds[1]);
}
