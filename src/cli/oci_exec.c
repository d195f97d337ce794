/* runc's exec: another process in a running container (containerv_enter).
 * Its settings default to the container's process in config.json (as
 * runc's do): the environment (with --env added), cwd, user, capabilities,
 * rlimits, no_new_privs and the container's seccomp filter; --process FILE
 * gives a whole process object instead. */
#include "oci.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char exec_usage[] =
    "Usage: containerv exec [OPTIONS] ID [COMMAND [ARG...]]\n"
    "\n"
    "Run another process in a running OCI container (runc's exec). Its settings\n"
    "are the container's process's in config.json unless given here.\n"
    "\n"
    "  -p, --process FILE        the process as an OCI process JSON object\n"
    "  -d, --detach              do not wait for it\n"
    "      --pid-file FILE       write its host pid here\n"
    "  -t, --tty                 a pseudo-terminal\n"
    "      --console-socket SOCK send the terminal's master over this socket\n"
    "      --cwd DIR             working directory\n"
    "  -e, --env NAME=VALUE      add to the environment (repeatable)\n"
    "  -u, --user UID[:GID]      user\n"
    "  -g, --additional-gids G   a supplementary group (repeatable)\n"
    "  -c, --cap CAP             add a capability (repeatable)\n"
    "      --no-new-privs        set no_new_privs\n"
    "      --preserve-fds N      pass fds 3 .. 3+N-1 (at most 8)\n"
    "  -h, --help                show this help\n";

enum { X_PIDFILE = 0x300, X_CONSOLE, X_CWD, X_NNP, X_PRESERVE, X_LABEL, X_APPARMOR, X_IGNORE_PAUSED, X_CGROUP };

struct exec_args {
    const char *process, *pid_file, *console, *cwd, *user, *id;
    const char *env[256];
    size_t n_env;
    gid_t gids[64];
    size_t n_gids;
    uint64_t add_caps;
    bool detach, tty, nnp, ignore_paused;
    unsigned preserve;
    char **argv;
};

static int parse(const struct oci_ctx *x, int argc, char **argv, struct exec_args *a)
{
    static const struct option opts[] = {
        {"process", required_argument, NULL, 'p'},     {"detach", no_argument, NULL, 'd'},
        {"pid-file", required_argument, NULL, X_PIDFILE}, {"tty", no_argument, NULL, 't'},
        {"console-socket", required_argument, NULL, X_CONSOLE}, {"cwd", required_argument, NULL, X_CWD},
        {"env", required_argument, NULL, 'e'},          {"user", required_argument, NULL, 'u'},
        {"additional-gids", required_argument, NULL, 'g'}, {"cap", required_argument, NULL, 'c'},
        {"no-new-privs", no_argument, NULL, X_NNP},     {"preserve-fds", required_argument, NULL, X_PRESERVE},
        {"process-label", required_argument, NULL, X_LABEL}, {"apparmor", required_argument, NULL, X_APPARMOR},
        {"ignore-paused", no_argument, NULL, X_IGNORE_PAUSED}, {"cgroup", required_argument, NULL, X_CGROUP},
        {"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0},
    };
    int opt;
    uint32_t v;
    memset(a, 0, sizeof(*a));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:p:dte:u:g:c:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p': a->process = optarg; break;
        case 'd': a->detach = true; break;
        case X_PIDFILE: a->pid_file = optarg; break;
        case 't': a->tty = true; break;
        case X_CONSOLE: a->console = optarg; break;
        case X_CWD:
            if (optarg[0] != '/') {
                oci_error(x, "--cwd: want an absolute path, not '%s'", optarg);
                return 1;
            }
            a->cwd = optarg;
            break;
        case 'e':
            if (!strchr(optarg, '=') || a->n_env >= 255) {
                oci_error(x, "--env: want NAME=VALUE (at most 255), not '%s'", optarg);
                return 1;
            }
            a->env[a->n_env++] = optarg;
            break;
        case 'u': a->user = optarg; break;
        case 'g':
            if (!cli_parse_u32(optarg, &v) || v == UINT32_MAX || a->n_gids >= 64) {
                oci_error(x, "--additional-gids: want a group id (at most 64), not '%s'", optarg);
                return 1;
            }
            a->gids[a->n_gids++] = v;
            break;
        case 'c': {
            int cap = oci_cap_number(optarg);
            if (cap < 0) {
                oci_error(x, "--cap: unknown capability '%s'", optarg);
                return 1;
            }
            a->add_caps |= 1ull << cap;
            break;
        }
        case X_NNP: a->nnp = true; break;
        case X_PRESERVE:
            if (!cli_parse_u32(optarg, &a->preserve) || a->preserve > 8) {
                oci_error(x, "--preserve-fds: want 0 to 8, not '%s'", optarg);
                return 1;
            }
            break;
        case X_LABEL: case X_APPARMOR:
            if (*optarg) {
                oci_error(x, "exec: %s is not supported (no LSM support)", opt == X_LABEL ? "--process-label" : "--apparmor");
                return 1;
            }
            break;
        case X_IGNORE_PAUSED: a->ignore_paused = true; break;
        case X_CGROUP:
            oci_error(x, "exec --cgroup: a sub-cgroup is not supported");
            return 1;
        case 'h': cli_usage(exec_usage); return 0;
        default: cli_getopt_error("exec", opt, argv); return 1;
        }
    }
    if (optind >= argc) {
        oci_error(x, "exec: a container id is required");
        return 1;
    }
    a->id = argv[optind];
    a->argv = argv + optind + 1;
    if (!a->process && !a->argv[0]) {
        oci_error(x, "exec: give a command or --process FILE");
        return 1;
    }
    if (a->process && a->argv[0]) {
        oci_error(x, "exec: give a command or --process FILE, not both");
        return 1;
    }
    if (oci_check_preserved(x, a->preserve) < 0)
        return 1;
    if (a->console && !a->tty && !a->process) {
        oci_error(x, "exec: --console-socket needs --tty");
        return 1;
    }
    return -1;
}

/* The spec whose process is run: the stored config's, or a config made of
 * --process FILE around it. */
static int process_spec(const struct oci_ctx *x, const struct exec_args *a, const struct oci_spec *stored,
                        struct oci_spec *s)
{
    memset(s, 0, sizeof(*s));
    if (!a->process)
        return 0;
    char err[512];
    int fd = open(a->process, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
        oci_error(x, "--process: '%s': %s", a->process, fd < 0 ? strerror(errno) : "not a regular file of at most 1 MiB");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* the process object inside a config, parsed as a config is (its
     * uint64 numbers too); the text after the object is the parser's to refuse */
    static const char head[] = "{\"ociVersion\": \"1.0.0\", \"root\": {\"path\": \"rootfs\"}, \"process\": ";
    size_t hl = strlen(head), n = (size_t)st.st_size;
    char *text = malloc(hl + n + 3);
    ssize_t got = text ? pread(fd, text + hl, n, 0) : -1;
    close(fd);
    if (got != (ssize_t)n) {
        free(text);
        oci_error(x, "--process: cannot read '%s'", a->process);
        return -1;
    }
    /* one JSON object and nothing else (so that nothing of it lands
     * outside "process"): checked with numbers as reals, which hold any */
    json_t *whole = json_loadb(text + hl, n, JSON_DECODE_INT_AS_REAL | JSON_REJECT_DUPLICATES, NULL);
    bool object = json_is_object(whole);
    json_decref(whole);
    if (!object) {
        free(text);
        oci_error(x, "--process: '%s' is not one JSON object", a->process);
        return -1;
    }
    memcpy(text, head, hl);
    memcpy(text + hl + n, "\n}", 3);
    int r = oci_spec_parse(text, hl + n + 2, s, err, sizeof(err));
    free(text);
    (void)stored;
    if (r < 0) {
        oci_error(x, "--process: '%s': %s", a->process, err);
        return -1;
    }
    return 0;
}

static int wait_child(pid_t pid)
{
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, 0);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return 1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static pid_t forward_to = -1;

static void forward(int sig)
{
    if (forward_to > 0)
        kill(forward_to, sig);
}

int cmd_oci_exec(const struct oci_ctx *x, int argc, char **argv)
{
    struct exec_args a;
    int rc = parse(x, argc, argv, &a);
    if (rc >= 0)
        return rc;
    const char *status = oci_status(x, a.id);
    if (!status) {
        oci_error(x, "container does not exist: %s", a.id);
        return 1;
    }
    if (strcmp(status, "running") && strcmp(status, "created") && (strcmp(status, "paused") || !a.ignore_paused)) {
        oci_error(x, "exec: container %s is %s%s", a.id, status,
                  strcmp(status, "paused") ? "" : " (--ignore-paused to exec all the same)");
        return 1;
    }
    struct oci_spec stored, given;
    memset(&given, 0, sizeof(given));
    if (oci_load_config(x, a.id, &stored) < 0) {
        oci_spec_free(&stored);
        return 1;
    }
    rc = 1;
    struct oci_build b = {0};
    const char *env[256 + 4096 + 1];
    size_t n = 0;
    int master = -1;
    if (process_spec(x, &a, &stored, &given) < 0)
        goto out;
    struct oci_spec *s = a.process ? &given : &stored;
    if (a.process)
        s->seccomp = stored.seccomp; /* the container's filter, borrowed */
    if (oci_build_process(x, s, &b) < 0)
        goto out;
    struct containerv_main_process *p = &b.main;
    if (!a.process) {
        p->argv = (const char *const *)a.argv;
        p->tty = a.tty;
        for (size_t i = 0; s->env && s->env[i] && n < 4096; i++)
            env[n++] = s->env[i];
        for (size_t i = 0; i < a.n_env; i++)
            env[n++] = a.env[i];
        env[n] = NULL;
        p->env = env;
        if (a.cwd)
            p->cwd = a.cwd;
        if (a.user) {
            int64_t uid, gid;
            if (!cli_parse_user(a.user, &uid, &gid)) {
                oci_error(x, "--user: want UID[:GID], not '%s'", a.user);
                goto out;
            }
            p->uid = uid;
            p->gid = gid >= 0 ? gid : 0;
        }
        if (a.n_gids) {
            p->groups = a.gids;
            p->n_groups = a.n_gids;
        }
        if (a.add_caps) {
            p->set_caps = true;
            p->caps_bounding |= a.add_caps;
            p->caps_effective |= a.add_caps;
            p->caps_permitted |= a.add_caps;
            p->caps_inheritable |= a.add_caps;
            p->caps_ambient |= a.add_caps;
        }
        if (a.nnp)
            p->no_new_privs = true;
    }
    if (p->tty && a.detach && !a.console) {
        oci_error(x, "exec: a detached process with a terminal needs --console-socket");
        goto out;
    }
    int extra[8];
    for (unsigned i = 0; i < a.preserve; i++)
        extra[i] = 3 + (int)i;
    p->extra_fds = extra;
    p->n_extra_fds = (int)a.preserve;
    if (!p->tty) {
        p->stdin_fd = 0;
        p->stdout_fd = 1;
        p->stderr_fd = 2;
    } else {
        unsigned short rows = 0, cols = 0;
        cli_tty_size(&rows, &cols);
        if (!p->rows) {
            p->rows = rows;
            p->cols = cols;
        }
    }
    p->tty_master_fd = &master;
    /* the process is our child: reap it even when a go-between is in the way */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    struct containerv_error e;
    pid_t pid = -1;
    int r = containerv_enter(x->lib_dir, a.id, p, &pid, &e);
    if (r < 0) {
        oci_error(x, "%s", e.message[0] ? e.message : strerror(-r));
        goto out;
    }
    if (a.pid_file && oci_write_pid_file(x, a.pid_file, pid) < 0) {
        kill(pid, SIGKILL);
        wait_child(pid);
        goto out;
    }
    if (master >= 0 && a.console) {
        if (oci_send_console(x, a.console, master) < 0) {
            kill(pid, SIGKILL);
            wait_child(pid);
            goto out;
        }
        close(master);
        master = -1;
    }
    if (a.detach) {
        rc = 0;
        goto out;
    }
    forward_to = pid;
    cli_forward_signals_to(forward);
    if (master >= 0) {
        int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd >= 0) {
            cli_tty_relay(master, pidfd, isatty(0));
            close(pidfd);
        }
    }
    rc = wait_child(pid);
    cli_forward_signals_to(SIG_DFL);
out:
    if (master >= 0)
        close(master);
    oci_build_free(&b);
    oci_spec_free(&given);
    oci_spec_free(&stored);
    return rc;
}
