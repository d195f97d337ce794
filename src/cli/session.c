/* Run one command in a container: spawn, forward signals, relay a terminal,
 * wait. Shared by run and exec. */
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Signals of the CLI that go to the workload instead. */
static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

/* Where the handler sends them; a signal that comes before the process is
 * known waits in fwd_pending. */
static volatile sig_atomic_t fwd_pidfd = -1;
static volatile sig_atomic_t fwd_pid = -1;
static volatile sig_atomic_t fwd_pending;

static void forward_signal(int sig)
{
    int saved_errno = errno;

    if (fwd_pidfd >= 0)
        syscall(SYS_pidfd_send_signal, (int)fwd_pidfd, sig, NULL, 0u);
    else if (fwd_pid > 0)
        kill((pid_t)fwd_pid, sig);
    else
        fwd_pending = sig;
    errno = saved_errno;
}

/* Handlers (not a blocked mask) so that nothing the library forks from this
 * process inherits a changed signal state: handlers reset at execve. */
void cli_forward_signals_to(void (*handler)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
        sigaction(forwarded_signals[i], &sa, NULL);
}

static void arm_forwarding(pid_t pid, int pidfd)
{
    int pending;

    fwd_pid = pid;
    fwd_pidfd = pidfd;
    pending = fwd_pending;
    fwd_pending = 0;
    if (pending)
        forward_signal(pending);
}

/* The handlers stay: a ^C while the container is torn down must not leave
 * it half removed. They just have nobody to forward to any more. */
static void disarm_forwarding(void)
{
    fwd_pidfd = -1;
    fwd_pid = -1;
}

/* podman's exit codes for a command that cannot be started: 127 when it is
 * not found, 126 when it cannot be invoked (exec, or the working directory
 * or user it needs), 125 when the runtime failed. */
int cli_spawn_exit_code(const struct containerv_error *err)
{
    static const char *const invoke_steps[] = {"spawn.cwd", "spawn.setgroups", "spawn.setgid",
                                               "spawn.setuid"};

    if (strcmp(err->step, "spawn.exec") == 0)
        return err->code == ENOENT || err->code == ENOTDIR ? CLI_EXIT_NOTFOUND : CLI_EXIT_NOEXEC;
    for (size_t i = 0; i < sizeof(invoke_steps) / sizeof(invoke_steps[0]); i++)
        if (strcmp(err->step, invoke_steps[i]) == 0)
            return CLI_EXIT_NOEXEC;
    return CLI_EXIT_RUNTIME;
}

static void fill_spawn_options(const struct cli_session *s, struct containerv_spawn_options *so,
                               int *master)
{
    containerv_spawn_options_init(so);
    so->env = s->env;
    so->cwd = s->cwd;
    so->uid = s->uid;
    so->gid = s->gid;
    if (s->tty) {
        so->tty = true;
        cli_tty_size(&so->rows, &so->cols);
        so->tty_master_fd = master;
    } else {
        so->stdin_fd = s->interactive ? STDIN_FILENO : -1;
        so->stdout_fd = STDOUT_FILENO;
        so->stderr_fd = STDERR_FILENO;
    }
}

/* Wait for the process to end and return its exit code (or 125). */
static int wait_exit(struct containerv_container *c, pid_t pid, int pidfd)
{
    struct containerv_error err;
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int code = CLI_EXIT_RUNTIME, rc;

    /* Sleep on the pidfd, where a forwarded signal is a harmless EINTR. */
    while (pidfd >= 0 && poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
    containerv_error_clear(&err);
    do
        rc = containerv_wait(c, pid, &code, &err);
    while (rc == -EINTR);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return CLI_EXIT_RUNTIME;
    }
    return code;
}

int cli_session_run(struct containerv_container *c, const struct cli_session *s)
{
    struct containerv_spawn_options so;
    struct containerv_error err;
    int master = -1, pidfd, rc, code;
    pid_t pid = -1;

    fill_spawn_options(s, &so, &master);
    cli_forward_signals_to(forward_signal);
    containerv_error_clear(&err);
    rc = containerv_spawn(c, s->argv, &so, &pid, &err);
    if (rc < 0) {
        cli_lib_error(&err, rc);
        return cli_spawn_exit_code(&err);
    }
    pidfd = containerv_process_pidfd(c, pid);
    arm_forwarding(pid, pidfd);
    if (s->debug)
        fprintf(stderr, "containerv: debug: spawned pid %d\n", (int)pid);
    if (s->tty) {
        rc = cli_tty_relay(master, pidfd, s->interactive);
        if (rc < 0 && s->debug)
            fprintf(stderr, "containerv: debug: terminal relay: %s\n", strerror(-rc));
    }
    code = wait_exit(c, pid, pidfd);
    disarm_forwarding();
    if (master >= 0)
        close(master);
    return code;
}
