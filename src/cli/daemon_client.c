/* `containerv run --template NAME` through the pool daemon (docs/daemon.md):
 * send RUN with this process's stdio (or ask for a terminal), forward the
 * signals the CLI gets as SIGNAL messages, relay the terminal, and exit with
 * what EXITED says. */
#include "cli.h"
#include "../daemon/proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>


/* The daemon connection the handler writes SIGNAL to once the command
 * runs; a signal before that waits in fwd_pending. */
static volatile sig_atomic_t fwd_sock = -1;
static volatile sig_atomic_t fwd_pending;

static void send_signal(int sock, int sig)
{
    struct cvd_signal m = {
        .h = {.magic = CVD_MAGIC, .version = CVD_VERSION, .type = CVD_SIGNAL,
              .len = sizeof(struct cvd_signal)},
        .sig = sig,
    };

    (void)send(sock, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void forward_signal(int sig)
{
    int saved_errno = errno;

    if (fwd_sock >= 0)
        send_signal((int)fwd_sock, sig);
    else
        fwd_pending = sig;
    errno = saved_errno;
}

static void arm_forwarding(int sock)
{
    int pending;

    fwd_sock = sock;
    pending = fwd_pending;
    fwd_pending = 0;
    if (pending)
        send_signal(sock, pending);
}

/* Back to the default actions (before a local fallback, which installs its
 * own); a signal that came meanwhile is raised again. */
static void uninstall_forwarding(void)
{
    int pending = fwd_pending;

    fwd_sock = -1;
    fwd_pending = 0;
    cli_forward_signals_to(SIG_DFL);
    if (pending)
        raise(pending);
}

/* The daemon takes from a client that is not root only pipes, sockets,
 * terminals and /dev/null (cvd_fd_refusal). Any other stdio of such
 * a client (a file, a directory) is relayed: a pipe goes to the daemon and
 * a child of the CLI copies between it and the fd, with the client's own
 * rights. */
static pid_t relays[3];
static bool relay_in[3];
static int n_relays;
static off_t stdin_off = -1; /* where a relayed stdin was, for a local start */

static bool passable(int fd)
{
    return geteuid() == 0 || !cvd_fd_refusal(fd);
}

static void copy_out(int from, int to)
{
    char buf[65536];
    ssize_t n;

    while ((n = read(from, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
        for (ssize_t off = 0; n > 0 && off < n;) {
            ssize_t w = write(to, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                _exit(0);
            off += w;
        }
    _exit(0);
}

/* fd itself, or the end of a new pipe whose other end a relay child copies
 * to or from fd (-1 when that fails: the fd is then passed as is and the
 * daemon says why it refuses it). */
static int relay_fd(int fd, bool input)
{
    int p[2];
    pid_t pid;

    if (passable(fd) || n_relays >= 3 || pipe2(p, O_CLOEXEC) < 0)
        return fd;
    if (input)
        stdin_off = lseek(fd, 0, SEEK_CUR);
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return fd;
    }
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        close(input ? p[0] : p[1]);
        if (input)
            copy_out(fd, p[1]);
        copy_out(p[0], fd);
    }
    relay_in[n_relays] = input;
    relays[n_relays++] = pid;
    close(input ? p[1] : p[0]);
    return input ? p[0] : p[1];
}

/* After the command: the input relays are killed (the command is over),
 * the output relays drained to their end; before a local start, all are
 * killed. */
static void end_relays(bool local_start)
{
    for (int i = 0; i < n_relays; i++) {
        int st;
        if (relay_in[i] || local_start)
            kill(relays[i], SIGKILL);
        while (waitpid(relays[i], &st, 0) < 0 && errno == EINTR) {
        }
    }
    n_relays = 0;
    /* a local start reads the file from where it was */
    if (local_start && stdin_off >= 0)
        (void)lseek(STDIN_FILENO, stdin_off, SEEK_SET);
}

/* The RUN message, malloc'd; NULL when it does not fit the protocol. */
static struct cvd_run *build_run(const struct cli_daemon_run *r, size_t *len, int *fds, int *nfds)
{
    size_t blob = 0, argc = 0;
    struct cvd_run *m;

    for (char *const *a = r->argv; *a; a++, argc++)
        blob += strlen(*a) + 1;
    if (argc == 0 || argc > CVD_MAX_ARGS || blob > CVD_MAX_MSG - sizeof(*m) ||
        strlen(r->template_name) >= CVD_NAME_MAX)
        return NULL;
    *len = sizeof(*m) + blob;
    if (!(m = calloc(1, *len)))
        return NULL;
    cvd_hdr_init(&m->h, CVD_RUN, *len);
    m->argc = (uint32_t)argc;
    m->argv_len = (uint32_t)blob;
    cvd_strlcpy(m->template_name, r->template_name, sizeof(m->template_name));
    char *p = (char *)m + sizeof(*m);
    for (char *const *a = r->argv; *a; a++) {
        size_t n = strlen(*a) + 1;
        memcpy(p, *a, n);
        p += n;
    }
    *nfds = 0;
    if (r->tty) {
        m->flags = CVD_RUN_TTY;
        cli_tty_size(&m->rows, &m->cols);
        return m;
    }
    /* as the local start does: stdin only with -i; a closed fd stays /dev/null */
    if (r->interactive && fcntl(STDIN_FILENO, F_GETFD) >= 0) {
        m->flags |= CVD_RUN_STDIN;
        fds[(*nfds)++] = relay_fd(STDIN_FILENO, true);
    }
    if (fcntl(STDOUT_FILENO, F_GETFD) >= 0) {
        m->flags |= CVD_RUN_STDOUT;
        fds[(*nfds)++] = relay_fd(STDOUT_FILENO, false);
    }
    if (fcntl(STDERR_FILENO, F_GETFD) >= 0) {
        m->flags |= CVD_RUN_STDERR;
        fds[(*nfds)++] = relay_fd(STDERR_FILENO, false);
    }
    return m;
}

/* One reply: its type (-1 when the daemon hung up or sent garbage; said
 * unless quiet). */
static int recv_reply(int sock, char *buf, size_t size, int *fds, int *nfds, bool quiet)
{
    ssize_t n = cvd_recv(sock, buf, size, fds, CVD_MAX_FDS, nfds);
    int type = n > 0 ? cvd_check(buf, (size_t)n) : -1;

    if (quiet) {
        /* nothing to say */
    } else if (n == 0 || n == -ECONNRESET) {
        cli_error("run: the daemon closed the connection before the command ended");
    } else if (n < 0) {
        cli_error("run: reading from the daemon: %s", strerror((int)-n));
    } else if (type < 0) {
        cli_error("run: a malformed message from the daemon");
    }
    if (type < 0) {
        for (int i = 0; i < *nfds; i++)
            close(fds[i]);
        *nfds = 0;
    }
    return type;
}

/* An ERROR from the daemon: its message, and the exit code. */
static int daemon_error(const struct cvd_error *e)
{
    struct containerv_error err;

    containerv_error_clear(&err);
    err.code = e->code;
    cvd_strlcpy(err.step, e->step, sizeof(err.step));
    cvd_strlcpy(err.message, e->message, sizeof(err.message));
    cli_error("%s", err.message[0] ? err.message : "the daemon refused the request");
    return e->kind == CVD_ERR_RUNTIME ? cli_spawn_exit_code(&err) : CLI_EXIT_RUNTIME;
}

/* After STARTED: relay the terminal, then wait for EXITED. */
static int follow(int sock, const struct cli_daemon_run *r, int master)
{
    union {
        char buf[sizeof(struct cvd_error) + 64];
        struct cvd_hdr h;
    } u;
    int fds[CVD_MAX_FDS], nfds = 0, type, code = CLI_EXIT_RUNTIME;

    arm_forwarding(sock);
    if (master >= 0) {
        int rc = cli_tty_relay(master, sock, r->interactive);
        if (rc < 0 && r->debug)
            fprintf(stderr, "containerv: debug: terminal relay: %s\n", strerror(-rc));
        close(master);
    }
    type = recv_reply(sock, u.buf, sizeof(u.buf), fds, &nfds, false);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
    if (type == CVD_EXITED)
        code = ((struct cvd_exited *)u.buf)->code;
    else if (type == CVD_ERROR)
        code = daemon_error((struct cvd_error *)u.buf);
    else if (type >= 0)
        cli_error("run: an unexpected message from the daemon");
    fwd_sock = -1;
    return code;
}

/* Send RUN and read the first answer: the exit code, or -1 to start locally. */
static int request(int sock, const struct cli_daemon_run *r, const char *path)
{
    union {
        char buf[sizeof(struct cvd_error) + 64];
        struct cvd_hdr h;
    } u;
    int io[3], nio = 0, fds[CVD_MAX_FDS], nfds = 0, type, rc;
    size_t len = 0;
    struct cvd_run *m = build_run(r, &len, io, &nio);

    if (!m) {
        if (r->debug)
            fprintf(stderr, "containerv: debug: the command does not fit a daemon request: "
                            "starting locally\n");
        return -1;
    }
    cli_forward_signals_to(forward_signal);
    rc = cvd_send(sock, m, len, io, nio);
    free(m);
    for (int i = 0; i < nio; i++)
        if (io[i] > STDERR_FILENO)
            close(io[i]); /* the relays' pipes: the daemon has them now */
    type = recv_reply(sock, u.buf, sizeof(u.buf), fds, &nfds, rc < 0);
    while (rc == 0 && type == CVD_QUEUED && nfds == 0) {
        /* the pool is empty and the daemon's cold creates are all taken:
         * it starts ours when one is free */
        const struct cvd_queued *q = (const struct cvd_queued *)u.buf;
        if (r->debug)
            fprintf(stderr, "containerv: debug: no warm container: waiting for a cold create "
                            "(%u ahead; the %s slots are busy)\n", (unsigned)q->ahead,
                    (q->flags & CVD_QUEUED_UID) ? "uid's" : "daemon's");
        type = recv_reply(sock, u.buf, sizeof(u.buf), fds, &nfds, false);
    }
    if (rc < 0 && type != CVD_ERROR) {
        /* no answer that tells why */
        cli_error("run: sending the request to the daemon on '%s': %s", path, strerror(-rc));
        return CLI_EXIT_RUNTIME;
    }
    if (type == CVD_ERROR && ((struct cvd_error *)u.buf)->kind == CVD_ERR_NOPOOL) {
        if (r->debug)
            fprintf(stderr, "containerv: debug: the daemon on '%s' has no pool for '%s': "
                            "starting locally\n", path, r->template_name);
        uninstall_forwarding();
        return -1;
    }
    if (type == CVD_ERROR)
        return daemon_error((struct cvd_error *)u.buf);
    if (type != CVD_STARTED) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        if (type >= 0)
            cli_error("run: an unexpected message from the daemon");
        return CLI_EXIT_RUNTIME;
    }
    const struct cvd_started *s = (const struct cvd_started *)u.buf;
    bool has_master = (s->flags & CVD_STARTED_TTY) && nfds == 1;
    if (r->tty != has_master || nfds != (has_master ? 1 : 0)) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        cli_error("run: the daemon's answer does not match the request (terminal)");
        send_signal(sock, SIGKILL);
        return CLI_EXIT_RUNTIME;
    }
    if (r->debug)
        fprintf(stderr, "containerv: debug: spawned pid %d through the daemon on '%s'\n",
                (int)s->pid, path);
    return follow(sock, r, has_master ? fds[0] : -1);
}

int cli_daemon_run(const struct cli_global *g, const struct cli_daemon_run *r)
{
    const char *path = cvd_socket_path(g->socket);
    int sock = cvd_connect(path), code;

    if (sock == -ENOENT || sock == -ECONNREFUSED) {
        if (r->debug)
            fprintf(stderr, "containerv: debug: no daemon on '%s' (%s): starting locally\n", path,
                    strerror(-sock));
        return -1;
    }
    if (sock < 0) {
        cli_error("run: cannot reach the daemon on '%s': %s", path, strerror(-sock));
        return CLI_EXIT_RUNTIME;
    }
    code = request(sock, r, path);
    close(sock);
    end_relays(code == -1);
    return code;
}
