/* The runtime-spec's hooks: each a program run with the container's state
 * JSON on its stdin, waited for (its timeout kills it), in order; a
 * createRuntime, createContainer or startContainer hook that fails fails
 * the verb, a poststart or poststop one is a warning (as the spec says). */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const kind_names[OCI_HOOK_KINDS] = {"prestart",       "createRuntime", "createContainer",
                                                       "startContainer", "poststart",     "poststop"};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* 0, or -1 with *why set */
static int wait_hook(const struct oci_hook *h, pid_t pid, char *why, size_t n);

/* feed the state to the hook's stdin, then EOF; a hook that does not read it gets EPIPE, not us */
static void feed(int fd, const char *state)
{
    signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(state), off = 0;
    while (off < len) {
        ssize_t w = write(fd, state + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
}

/* A host hook (prestart, createRuntime, poststart, poststop; createContainer
 * with pidfd: in the container's network, ipc and uts namespaces). */
static int run_one(const struct oci_hook *h, const char *state, int pidfd, char *why, size_t n)
{
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        snprintf(why, n, "pipe: %s", strerror(errno));
        return -1;
    }
    /* the host's program, opened before anything is entered */
    int exe = open(h->path, O_PATH | O_CLOEXEC);
    if (exe < 0) {
        snprintf(why, n, "%s: %s", h->path, strerror(errno));
        close(in[0]);
        close(in[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, n, "fork: %s", strerror(errno));
        close(in[0]);
        close(in[1]);
        if (exe >= 0)
            close(exe);
        return -1;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(in[0], 0) < 0)
            _exit(126);
        /* createContainer: the container's network, ipc and uts namespaces,
         * the host's mount namespace (so that the hook's interpreter and
         * libraries are the host's, never the image's: docs/oci.md) */
        if (pidfd >= 0 && setns(pidfd, CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0)
            _exit(126);
        /* nothing of the runtime's but stdio and the program */
        if (dup2(exe, 3) < 0)
            _exit(126);
        syscall(SYS_close_range, 4, ~0u, 0);
        static const char *const empty[] = {NULL};
        const char *const def[] = {h->path, NULL};
        const char *const *argv = h->args && h->args[0] ? h->args : def;
        const char *const *envp = h->env ? h->env : empty;
        /* a script's interpreter opens /dev/fd/3: it stays open */
        syscall(SYS_execveat, 3, "", argv, envp, AT_EMPTY_PATH);
        _exit(127);
    }
    close(in[0]);
    close(exe);
    feed(in[1], state);
    return wait_hook(h, pid, why, n);
}

/* wait for a hook's process, killing it at its timeout */
static int wait_hook(const struct oci_hook *h, pid_t pid, char *why, size_t n)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    uint64_t deadline = h->timeout ? now_ms() + (uint64_t)h->timeout * 1000 : 0;
    bool timed_out = false;
    while (pfd >= 0) {
        int wait_ms = deadline ? (int)(deadline > now_ms() ? deadline - now_ms() : 0) : -1;
        struct pollfd p = {.fd = pfd, .events = POLLIN};
        int r = poll(&p, 1, wait_ms);
        if (r > 0)
            break;
        if (r == 0) {
            kill(pid, SIGKILL);
            timed_out = true;
            break;
        }
        if (errno != EINTR)
            break;
    }
    if (pfd >= 0)
        close(pfd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (timed_out) {
        snprintf(why, n, "%s: timed out after %d s", h->path, h->timeout);
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(why, n, "%s exited with %d", h->path, WEXITSTATUS(status));
    else
        snprintf(why, n, "%s killed by signal %d", h->path, WTERMSIG(status));
    return -1;
}

/* startContainer: in the container, as a process of it (containerv_enter:
 * every namespace, the cgroup, the container's process's capabilities,
 * user, no_new_privs and seccomp), from the container's path */
static int run_in_container(const struct oci_ctx *x, const struct oci_spec *s, const char *id, const struct oci_hook *h,
                            const char *state, char *why, size_t n)
{
    struct oci_build b;
    memset(&b, 0, sizeof(b));
    if (oci_build_process(x, s, &b) < 0) {
        snprintf(why, n, "the container's process settings");
        return -1;
    }
    static const char *const no_env[] = {NULL};
    const char *const def[] = {h->path, NULL};
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        snprintf(why, n, "pipe: %s", strerror(errno));
        oci_build_free(&b);
        return -1;
    }
    b.main.argv = h->args && h->args[0] ? h->args : def;
    b.main.env = h->env ? h->env : no_env;
    b.main.cwd = "/";
    b.main.tty = false;
    b.main.stdin_fd = in[0];
    b.main.stderr_fd = 2;
    pid_t pid = -1;
    struct containerv_error e;
    int r = containerv_enter(x->lib_dir, id, &b.main, &pid, &e);
    close(in[0]);
    oci_build_free(&b);
    if (r < 0) {
        close(in[1]);
        snprintf(why, n, "%s", e.message);
        return -1;
    }
    feed(in[1], state);
    return wait_hook(h, pid, why, n);
}

int oci_run_hooks(const struct oci_ctx *x, const struct oci_spec *s, enum oci_hook_kind kind, const char *state,
                  int pidfd, const char *id)
{
    bool fatal = kind != OCI_HOOK_POSTSTART && kind != OCI_HOOK_POSTSTOP;
    int rc = 0;
    for (size_t i = 0; i < s->n_hooks[kind]; i++) {
        char why[512];
        oci_debug(x, "hook %s[%zu]: %s", kind_names[kind], i, s->hooks[kind][i].path);
        int r = kind == OCI_HOOK_START_CONTAINER ? run_in_container(x, s, id, &s->hooks[kind][i], state, why, sizeof(why))
                                                 : run_one(&s->hooks[kind][i], state, pidfd, why, sizeof(why));
        if (r == 0)
            continue;
        if (fatal) {
            oci_error(x, "hooks.%s[%zu]: %s", kind_names[kind], i, why);
            return -1;
        }
        oci_warn(x, "hooks.%s[%zu]: %s", kind_names[kind], i, why);
        rc = 0;
    }
    return rc;
}
