/* The pool daemon against bad clients, at the protocol level
 * (src/daemon/proto.h): malformed messages, descriptors where none
 * belong, too many descriptors, oversized messages, messages out of state,
 * a second RUN, a client that goes away mid-run, a flood of connections and
 * garbage. Each gets an ERROR (or nothing) and the connection closed; the
 * daemon stays up, closes every descriptor it was sent, kills the command
 * of a client that misbehaved or left, and serves the next client.
 * (The CLI side: test_cli_daemon.sh.) */
#include "cvt.h"

#include "daemon/proto.h"

#include <containerv/pool.h>

#include <dirent.h>
#include <grp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char state[512], sock_path[512];
static pid_t daemon_pid = -1;

/* ------------------------------------------------------------ the daemon */

static const char *daemon_group; /* --group of the next start_daemon, or NULL */
static const char *daemon_pool = "web=2"; /* --pool of the next start_daemon */
static char hold_path[512];       /* with hold_creates: CONTAINERV_FAULT=pause:validate@it */
static bool hold_creates;

static void start_daemon(void)
{
    char prefix[64], pool[32];
    int ready[2];

    snprintf(pool, sizeof(pool), "%s", daemon_pool);
    snprintf(hold_path, sizeof(hold_path), "%s/hold.sock", cvt.tmp);

    snprintf(state, sizeof(state), "%s/state", cvt.tmp);
    snprintf(sock_path, sizeof(sock_path), "%s/sock/d.sock", cvt.tmp);
    snprintf(prefix, sizeof(prefix), "%sd", cvt.prefix);
    struct containerv_options *o = cvt_options();
    struct containerv_error err;
    assert_int_equal(containerv_template_create(state, "web", o, &err), 0);
    containerv_options_free(o);
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    daemon_pid = fork();
    assert_true(daemon_pid >= 0);
    if (daemon_pid == 0) {
        /* the daemon dies with this test, however the test ends */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (dup2(ready[1], 3) < 0) /* dup2 clears close-on-exec */
            _exit(127);
        char spec[600];
        snprintf(spec, sizeof(spec), "pause:validate@%s", hold_path);
        if (hold_creates)
            setenv("CONTAINERV_FAULT", spec, 1);
        execl(cvt.containerv, "containerv", "--state-dir", state, "--runtime-dir",
              cvt.runtime_dir, "--socket", sock_path, "daemon", "--pool", pool, "--id-prefix",
              prefix, "--ready-fd", "3", daemon_group ? "--group" : (char *)NULL,
              daemon_group, (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    char ch = 0;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    /* and the daemon closed its end: what it holds from now on is its
     * steady state (daemon_fds) */
    assert_int_equal(read(ready[0], &ch, 1), 0);
    close(ready[0]);
}

static void stop_daemon(void)
{
    int st;
    assert_int_equal(kill(daemon_pid, SIGTERM), 0);
    assert_int_equal(waitpid(daemon_pid, &st, 0), daemon_pid);
    daemon_pid = -1;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(access(sock_path, F_OK), -1);
}

static int daemon_fds(void)
{
    char path[64];
    int n = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)daemon_pid);
    DIR *d = opendir(path);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ------------------------------------------------------------ the client */

static int dconnect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static ssize_t send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
    union {
        char b[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        memset(&u, 0, sizeof(u));
        mh.msg_control = u.b;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
    }
    return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

static void hdr(struct cvd_hdr *h, int type, size_t len)
{
    memset(h, 0, sizeof(*h));
    h->magic = CVD_MAGIC;
    h->version = CVD_VERSION;
    h->type = (uint16_t)type;
    h->len = (uint32_t)len;
}

/* The next message: its type, with it in buf and an fd in *fd (or -1). */
static int next_msg(int sock, void *buf, size_t size, int *fd)
{
    union {
        char b[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                        .msg_controllen = sizeof(u.b)};
    ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    if (fd)
        *fd = -1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n > 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
        int x;
        memcpy(&x, CMSG_DATA(cm), sizeof(int));
        if (fd)
            *fd = x;
        else
            close(x);
    }
    if (n <= 0)
        return n == 0 ? 0 : -errno;
    struct cvd_hdr h;
    assert_true((size_t)n >= sizeof(h));
    memcpy(&h, buf, sizeof(h));
    assert_int_equal(h.magic, CVD_MAGIC);
    assert_int_equal(h.len, (uint32_t)n);
    return h.type;
}

/* Expect ERROR of kind, then the end of the connection; closes sock. */
static void expect_error(int sock, unsigned kind, const char *what)
{
    struct cvd_error e;
    char buf[sizeof(e) + 64];
    int type = next_msg(sock, buf, sizeof(buf), NULL);
    if (type != CVD_ERROR)
        fail_msg("%s: want ERROR, got %d", what, type);
    memcpy(&e, buf, sizeof(e));
    if (e.kind != kind)
        fail_msg("%s: want ERROR kind %u, got %u (%s)", what, kind, e.kind, e.message);
    assert_non_null(memchr(e.message, '\0', sizeof(e.message)));
    assert_int_equal(next_msg(sock, buf, sizeof(buf), NULL), 0);
    close(sock);
}

/* A RUN of argv (a NULL-terminated list) with flags; the message is malloc'd. */
static struct cvd_run *run_msg(const char *tpl, const char *const *argv, uint32_t flags, size_t *len)
{
    size_t blob = 0, argc = 0;
    for (; argv[argc]; argc++)
        blob += strlen(argv[argc]) + 1;
    *len = sizeof(struct cvd_run) + blob;
    struct cvd_run *m = calloc(1, *len);
    assert_non_null(m);
    hdr(&m->h, CVD_RUN, *len);
    m->flags = flags;
    m->argc = (uint32_t)argc;
    m->argv_len = (uint32_t)blob;
    snprintf(m->template_name, sizeof(m->template_name), "%s", tpl);
    char *p = (char *)m + sizeof(*m);
    for (size_t i = 0; i < argc; i++) {
        memcpy(p, argv[i], strlen(argv[i]) + 1);
        p += strlen(argv[i]) + 1;
    }
    return m;
}

/* Send RUN argv with stdout to a pipe; *out_r the pipe. */
static void send_run(int sock, const char *const *argv, int *out_r)
{
    int p[2];
    size_t len;
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    struct cvd_run *m = run_msg("web", argv, CVD_RUN_STDOUT, &len);
    assert_int_equal(send_fds(sock, m, len, &p[1], 1), (ssize_t)len);
    free(m);
    close(p[1]);
    *out_r = p[0];
}

/* The answer to a RUN is STARTED: its pid. */
static pid_t expect_started(int sock)
{
    struct cvd_started s;
    char buf[sizeof(struct cvd_error) + 64];
    int type = next_msg(sock, buf, sizeof(buf), NULL);
    if (type != CVD_STARTED)
        fail_msg("RUN: want STARTED, got %d (%s)", type,
                 type == CVD_ERROR ? ((struct cvd_error *)buf)->message : "");
    memcpy(&s, buf, sizeof(s));
    assert_true(s.pid > 0);
    return s.pid;
}

/* RUN argv with stdout to a pipe; the STARTED pid; *out_r the pipe. */
static pid_t start_run(int sock, const char *const *argv, int *out_r)
{
    send_run(sock, argv, out_r);
    return expect_started(sock);
}

/* A normal run still works: "echo ok" through the protocol, exit 0. */
static void assert_serves(const char *after)
{
    static const char *const argv[] = {"/bin/sh", "-c", "echo ok", NULL};
    int sock = dconnect(), out;
    start_run(sock, argv, &out);
    char buf[sizeof(struct cvd_error) + 64];
    int type = next_msg(sock, buf, sizeof(buf), NULL);
    if (type != CVD_EXITED)
        fail_msg("after %s: want EXITED, got %d", after, type);
    assert_int_equal(((struct cvd_exited *)buf)->code, 0);
    char text[16] = "";
    assert_int_equal(read(out, text, sizeof(text) - 1), 3);
    assert_string_equal(text, "ok\n");
    close(out);
    close(sock);
    assert_int_equal(kill(daemon_pid, 0), 0);
}

/* Wait (no timeout: the watchdog catches a hang) until pid is gone. */
static void wait_gone(pid_t pid)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        /* gone: ESRCH, or EINVAL when the number is a thread's by now (a
         * reused pid that is no thread group leader: seen in the VM) */
        if (errno != ESRCH && errno != EINVAL)
            fail_msg("pidfd_open(%d): %s", (int)pid, strerror(errno));
        return;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, -1), 1);
    close(fd);
}

/* ------------------------------------------------------------ tests */

static void test_malformed(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    start_daemon();
    int base = daemon_fds();
    struct cvd_hdr h;
    struct cvd_signal sig;
    int sock, p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);

    sock = dconnect(); /* too short */
    assert_int_equal(send(sock, "abc", 3, 0), 3);
    expect_error(sock, CVD_ERR_PROTO, "3 bytes");

    sock = dconnect(); /* bad magic */
    hdr(&h, CVD_STATUS, sizeof(h));
    h.magic = 0xdeadbeef;
    assert_int_equal(send(sock, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    expect_error(sock, CVD_ERR_PROTO, "bad magic");

    sock = dconnect(); /* another version */
    hdr(&h, CVD_STATUS, sizeof(h));
    h.version = 99;
    assert_int_equal(send(sock, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    expect_error(sock, CVD_ERR_PROTO, "version 99");

    sock = dconnect(); /* a length that is not the message's */
    hdr(&h, CVD_STATUS, sizeof(h) + 8);
    assert_int_equal(send(sock, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    expect_error(sock, CVD_ERR_PROTO, "length");

    sock = dconnect(); /* an unknown type */
    hdr(&h, 99, sizeof(h));
    assert_int_equal(send(sock, &h, sizeof(h), 0), (ssize_t)sizeof(h));
    expect_error(sock, CVD_ERR_PROTO, "type 99");

    sock = dconnect(); /* SIGNAL before RUN */
    hdr(&sig.h, CVD_SIGNAL, sizeof(sig));
    sig.sig = SIGTERM;
    assert_int_equal(send(sock, &sig, sizeof(sig), 0), (ssize_t)sizeof(sig));
    expect_error(sock, CVD_ERR_PROTO, "SIGNAL out of state");

    sock = dconnect(); /* STATUS with descriptors */
    hdr(&h, CVD_STATUS, sizeof(h));
    assert_int_equal(send_fds(sock, &h, sizeof(h), p, 2), (ssize_t)sizeof(h));
    expect_error(sock, CVD_ERR_PROTO, "STATUS with fds");

    static const char *const argv[] = {"/bin/true", NULL};
    size_t len;
    struct cvd_run *m = run_msg("web", argv, CVD_RUN_STDOUT, &len);

    sock = dconnect(); /* RUN: the flags ask for one fd, none comes */
    assert_int_equal(send(sock, m, len, 0), (ssize_t)len);
    expect_error(sock, CVD_ERR_PROTO, "RUN without its fd");

    sock = dconnect(); /* RUN with more descriptors than the protocol allows */
    int many[6] = {p[0], p[1], p[0], p[1], p[0], p[1]};
    assert_int_equal(send_fds(sock, m, len, many, 6), (ssize_t)len);
    expect_error(sock, CVD_ERR_PROTO, "RUN with 6 fds");

    sock = dconnect(); /* RUN whose argc does not match its blob */
    m->argc = 2;
    assert_int_equal(send_fds(sock, m, len, &p[1], 1), (ssize_t)len);
    expect_error(sock, CVD_ERR_PROTO, "RUN argc");
    m->argc = 1;

    sock = dconnect(); /* RUN with an unterminated template name */
    memset(m->template_name, 'x', sizeof(m->template_name));
    assert_int_equal(send_fds(sock, m, len, &p[1], 1), (ssize_t)len);
    expect_error(sock, CVD_ERR_PROTO, "RUN template name");
    free(m);

    sock = dconnect(); /* more than the largest message */
    size_t big = CVD_MAX_MSG + 4096;
    char *huge = calloc(1, big);
    assert_non_null(huge);
    hdr((struct cvd_hdr *)huge, CVD_RUN, big);
    assert_int_equal(send(sock, huge, big, 0), (ssize_t)big);
    free(huge);
    expect_error(sock, CVD_ERR_PROTO, "oversized");

    m = run_msg("nosuch", argv, CVD_RUN_STDOUT, &len); /* no pool: told, not an error */
    sock = dconnect();
    assert_int_equal(send_fds(sock, m, len, &p[1], 1), (ssize_t)len);
    expect_error(sock, CVD_ERR_NOPOOL, "no pool");
    free(m);

    /* every descriptor sent was closed: the daemon holds what it held */
    assert_int_equal(daemon_fds(), base);
    close(p[0]);
    close(p[1]);
    assert_serves("malformed messages");
    stop_daemon();
    cvt_assert_no_leaks(&before, "daemon after malformed messages");
    cvt_snap_free(&before);
}

static void test_out_of_state(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    start_daemon();
    static const char *const sleeper[] = {"/bin/sleep", "30", NULL};
    int out;

    /* a second RUN while the first runs: ERROR, and the first is killed */
    int sock = dconnect();
    pid_t pid = start_run(sock, sleeper, &out);
    size_t len;
    struct cvd_run *m = run_msg("web", sleeper, 0, &len);
    assert_int_equal(send(sock, m, len, 0), (ssize_t)len);
    free(m);
    expect_error(sock, CVD_ERR_PROTO, "a second RUN");
    wait_gone(pid);
    close(out);

    /* a client that goes away mid-run: the command is killed */
    sock = dconnect();
    pid = start_run(sock, sleeper, &out);
    close(sock);
    wait_gone(pid);
    close(out);

    /* SIGNAL while it runs: EXITED with 128 + the signal */
    sock = dconnect();
    pid = start_run(sock, sleeper, &out);
    struct cvd_signal sig;
    hdr(&sig.h, CVD_SIGNAL, sizeof(sig));
    sig.sig = SIGUSR1;
    assert_int_equal(send(sock, &sig, sizeof(sig), 0), (ssize_t)sizeof(sig));
    char buf[sizeof(struct cvd_error) + 64];
    assert_int_equal(next_msg(sock, buf, sizeof(buf), NULL), CVD_EXITED);
    assert_int_equal(((struct cvd_exited *)buf)->code, 128 + SIGUSR1);
    close(sock);
    close(out);

    /* a bad signal number: ERROR, and the command is killed */
    sock = dconnect();
    pid = start_run(sock, sleeper, &out);
    sig.sig = 1000;
    assert_int_equal(send(sock, &sig, sizeof(sig), 0), (ssize_t)sizeof(sig));
    expect_error(sock, CVD_ERR_PROTO, "signal 1000");
    wait_gone(pid);
    close(out);

    assert_serves("out-of-state messages");
    stop_daemon();
    cvt_assert_no_leaks(&before, "daemon after out-of-state messages");
    cvt_snap_free(&before);
}

static void test_flood(void **st)
{
    (void)st;
    struct cvt_snap before;
    cvt_snapshot(&before);
    start_daemon();
    /* thousands of connections, each sending garbage and leaving at once */
    for (int i = 0; i < 2000; i++) {
        int sock = dconnect();
        char junk[64];
        memset(junk, i & 0xff, sizeof(junk));
        (void)send(sock, junk, (size_t)(1 + i % 64), MSG_NOSIGNAL);
        close(sock);
    }
    /* more idle connections than the daemon takes: the rest are turned away */
    enum { IDLE = 300 };
    int idle[IDLE], busy = 0;
    for (int i = 0; i < IDLE; i++)
        idle[i] = dconnect();
    /* the daemon handles its queue in order: a request after the idle ones
     * is answered once they are all accepted (or turned away) */
    int probe = dconnect();
    struct cvd_hdr h;
    hdr(&h, CVD_STATUS, sizeof(h));
    char buf[sizeof(struct cvd_status_row) + 64];
    assert_int_equal(send(probe, &h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
    int type = next_msg(probe, buf, sizeof(buf), NULL);
    assert_true(type == CVD_ERROR || type == CVD_STATUS_ROW);
    if (type == CVD_ERROR)
        assert_int_equal(((struct cvd_error *)buf)->kind, CVD_ERR_BUSY);
    close(probe);
    for (int i = 0; i < IDLE; i++) {
        struct pollfd p = {.fd = idle[i], .events = POLLIN};
        if (poll(&p, 1, 0) == 1 && next_msg(idle[i], buf, sizeof(buf), NULL) == CVD_ERROR)
            busy++;
    }
    assert_true(busy >= IDLE - 256);
    for (int i = 0; i < IDLE; i++)
        close(idle[i]);
    /* and a normal client is served, through the CLI too */
    assert_serves("a flood");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s --socket %s run --template web -- /bin/sh -c 'exit 3'",
             cvt.containerv, sock_path);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 3);
    stop_daemon();
    cvt_assert_no_leaks(&before, "daemon after a flood");
    cvt_snap_free(&before);
}

static int teardown(void **st)
{
    (void)st;
    if (daemon_pid > 0) { /* a failed test: stop it as a user would, so that
                           * its containers do not spill into the next test */
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
        daemon_pid = -1;
    }
    return 0;
}

/* ------------------------------------------------------------ a member */

#define MEMBER_UID 65534
#define MEMBER_GID 4242

/* A connection to the daemon made by a process that really is uid
 * MEMBER_UID in group MEMBER_GID (the peer credentials are the connecting
 * process's): a child drops to it, connects (through an fd of the socket's
 * directory, so that the test's own directories need not be searchable)
 * and hands the socket back. */
static int member_connect(void)
{
    int sp[2], st;
    char dir[512];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
    snprintf(dir, sizeof(dir), "%s/sock", cvt.tmp);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        gid_t g = MEMBER_GID;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || setgroups(1, &g) < 0 || setresgid(MEMBER_GID, MEMBER_GID, MEMBER_GID) < 0 ||
            setresuid(MEMBER_UID, MEMBER_UID, MEMBER_UID) < 0)
            _exit(1);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/d.sock", dfd);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            _exit(2);
        char b = 'c';
        _exit(send_fds(sp[1], &b, 1, &fd, 1) == 1 ? 0 : 3);
    }
    close(sp[1]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    char b;
    int fd = -1;
    struct iovec iov = {.iov_base = &b, .iov_len = 1};
    union {
        char c[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.c,
                        .msg_controllen = sizeof(u.c)};
    assert_int_equal(recvmsg(sp[0], &mh, MSG_CMSG_CLOEXEC), 1);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    assert_non_null(cm);
    memcpy(&fd, CMSG_DATA(cm), sizeof(int));
    close(sp[0]);
    return fd;
}

/* RUN argv as the member with stdin in_fd and stdout a pipe: the type of
 * the first answer; on STARTED, what the command wrote in out (NUL
 * terminated) and its exit code. */
static int member_run(const char *const *argv, int in_fd, uint32_t flags, int extra_fd,
                      char *out, size_t outsz, int *code)
{
    int sock = member_connect(), p[2], fds[3], n = 0;
    size_t len;
    char buf[sizeof(struct cvd_error) + 64];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    if (flags & CVD_RUN_STDIN)
        fds[n++] = in_fd;
    if (flags & CVD_RUN_STDOUT)
        fds[n++] = extra_fd >= 0 ? extra_fd : p[1];
    struct cvd_run *m = run_msg("web", argv, flags, &len);
    assert_int_equal(send_fds(sock, m, len, fds, n), (ssize_t)len);
    free(m);
    close(p[1]);
    int type = next_msg(sock, buf, sizeof(buf), NULL);
    out[0] = '\0';
    if (type == CVD_STARTED) {
        size_t got = 0;
        ssize_t r;
        while (got + 1 < outsz && (r = read(p[0], out + got, outsz - 1 - got)) > 0)
            got += (size_t)r;
        out[got] = '\0';
        assert_int_equal(next_msg(sock, buf, sizeof(buf), NULL), CVD_EXITED);
        *code = ((struct cvd_exited *)buf)->code;
    } else if (type == CVD_ERROR) {
        snprintf(out, outsz, "%s", ((struct cvd_error *)buf)->message);
        *code = (int)((struct cvd_error *)buf)->kind;
    }
    close(p[0]);
    close(sock);
    return type;
}

/* A member of --group passes host objects as its stdio: a directory (the
 * workload would walk the host's tree through /proc/self/fd/0/...), a
 * root-only file (it would read or overwrite it through /proc/self/fd/N),
 * an O_PATH handle. The daemon refuses each, the secret never shows; a
 * pipe (the positive control) works, and so does /dev/null. */
static void test_member_fds(void **st)
{
    (void)st;
    char secret[600], cmd[700], out[512];
    int code = -1;
    daemon_group = "4242";
    start_daemon();
    snprintf(secret, sizeof(secret), "%s/secret", cvt.tmp);
    int sfd = open(secret, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    assert_true(sfd >= 0);
    assert_int_equal(write(sfd, "topsecret\n", 10), 10);
    close(sfd);

    /* stdin: the host's / */
    snprintf(cmd, sizeof(cmd), "cat /proc/self/fd/0%s", secret);
    const char *const walk[] = {"/bin/sh", "-c", cmd, NULL};
    int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(root >= 0);
    int type = member_run(walk, root, CVD_RUN_STDIN | CVD_RUN_STDOUT, -1, out, sizeof(out), &code);
    assert_null(strstr(out, "topsecret"));
    assert_int_equal(type, CVD_ERROR);
    assert_int_equal(code, CVD_ERR_DENIED);
    assert_non_null(strstr(out, "a directory"));
    /* the same as an O_PATH handle */
    int rootp = open("/", O_PATH | O_CLOEXEC);
    type = member_run(walk, rootp, CVD_RUN_STDIN | CVD_RUN_STDOUT, -1, out, sizeof(out), &code);
    assert_null(strstr(out, "topsecret"));
    assert_int_equal(type, CVD_ERROR);
    assert_non_null(strstr(out, "O_PATH"));

    /* stdin: the root-only file itself, reopened for writing */
    const char *const cat0[] = {"/bin/sh", "-c", "cat; echo x > /proc/self/fd/0", NULL};
    int rd = open(secret, O_RDONLY | O_CLOEXEC);
    type = member_run(cat0, rd, CVD_RUN_STDIN | CVD_RUN_STDOUT, -1, out, sizeof(out), &code);
    assert_null(strstr(out, "topsecret"));
    assert_int_equal(type, CVD_ERROR);
    assert_non_null(strstr(out, "a regular file"));
    /* stdout: a file */
    const char *const echo[] = {"/bin/sh", "-c", "echo x", NULL};
    type = member_run(echo, -1, CVD_RUN_STDOUT, rd, out, sizeof(out), &code);
    assert_int_equal(type, CVD_ERROR);
    close(rd);
    /* a device other than /dev/null */
    int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    type = member_run(echo, zero, CVD_RUN_STDIN | CVD_RUN_STDOUT, -1, out, sizeof(out), &code);
    assert_int_equal(type, CVD_ERROR);
    assert_non_null(strstr(out, "device"));
    close(zero);
    char text[64] = "";
    int f = open(secret, O_RDONLY | O_CLOEXEC);
    assert_int_equal(read(f, text, sizeof(text) - 1), 10);
    close(f);
    assert_string_equal(text, "topsecret\n");

    /* the positive controls: a pipe, /dev/null */
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(write(p[1], "piped\n", 6), 6);
    close(p[1]);
    const char *const cat[] = {"/bin/cat", NULL};
    type = member_run(cat, p[0], CVD_RUN_STDIN | CVD_RUN_STDOUT, -1, out, sizeof(out), &code);
    close(p[0]);
    assert_int_equal(type, CVD_STARTED);
    assert_int_equal(code, 0);
    assert_string_equal(out, "piped\n");
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    type = member_run(cat, null, CVD_RUN_STDIN | CVD_RUN_STDOUT, -1, out, sizeof(out), &code);
    close(null);
    assert_int_equal(type, CVD_STARTED);
    assert_int_equal(code, 0);
    /* root keeps passing what it likes */
    close(root);
    close(rootp);
    assert_serves("the refusals");
    /* the per-uid quota: 64 idle connections of the member, the 65th is
     * told BUSY, root is still served */
    int held[64];
    for (int i = 0; i < 64; i++)
        held[i] = member_connect();
    expect_error(member_connect(), CVD_ERR_BUSY, "the member's 65th connection");
    /* told BUSY too when its request is already there as the daemon takes
     * the connection (the daemon stopped meanwhile): closing a connection
     * with a message unread would reset it, and the answer would be lost */
    assert_int_equal(kill(daemon_pid, SIGSTOP), 0);
    int late = member_connect();
    struct cvd_hdr sh;
    hdr(&sh, CVD_STATUS, sizeof(sh));
    assert_int_equal(send(late, &sh, sizeof(sh), MSG_NOSIGNAL), (ssize_t)sizeof(sh));
    assert_int_equal(kill(daemon_pid, SIGCONT), 0);
    expect_error(late, CVD_ERR_BUSY, "the member's 65th connection, its request sent");
    assert_serves("one uid's quota is full");
    for (int i = 0; i < 64; i++)
        close(held[i]);
    unlink(secret);
    stop_daemon();
    daemon_group = NULL;
}

/* ------------------------------------------------------------ cold creates */

/* The daemon's caps on cold creates (src/daemon/server.h) */
enum { COLD_MAX = 4, COLD_PER_UID = 2 };

/* The socket the daemon's creates are held on (hold_creates): each create
 * connects at its first step and waits until its connection is closed. */
static int hold_listen(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", hold_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 64), 0);
    return fd;
}

/* The next create that reached its first step (no timeout: the watchdog
 * catches a create that never comes). */
static int held_create(int lfd)
{
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

/* No more holds: creates from now on go straight through. */
static void hold_end(int lfd)
{
    close(lfd);
    unlink(hold_path);
}

/* One STATUS round trip (one pool): its row. */
static void status_of(struct cvd_status_row *row)
{
    int sock = dconnect();
    struct cvd_hdr h;
    char buf[sizeof(struct cvd_status_row) + 64];
    hdr(&h, CVD_STATUS, sizeof(h));
    assert_int_equal(send(sock, &h, sizeof(h), MSG_NOSIGNAL), (ssize_t)sizeof(h));
    assert_int_equal(next_msg(sock, buf, sizeof(buf), NULL), CVD_STATUS_ROW);
    memcpy(row, buf, sizeof(*row));
    assert_int_equal(next_msg(sock, buf, sizeof(buf), NULL), CVD_STATUS_END);
    assert_int_equal(((struct cvd_status_end *)buf)->count, 1);
    close(sock);
}

/* Until the pool has n containers out (every other one was given back);
 * the bound is a guard against one that never comes back, not a criterion. */
static void wait_in_use(int n)
{
    struct cvd_status_row row;
    for (int i = 0;; i++) {
        status_of(&row);
        if (row.in_use == n)
            return;
        if (i == 6000)
            fail_msg("the pool still has %d containers out, want %d: one was never given back",
                     row.in_use, n);
        usleep(10000);
    }
}

/* The next message is QUEUED: its flags and how many wait before it. */
static void expect_queued(int sock, uint32_t flags, uint32_t ahead, const char *what)
{
    char buf[sizeof(struct cvd_error) + 64];
    int type = next_msg(sock, buf, sizeof(buf), NULL);
    if (type != CVD_QUEUED)
        fail_msg("%s: want QUEUED, got %d (%s)", what, type,
                 type == CVD_ERROR ? ((struct cvd_error *)buf)->message : "");
    struct cvd_queued q;
    memcpy(&q, buf, sizeof(q));
    if (q.flags != flags || q.ahead != ahead)
        fail_msg("%s: want QUEUED flags %u ahead %u, got flags %u ahead %u", what, flags, ahead,
                 q.flags, q.ahead);
}

/* After STARTED: EXITED 0 and "ok" on the pipe; closes both. */
static void expect_ok(int sock, int out, const char *what)
{
    char buf[sizeof(struct cvd_error) + 64], text[16] = "";
    expect_started(sock);
    int type = next_msg(sock, buf, sizeof(buf), NULL);
    if (type != CVD_EXITED || ((struct cvd_exited *)buf)->code != 0)
        fail_msg("%s: want EXITED 0, got %d", what, type);
    assert_int_equal(read(out, text, sizeof(text) - 1), 3);
    assert_string_equal(text, "ok\n");
    close(out);
    close(sock);
}

static const char *const echo_ok[] = {"/bin/sh", "-c", "echo ok", NULL};
static const char *const sleeper30[] = {"/bin/sleep", "30", NULL};

/* A RUN against an empty pool is made by a create thread: while that
 * create is held at its first step, the loop answers another client's
 * STATUS (before the create is released: the order is the assertion), and
 * the RUN starts once it is released. On a daemon that creates in its
 * loop the STATUS is never answered (the watchdog fails the test). */
static void test_cold_off_loop(void **st)
{
    (void)st;
    struct cvt_snap before;
    struct cvd_status_row row;
    int out_a, out_b;
    cvt_snapshot(&before);
    daemon_pool = "web=1";
    hold_creates = true;
    start_daemon(); /* the pool filled before anyone holds */
    int hl = hold_listen();
    int sock_a = dconnect();
    start_run(sock_a, sleeper30, &out_a); /* the warm one */
    int sock_b = dconnect();
    send_run(sock_b, echo_ok, &out_b);
    int h = held_create(hl); /* B's create is in flight, held */
    status_of(&row);         /* answered meanwhile */
    assert_int_equal(row.in_use, 1);
    assert_int_equal(row.misses, 1);
    assert_int_equal(row.hits, 1);
    /* B has no answer yet: its container is not made */
    struct pollfd p = {.fd = sock_b, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);
    hold_end(hl);
    close(h);
    expect_ok(sock_b, out_b, "the RUN whose create was held");
    close(sock_a); /* A's command is killed, its container goes back */
    close(out_a);
    wait_in_use(0);
    assert_serves("a held create");
    stop_daemon();
    hold_creates = false;
    daemon_pool = "web=2";
    cvt_assert_no_leaks(&before, "daemon after a held cold create");
    cvt_snap_free(&before);
}

/* A member's RUN (stdout to a pipe, *out_r) on a connection of its own. */
static int member_send_run(const char *const *argv, int *out_r)
{
    int sock = member_connect();
    send_run(sock, argv, out_r);
    return sock;
}

/* The caps on cold creates in flight: a member's third RUN against an empty
 * pool waits (QUEUED, for its uid) while root's RUNs start; beyond 4 in
 * flight root's waits too (QUEUED, for the daemon). A client that leaves
 * while it waits leaves the queue; one that leaves while its create is in
 * flight gets its container given back once made, and its slot goes to the
 * first RUN in the queue whose uid is under the cap. */
static void test_cold_caps(void **st)
{
    (void)st;
    struct cvt_snap before;
    struct cvd_status_row row;
    int out_a, out_m[3], out_r[3], sock_m[3], sock_r[3], h[COLD_MAX + 1];
    cvt_snapshot(&before);
    daemon_pool = "web=1";
    daemon_group = "4242";
    hold_creates = true;
    start_daemon();
    int hl = hold_listen();
    int sock_a = dconnect();
    start_run(sock_a, sleeper30, &out_a); /* the pool is empty from now on */

    /* the member: two creates in flight, the third waits for its uid */
    for (int i = 0; i < COLD_PER_UID; i++) {
        sock_m[i] = member_send_run(echo_ok, &out_m[i]);
        h[i] = held_create(hl);
    }
    sock_m[2] = member_send_run(echo_ok, &out_m[2]);
    expect_queued(sock_m[2], CVD_QUEUED_UID, 0, "the member's third RUN");
    /* root's RUNs start meanwhile, up to the daemon's cap */
    for (int i = COLD_PER_UID; i < COLD_MAX; i++) {
        sock_r[i - COLD_PER_UID] = dconnect();
        send_run(sock_r[i - COLD_PER_UID], echo_ok, &out_r[i - COLD_PER_UID]);
        h[i] = held_create(hl);
    }
    sock_r[2] = dconnect();
    send_run(sock_r[2], echo_ok, &out_r[2]);
    expect_queued(sock_r[2], 0, 1, "root's RUN beyond the daemon's cap");
    /* the CLI waits through QUEUED (and says so with --debug) */
    int cli_err[2], cli_out[2];
    assert_int_equal(pipe2(cli_err, O_CLOEXEC), 0);
    assert_int_equal(pipe2(cli_out, O_CLOEXEC), 0);
    pid_t cli = fork();
    assert_true(cli >= 0);
    if (cli == 0) {
        if (dup2(cli_out[1], 1) < 0 || dup2(cli_err[1], 2) < 0)
            _exit(127);
        execl(cvt.containerv, "containerv", "--debug", "--socket", sock_path, "run", "--template",
              "web", "--", "/bin/sh", "-c", "echo ok", (char *)NULL);
        _exit(127);
    }
    close(cli_err[1]);
    close(cli_out[1]);
    FILE *cli_log = fdopen(cli_err[0], "r");
    assert_non_null(cli_log);
    char line[512];
    bool told = false;
    while (!told && fgets(line, sizeof(line), cli_log))
        told = strstr(line, "waiting for a cold create (2 ahead; the daemon's slots are busy)");
    if (!told)
        fail_msg("the CLI did not say it waits");
    status_of(&row); /* the loop still serves */
    assert_int_equal(row.misses, COLD_MAX);
    assert_int_equal(row.in_use, 1);

    /* leaving while queued, leaving while the create is in flight */
    close(sock_r[2]);
    close(out_r[2]);
    close(sock_m[0]);
    close(out_m[0]);
    close(h[0]); /* the member's first create ends: its slot goes to its third RUN */
    h[COLD_MAX] = held_create(hl);
    close(h[COLD_MAX]);
    expect_ok(sock_m[2], out_m[2], "the member's queued RUN");
    hold_end(hl);
    for (int i = 1; i < COLD_MAX; i++)
        close(h[i]);
    expect_ok(sock_m[1], out_m[1], "the member's second RUN");
    expect_ok(sock_r[0], out_r[0], "root's first RUN");
    expect_ok(sock_r[1], out_r[1], "root's second RUN");
    int cst;
    assert_int_equal(waitpid(cli, &cst, 0), cli);
    assert_true(WIFEXITED(cst));
    assert_int_equal(WEXITSTATUS(cst), 0);
    char cli_text[16] = "";
    assert_int_equal(read(cli_out[0], cli_text, sizeof(cli_text) - 1), 3);
    assert_string_equal(cli_text, "ok\n");
    close(cli_out[0]);
    fclose(cli_log);
    /* everything came back but A's, the orphaned create's container too */
    wait_in_use(1);
    close(sock_a);
    close(out_a);
    wait_in_use(0);
    assert_serves("the caps on cold creates");
    stop_daemon();
    hold_creates = false;
    daemon_group = NULL;
    daemon_pool = "web=2";
    cvt_assert_no_leaks(&before, "daemon after capped cold creates");
    cvt_snap_free(&before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_malformed, teardown),
        cmocka_unit_test_teardown(test_out_of_state, teardown),
        cmocka_unit_test_teardown(test_flood, teardown),
        cmocka_unit_test_teardown(test_member_fds, teardown),
        cmocka_unit_test_teardown(test_cold_off_loop, teardown),
        cmocka_unit_test_teardown(test_cold_caps, teardown),
    };
    return cvt_main("daemon", tests, sizeof(tests) / sizeof(tests[0]), 280);
}
