/* Starting and reaping the benchmark's processes: clone3 (no glibc fork, no
 * atfork handlers), the same primitive for the floors and for the commands,
 * so that every mode pays the same process-creation cost. */
#include "bench.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

/* In the child: system calls only, then exec. */
__attribute__((noreturn)) static void child_exec(const struct cvb *b, const struct cvb_cmd *c)
{
    setpgid(0, 0); /* a terminal's Ctrl-C reaches the benchmark, which stops cleanly */
    if (c->quiet && (dup2(b->nullfd, 0) < 0 || dup2(b->nullfd, 1) < 0 || dup2(b->errfd, 2) < 0))
        _exit(127);
    execve(c->path, c->argv, environ);
    _exit(127);
}

pid_t cvb_spawn(const struct cvb *b, const struct cvb_cmd *c)
{
    struct clone_args ca = {.flags = c->ns_flags, .exit_signal = SIGCHLD};
    pid_t pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid == 0)
        child_exec(b, c);
    return pid < 0 ? -errno : pid;
}

int cvb_wait(pid_t pid)
{
    int st;
    pid_t r;
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

void cvb_clear_stderr(struct cvb *b)
{
    if (ftruncate(b->errfd, 0) == 0)
        lseek(b->errfd, 0, SEEK_SET);
}

void cvb_read_stderr(struct cvb *b, char *buf, size_t size)
{
    char raw[1024];
    ssize_t n = pread(b->errfd, raw, sizeof(raw) - 1, 0);
    raw[n > 0 ? n : 0] = '\0';
    char *line = raw, *save = NULL;
    /* the first line with something on it */
    for (char *l = strtok_r(raw, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line = l;
        if (strspn(l, " \t\r") != strlen(l))
            break;
    }
    snprintf(buf, size, "%s", line);
}

int cvb_run(struct cvb *b, const struct cvb_cmd *c, uint64_t *ns, char *why, size_t why_size)
{
    if (c->quiet)
        cvb_clear_stderr(b);
    uint64_t t0 = cv_now_ns();
    pid_t pid = cvb_spawn(b, c);
    int code = pid < 0 ? pid : cvb_wait(pid);
    *ns = cv_now_ns() - t0;
    if (code == 0)
        return 0;
    if (code < 0) {
        snprintf(why, why_size, "starting %s: %s", c->path, strerror(-code));
        return code;
    }
    char line[300] = "";
    if (c->quiet)
        cvb_read_stderr(b, line, sizeof(line));
    if (code > 128)
        snprintf(why, why_size, "killed by signal %d%s%s", code - 128, line[0] ? ": " : "", line);
    else
        snprintf(why, why_size, "exit %d%s%s", code, line[0] ? ": " : "", line);
    return -EIO;
}
