/* The OCI runtime command line: runc's verbs and flags, so that podman
 * (--runtime), containerd (BinaryName) and runtime-tools drive containerv.
 * One binary: an OCI call is told from containerv's own by runc's global
 * flags, its verbs or their flags (docs/oci.md, "Which CLI"). A container is
 * the library's, made with the bundle's rootfs in place and a main process
 * that the init holds until `start` and then becomes (pid 1, the pid of
 * --pid-file and of `state`); no runtime process stays. State: <root>/<id>/
 * (state.json, config.json), the library's runtime dir <root>/lib. */
#include "oci.h"

#include "../linux/cgroup/cgroup.h"
#include "../linux/linux.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OCI_VERSION "1.2.0"
#define OCI_EXIT 1 /* runc's exit code for every failure */

/* ------------------------------------------------------------ messages */

static void log_line(const struct oci_ctx *x, const char *level, const char *msg)
{
    if (!x || !x->log)
        return;
    int fd = open(x->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    char *line = NULL;
    if (x->log_json) {
        json_t *j = json_pack("{s:s,s:s,s:s+}", "level", level, "msg", msg, "time", when, "Z");
        char *t = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (t && asprintf(&line, "%s\n", t) < 0)
            line = NULL;
        free(t);
    } else if (asprintf(&line, "time=\"%sZ\" level=%s msg=\"%s\"\n", when, level, msg) < 0) {
        line = NULL;
    }
    if (line && write(fd, line, strlen(line)) < 0) {
        /* nothing more to tell: stderr has it */
    }
    free(line);
    close(fd);
}

/* one line on stderr ("containerv: [prefix]msg") and in the --log file */
static void say(const struct oci_ctx *x, const char *level, const char *prefix, const char *fmt, va_list ap)
{
    char msg[2048];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "containerv: %s%s\n", prefix, msg);
    log_line(x, level, msg);
}

void oci_error(const struct oci_ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(x, "error", "", fmt, ap);
    va_end(ap);
}

void oci_warn(const struct oci_ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(x, "warning", "warning: ", fmt, ap);
    va_end(ap);
}

void oci_debug(const struct oci_ctx *x, const char *fmt, ...)
{
    if (!x || !x->debug)
        return;
    va_list ap;
    va_start(ap, fmt);
    say(x, "debug", "debug: ", fmt, ap);
    va_end(ap);
}

static void lib_error(const struct oci_ctx *x, const struct containerv_error *err, int rc)
{
    oci_error(x, "%s", err && err->message[0] ? err->message : strerror(rc < 0 ? -rc : rc));
}

/* ------------------------------------------------------------ state */

struct oci_state {
    char id[CV_ID_MAX + 1];
    pid_t pid;             /* the container's process (the init until start) */
    int64_t start_time;    /* its /proc stat field 22 */
    pid_t runtime_pid;     /* the create that is still making it */
    int64_t runtime_start;
    bool creating, started;
    unsigned hooks;        /* 1 << enum oci_hook_kind of the hooks the config has */
    char bundle[PATH_MAX];
    char created[40];      /* RFC 3339 */
    json_t *annotations;   /* owned */
    const char *lib_dir;   /* the library's runtime dir (x->lib_dir): the container's cgroup is in its state */
};

enum oci_status { ST_CREATING, ST_CREATED, ST_RUNNING, ST_PAUSED, ST_STOPPED };
static const char *const status_names[] = {"creating", "created", "running", "paused", "stopped"};

static int64_t start_time_of(pid_t pid, bool *zombie)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -1;
    if (zombie)
        *zombie = p[2] == 'Z' || p[2] == 'X';
    /* field 3 is the state, 22 the start time */
    int field = 2;
    for (p += 1; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return field == 22 ? strtoll(p, NULL, 10) : -1;
}

static bool pid_is(pid_t pid, int64_t start)
{
    bool zombie = false;
    return pid > 0 && start >= 0 && start_time_of(pid, &zombie) == start && !zombie;
}

static int state_path(const struct oci_ctx *x, const char *id, const char *file, char *out, size_t n)
{
    int len = snprintf(out, n, "%s/%s%s%s", x->root, id, file ? "/" : "", file ? file : "");
    return len < 0 || (size_t)len >= n ? -1 : 0;
}

static char *read_text(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        int e = !S_ISREG(st.st_mode) ? EINVAL : EFBIG;
        close(fd);
        errno = e;
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t off = 0;
    while (buf && off < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    if (!buf)
        return NULL;
    buf[off] = '\0';
    *len = off;
    return buf;
}

static int write_atomic(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
    unlink(tmp); /* a leftover of a killed run of this pid; a symlink is never followed */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t r = write(fd, text + off, len - off);
        if (r <= 0) {
            int e = r < 0 ? errno : EIO;
            close(fd);
            unlink(tmp);
            return -e;
        }
        off += (size_t)r;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return -e;
    }
    return 0;
}

static int state_save(const struct oci_ctx *x, const struct oci_state *st)
{
    char path[PATH_MAX];
    if (state_path(x, st->id, "state.json", path, sizeof(path)) < 0)
        return -ENAMETOOLONG;
    json_t *j = json_pack("{s:s,s:i,s:I,s:i,s:I,s:b,s:b,s:i,s:s,s:s,s:o}", "id", st->id, "pid", (int)st->pid,
                          "start_time", (json_int_t)st->start_time, "runtime_pid", (int)st->runtime_pid,
                          "runtime_start", (json_int_t)st->runtime_start, "creating", st->creating, "started",
                          st->started, "hooks", (int)st->hooks, "bundle", st->bundle, "created", st->created,
                          "annotations",
                          st->annotations ? json_incref(st->annotations) : json_object());
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return -ENOMEM;
    int r = write_atomic(path, text, 0600);
    free(text);
    return r;
}

static void state_free(struct oci_state *st)
{
    if (st->annotations)
        json_decref(st->annotations);
    st->annotations = NULL;
}

/* 0, -ENOENT when there is no such container, -EBADMSG when its state is broken */
static int state_load(const struct oci_ctx *x, const char *id, struct oci_state *st)
{
    memset(st, 0, sizeof(*st));
    st->lib_dir = x->lib_dir;
    char path[PATH_MAX];
    if (!cv_valid_id(id) || state_path(x, id, "state.json", path, sizeof(path)) < 0)
        return -ENOENT;
    size_t len;
    char *text = read_text(path, 1 << 20, &len);
    if (!text)
        return errno == ENOENT ? -ENOENT : -EBADMSG;
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    json_t *ann = NULL;
    const char *bundle = NULL, *created = NULL;
    int pid = 0, rpid = 0, creating = 0, started = 0, hooks = 0;
    json_int_t start = -1, rstart = -1;
    if (!j || json_unpack(j, "{s:i,s:I,s:i,s:I,s:b,s:b,s:i,s:s,s:s,s?o}", "pid", &pid, "start_time", &start,
                          "runtime_pid", &rpid, "runtime_start", &rstart, "creating", &creating, "started", &started,
                          "hooks", &hooks, "bundle", &bundle, "created", &created, "annotations", &ann) < 0) {
        json_decref(j);
        return -EBADMSG;
    }
    snprintf(st->id, sizeof(st->id), "%s", id);
    st->pid = pid;
    st->start_time = start;
    st->runtime_pid = rpid;
    st->runtime_start = rstart;
    st->creating = creating;
    st->started = started;
    st->hooks = (unsigned)hooks;
    snprintf(st->bundle, sizeof(st->bundle), "%s", bundle);
    snprintf(st->created, sizeof(st->created), "%s", created);
    st->annotations = ann ? json_incref(ann) : NULL;
    json_decref(j);
    return 0;
}

static bool frozen(const struct oci_state *st)
{
    struct cv_cgroup cg;
    if (cv_state_open_cgroup(st->lib_dir, st->id, &cg, NULL) < 0)
        return false;
    int dir = cv_cgroup_open_dir(&cg, CV_V1_FREEZER);
    bool v2 = cg.mode == CV_CGROUP_V2;
    cv_cgroup_close(&cg);
    if (dir < 0)
        return false;
    char buf[32] = "";
    int fd = openat(dir, v2 ? "cgroup.freeze" : "freezer.state", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    close(dir);
    buf[n > 0 ? n : 0] = '\0';
    return v2 ? buf[0] == '1' : !strncmp(buf, "FROZEN", 6) || !strncmp(buf, "FREEZING", 8);
}

/* paused: whether to look at the freezer (it costs the cgroup probe: a
 * read of /proc/self/mountinfo), for the verbs that tell paused apart */
static enum oci_status status_of_ex(const struct oci_state *st, bool paused)
{
    if (st->creating)
        return pid_is(st->runtime_pid, st->runtime_start) ? ST_CREATING : ST_STOPPED;
    if (!pid_is(st->pid, st->start_time))
        return ST_STOPPED;
    if (paused && frozen(st))
        return ST_PAUSED;
    return st->started ? ST_RUNNING : ST_CREATED;
}

static enum oci_status status_of(const struct oci_state *st)
{
    return status_of_ex(st, true);
}

/* The runtime-spec's state, as `state` prints it and hooks read it. */
static char *state_json(const struct oci_state *st, enum oci_status status, bool pretty)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:s,s:o}", "ociVersion", OCI_VERSION, "id", st->id, "status",
                          status_names[status], "pid", status == ST_STOPPED ? 0 : (int)st->pid, "bundle", st->bundle,
                          "created", st->created, "owner", "", "annotations",
                          st->annotations ? json_incref(st->annotations) : json_object());
    char *text = j ? json_dumps(j, pretty ? JSON_INDENT(2) | JSON_PRESERVE_ORDER : JSON_COMPACT | JSON_PRESERVE_ORDER)
                   : NULL;
    json_decref(j);
    return text;
}

static void now_rfc3339(char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%09ldZ", base, ts.tv_nsec);
}

/* 0711: a container with a user namespace (its root mapped to another
 * uid) must pass through to its rootfs under lib/; nobody may list it */
static int mkdir_private(const char *path)
{
    if (mkdir(path, 0711) == 0)
        return 0;
    if (errno != EEXIST)
        return -errno;
    struct stat st;
    if (lstat(path, &st) < 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if ((st.st_mode & 07777) != 0711 && st.st_uid == geteuid() && chmod(path, 0711) < 0)
        return -errno;
    return 0;
}

static void remove_state_dir(const struct oci_ctx *x, const char *id)
{
    char path[PATH_MAX];
    static const char *const files[] = {"state.json", "config.json", NULL};
    for (int i = 0; files[i]; i++)
        if (state_path(x, id, files[i], path, sizeof(path)) == 0)
            unlink(path);
    if (state_path(x, id, NULL, path, sizeof(path)) == 0)
        rmdir(path);
}

/* The stored config of a container (for hooks at start and delete). */
int oci_load_config(const struct oci_ctx *x, const char *id, struct oci_spec *s)
{
    char path[PATH_MAX], err[512];
    size_t len;
    if (state_path(x, id, "config.json", path, sizeof(path)) < 0)
        return -1;
    char *text = read_text(path, 16 << 20, &len);
    if (!text) {
        memset(s, 0, sizeof(*s));
        oci_error(x, "container '%s': its config is gone (%s)", id, strerror(errno));
        return -1;
    }
    int r = oci_spec_parse(text, len, s, err, sizeof(err));
    free(text);
    if (r < 0)
        oci_error(x, "container '%s': its stored config: %s", id, err);
    return r;
}

/* ------------------------------------------------------------ helpers */

static int parse_signal(const char *text)
{
    static const struct {
        const char *name;
        int sig;
    } t[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ILL", SIGILL},     {"TRAP", SIGTRAP},
        {"ABRT", SIGABRT}, {"BUS", SIGBUS},   {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1},
        {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM},
        {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN},
        {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM},
        {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},   {"PWR", SIGPWR},     {"SYS", SIGSYS},
    };
    uint32_t n;
    if (cli_parse_u32(text, &n))
        return n >= 1 && n < (uint32_t)_NSIG ? (int)n : -1;
    const char *name = strncasecmp(text, "SIG", 3) ? text : text + 3;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcasecmp(name, t[i].name))
            return t[i].sig;
    return -1;
}

/* A pidfd of the container's process, checked to be it (not a reused pid). */
static int open_process(const struct oci_state *st)
{
    int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (fd < 0)
        return -errno;
    if (!pid_is(st->pid, st->start_time)) {
        close(fd);
        return -ESRCH;
    }
    return fd;
}

/* Wait until the pidfd's process has exited (at most ms; -1: no bound). */
static bool wait_gone(int pidfd, int ms)
{
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int r;
    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    return r > 0;
}

int oci_send_console(const struct oci_ctx *x, const char *sock, int master)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(sa.sun_path)) {
        oci_error(x, "--console-socket: path too long: '%s'", sock);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        oci_error(x, "--console-socket: cannot connect to '%s': %s", sock, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    unsigned n = 0;
    char name[64] = "/dev/ptmx";
    if (ioctl(master, TIOCGPTN, &n) == 0)
        snprintf(name, sizeof(name), "/dev/pts/%u", n);
    int r = cv_send_fds(fd, name, strlen(name), &master, 1);
    close(fd);
    if (r < 0) {
        oci_error(x, "--console-socket: sending the terminal to '%s': %s", sock, strerror(-r));
        return -1;
    }
    return 0;
}

int oci_write_pid_file(const struct oci_ctx *x, const char *path, pid_t pid)
{
    char text[32], abs[PATH_MAX];
    snprintf(text, sizeof(text), "%d", (int)pid);
    if (path[0] != '/') {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) {
            oci_error(x, "--pid-file: %s", strerror(errno));
            return -1;
        }
        snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
        path = abs;
    }
    int r = write_atomic(path, text, 0644);
    if (r < 0) {
        oci_error(x, "--pid-file: cannot write '%s': %s", path, strerror(-r));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ create */

const char *oci_status(const struct oci_ctx *x, const char *id)
{
    struct oci_state st;
    if (state_load(x, id, &st) < 0)
        return NULL;
    const char *name = status_names[status_of(&st)];
    state_free(&st);
    return name;
}

bool oci_valid_id(const char *id)
{
    /* lib and seccomp are directories of --root itself */
    return cv_valid_id(id) && strcmp(id, "lib") && strcmp(id, "seccomp");
}

int oci_check_preserved(const struct oci_ctx *x, unsigned n)
{
    /* checked before anything is opened: an fd the caller did not pass
     * would otherwise be one of the runtime's own, handed to the container */
    for (unsigned i = 0; i < n; i++)
        if (fcntl(3 + (int)i, F_GETFD) < 0) {
            oci_error(x, "--preserve-fds %u: fd %u is not open", n, 3 + i);
            return -1;
        }
    return 0;
}

struct create_args {
    const char *bundle, *pid_file, *console_socket, *id;
    unsigned preserve_fds;
    bool detach, keep;
};

static const char create_usage[] =
    "Usage: containerv create [OPTIONS] ID\n"
    "\n"
    "Create a container from an OCI bundle (runc's create): the container exists and\n"
    "its process is prepared but not started; 'containerv start ID' runs it.\n"
    "\n"
    "  -b, --bundle DIR          the bundle (default: the working directory)\n"
    "      --pid-file FILE       write the container process's host pid here\n"
    "      --console-socket SOCK send the terminal's master over this socket\n"
    "      --preserve-fds N      pass fds 3 .. 3+N-1 to the process (at most 8)\n"
    "      --no-pivot            accepted (the root is always pivoted)\n"
    "      --no-new-keyring      accepted (no session keyring is made)\n"
    "  -h, --help                show this help\n";

static const char run_usage[] =
    "Usage: containerv run [OPTIONS] ID\n"
    "\n"
    "Create and start a container from an OCI bundle (runc's run), wait for its\n"
    "process and exit with its status, then delete it.\n"
    "\n"
    "  -b, --bundle DIR          the bundle (default: the working directory)\n"
    "  -d, --detach              do not wait: leave it running\n"
    "      --keep                do not delete the container after it exits\n"
    "      --pid-file FILE       write the container process's host pid here\n"
    "      --console-socket SOCK send the terminal's master over this socket\n"
    "      --preserve-fds N      pass fds 3 .. 3+N-1 to the process (at most 8)\n"
    "      --no-pivot            accepted (the root is always pivoted)\n"
    "      --no-new-keyring      accepted (no session keyring is made)\n"
    "  -h, --help                show this help\n";

enum { O_PIDFILE = 0x200, O_CONSOLE, O_PRESERVE, O_NOPIVOT, O_NOKEYRING, O_KEEP };

/* -1 to go on, else the exit code */
static int parse_create_args(const struct oci_ctx *x, int argc, char **argv, bool run, struct create_args *a)
{
    static const struct option opts[] = {
        {"bundle", required_argument, NULL, 'b'},       {"pid-file", required_argument, NULL, O_PIDFILE},
        {"console-socket", required_argument, NULL, O_CONSOLE}, {"preserve-fds", required_argument, NULL, O_PRESERVE},
        {"no-pivot", no_argument, NULL, O_NOPIVOT},     {"no-new-keyring", no_argument, NULL, O_NOKEYRING},
        {"detach", no_argument, NULL, 'd'},             {"keep", no_argument, NULL, O_KEEP},
        {"help", no_argument, NULL, 'h'},               {NULL, 0, NULL, 0},
    };
    int opt;
    memset(a, 0, sizeof(*a));
    a->bundle = ".";
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, run ? "+:b:dh" : "+:b:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'b': a->bundle = optarg; break;
        case O_PIDFILE: a->pid_file = optarg; break;
        case O_CONSOLE: a->console_socket = optarg; break;
        case O_PRESERVE:
            if (!cli_parse_u32(optarg, &a->preserve_fds) || a->preserve_fds > 8) {
                oci_error(x, "--preserve-fds: want 0 to 8, not '%s'", optarg);
                return OCI_EXIT;
            }
            break;
        case O_NOPIVOT: case O_NOKEYRING: break;
        case 'd':
            if (!run)
                goto unknown;
            a->detach = true;
            break;
        case O_KEEP:
            if (!run)
                goto unknown;
            a->keep = true;
            break;
        case 'h': return cli_usage(run ? run_usage : create_usage);
        default:
        unknown:
            cli_getopt_error(run ? "run" : "create", opt, argv);
            return OCI_EXIT;
        }
    }
    if (optind >= argc) {
        oci_error(x, "%s: a container id is required", run ? "run" : "create");
        return OCI_EXIT;
    }
    a->id = argv[optind];
    if (optind + 1 < argc) {
        oci_error(x, "%s: unexpected argument '%s'", run ? "run" : "create", argv[optind + 1]);
        return OCI_EXIT;
    }
    if (!oci_valid_id(a->id)) {
        oci_error(x, "invalid container id '%s' (want [A-Za-z0-9][A-Za-z0-9_.-]{0,63}, not lib or seccomp)", a->id);
        return OCI_EXIT;
    }
    if (oci_check_preserved(x, a->preserve_fds) < 0)
        return OCI_EXIT;
    return -1;
}

static int prepare_dirs(const struct oci_ctx *x)
{
    /* the parents as runc makes them (containerd's shim names a root whose
     * parent may not exist yet) */
    char parent[PATH_MAX];
    snprintf(parent, sizeof(parent), "%s", x->root);
    for (char *p = parent + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        if (mkdir(parent, 0711) < 0 && errno != EEXIST) {
            oci_error(x, "--root: cannot make '%s': %s", parent, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    int r = mkdir_private(x->root);
    if (r == 0)
        r = mkdir_private(x->lib_dir);
    if (r < 0) {
        oci_error(x, "--root: cannot use '%s': %s", x->root, strerror(-r));
        return -1;
    }
    return 0;
}

/* Create; on success *out is the creator's handle (for run) or NULL. */
static int do_create(const struct oci_ctx *x, const struct create_args *a, struct containerv_container **out)
{
    char bundle[PATH_MAX], path[PATH_MAX], err[512];
    if (!realpath(a->bundle, bundle)) {
        oci_error(x, "--bundle: '%s': %s", a->bundle, strerror(errno));
        return OCI_EXIT;
    }
    if (prepare_dirs(x) < 0)
        return OCI_EXIT;
    if (state_path(x, a->id, NULL, path, sizeof(path)) < 0 || mkdir(path, 0700) < 0) {
        if (errno == EEXIST)
            oci_error(x, "container with id exists: %s", a->id);
        else
            oci_error(x, "cannot make the state of '%s' in '%s': %s", a->id, x->root, strerror(errno));
        return OCI_EXIT;
    }
    /* from here on a failure removes what it made */
    struct oci_spec spec;
    struct oci_build b = {0};
    struct containerv_container *c = NULL;
    struct oci_state st = {0};
    int master = -1, pidfd = -1, rc = OCI_EXIT;
    size_t len = 0;
    char cfg_path[PATH_MAX + 16];
    snprintf(cfg_path, sizeof(cfg_path), "%s/config.json", bundle);
    char *text = read_text(cfg_path, 16 << 20, &len);
    memset(&spec, 0, sizeof(spec));
    if (!text) {
        oci_error(x, "%s: %s", cfg_path, strerror(errno));
        goto fail;
    }
    if (oci_spec_parse(text, len, &spec, err, sizeof(err)) < 0) {
        oci_error(x, "%s: %s", cfg_path, err);
        goto fail;
    }
    if (spec.terminal && !a->console_socket) {
        oci_error(x, "process.terminal is true: --console-socket is required");
        goto fail;
    }
    if (!spec.terminal && a->console_socket) {
        oci_error(x, "--console-socket given but process.terminal is false");
        goto fail;
    }
    oci_debug(x, "create: config.json read and parsed: %.0f us", (double)(cv_now_ns() - x->t0) / 1e3);
    if (oci_build(x, &spec, bundle, &b) < 0)
        goto fail;
    oci_debug(x, "create: options and process built (seccomp compiled): %.0f us", (double)(cv_now_ns() - x->t0) / 1e3);
    if (state_path(x, a->id, "config.json", path, sizeof(path)) < 0 || write_atomic(path, text, 0600) < 0) {
        oci_error(x, "cannot keep the config of '%s': %s", a->id, strerror(errno));
        goto fail;
    }
    snprintf(st.id, sizeof(st.id), "%s", a->id);
    snprintf(st.bundle, sizeof(st.bundle), "%s", bundle);
    now_rfc3339(st.created, sizeof(st.created));
    st.annotations = spec.annotations ? json_incref(spec.annotations) : NULL;
    for (int k = 0; k < OCI_HOOK_KINDS; k++)
        st.hooks |= spec.n_hooks[k] ? 1u << k : 0;
    st.creating = true;
    st.runtime_pid = getpid();
    st.runtime_start = start_time_of(getpid(), NULL);
    if (state_save(x, &st) < 0) {
        oci_error(x, "cannot write the state of '%s'", a->id);
        goto fail;
    }
    struct containerv_error e;
    int r = containerv_create(a->id, b.opts, &c, &e);
    if (r < 0) {
        lib_error(x, &e, r);
        goto fail;
    }
    oci_debug(x, "create: container created: %.0f us", (double)(cv_now_ns() - x->t0) / 1e3);
    int extra[8];
    for (unsigned i = 0; i < a->preserve_fds; i++)
        extra[i] = 3 + (int)i;
    b.main.extra_fds = extra;
    b.main.n_extra_fds = (int)a->preserve_fds;
    if (!spec.terminal) {
        b.main.stdin_fd = 0;
        b.main.stdout_fd = 1;
        b.main.stderr_fd = 2;
    }
    b.main.tty_master_fd = &master;
    if ((r = containerv_prepare_main(c, &b.main, &e)) < 0) {
        lib_error(x, &e, r);
        goto fail;
    }
    oci_debug(x, "create: main process prepared: %.0f us", (double)(cv_now_ns() - x->t0) / 1e3);
    if (master >= 0 && oci_send_console(x, a->console_socket, master) < 0)
        goto fail;
    st.pid = containerv_init_pid(c);
    st.start_time = start_time_of(st.pid, NULL);
    pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
    if (pidfd < 0) {
        oci_error(x, "the container's process: %s", strerror(errno));
        goto fail;
    }
    char rootfs[PATH_MAX];
    if (spec.root_path[0] == '/')
        snprintf(rootfs, sizeof(rootfs), "%s", spec.root_path);
    else
        snprintf(rootfs, sizeof(rootfs), "%s/%s", bundle, spec.root_path);
    if (b.inside && oci_inside(x, &spec, rootfs, pidfd) < 0)
        goto fail;
    /* hooks see the container as created (the spec's state of that moment) */
    char *hs = state_json(&st, ST_CREATED, false);
    int hr = hs ? 0 : -1;
    if (hr == 0)
        hr = oci_run_hooks(x, &spec, OCI_HOOK_PRESTART, hs, -1, a->id);
    if (hr == 0)
        hr = oci_run_hooks(x, &spec, OCI_HOOK_CREATE_RUNTIME, hs, -1, a->id);
    if (hr == 0)
        hr = oci_run_hooks(x, &spec, OCI_HOOK_CREATE_CONTAINER, hs, pidfd, a->id);
    free(hs);
    if (hr < 0)
        goto fail;
    if (a->pid_file && oci_write_pid_file(x, a->pid_file, st.pid) < 0)
        goto fail;
    oci_debug(x, "create: inside, hooks, pid file: %.0f us", (double)(cv_now_ns() - x->t0) / 1e3);
    st.creating = false;
    st.runtime_pid = 0;
    st.runtime_start = -1;
    if (state_save(x, &st) < 0) {
        oci_error(x, "cannot write the state of '%s'", a->id);
        goto fail;
    }
    if (out)
        *out = c;
    else
        containerv_release(c);
    c = NULL;
    rc = 0;
fail:
    if (rc != 0) {
        if (c) {
            struct containerv_error e2;
            containerv_destroy(c, &e2);
            containerv_teardown_wait(&e2);
        }
        containerv_remove(x->lib_dir, a->id, NULL);
        remove_state_dir(x, a->id);
    }
    if (master >= 0)
        close(master);
    if (pidfd >= 0)
        close(pidfd);
    state_free(&st);
    oci_build_free(&b);
    oci_spec_free(&spec);
    free(text);
    return rc;
}

static int cmd_oci_create(const struct oci_ctx *x, int argc, char **argv)
{
    struct create_args a;
    int rc = parse_create_args(x, argc, argv, false, &a);
    return rc >= 0 ? rc : do_create(x, &a, NULL);
}

/* ------------------------------------------------------------ start */

static int start_container(const struct oci_ctx *x, const char *id, struct oci_state *st, const struct oci_spec *spec)
{
    int pidfd = open_process(st);
    if (pidfd < 0) {
        oci_error(x, "container '%s': its process is gone", id);
        return OCI_EXIT;
    }
    char *hs = state_json(st, ST_CREATED, false);
    int r = hs ? oci_run_hooks(x, spec, OCI_HOOK_START_CONTAINER, hs, pidfd, id) : -1;
    free(hs);
    close(pidfd);
    if (r < 0)
        return OCI_EXIT;
    struct containerv_container *c = NULL;
    struct containerv_error e;
    if ((r = containerv_attach(x->lib_dir, id, &c, &e)) < 0 || (r = containerv_start_main(c, &e)) < 0) {
        lib_error(x, &e, r);
        if (c)
            containerv_release(c);
        return OCI_EXIT;
    }
    containerv_release(c);
    oci_debug(x, "start: the process runs: %.0f us", (double)(cv_now_ns() - x->t0) / 1e3);
    st->started = true;
    if (state_save(x, st) < 0) {
        oci_error(x, "cannot write the state of '%s'", id);
        return OCI_EXIT;
    }
    hs = state_json(st, ST_RUNNING, false);
    if (hs)
        oci_run_hooks(x, spec, OCI_HOOK_POSTSTART, hs, -1, id);
    free(hs);
    return 0;
}

static int need_id(const struct oci_ctx *x, const char *verb, int argc, char **argv, int max_extra)
{
    if (optind >= argc) {
        oci_error(x, "%s: a container id is required", verb);
        return -1;
    }
    if (argc - optind - 1 > max_extra) {
        oci_error(x, "%s: unexpected argument '%s'", verb, argv[optind + 1 + max_extra]);
        return -1;
    }
    return 0;
}

/* parse only -h/--help (and the flags given), for the small verbs */
static int simple_opts(const char *verb, const char *usage, int argc, char **argv, const char *shortopts,
                       const struct option *extra, int *flags)
{
    struct option opts[8];
    int n = 0;
    for (; extra && extra[n].name && n < 6; n++)
        opts[n] = extra[n];
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[n] = (struct option){NULL, 0, NULL, 0};
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
        if (opt == 'h')
            return cli_usage(usage);
        if (opt == '?' || opt == ':') {
            cli_getopt_error(verb, opt, argv);
            return OCI_EXIT;
        }
        for (int i = 0; extra && extra[i].name; i++)
            if (extra[i].val == opt)
                *flags |= 1 << i;
    }
    return -1;
}

static int load_or_fail(const struct oci_ctx *x, const char *id, struct oci_state *st)
{
    int r = state_load(x, id, st);
    if (r == -ENOENT)
        oci_error(x, "container does not exist: %s", id);
    else if (r < 0)
        oci_error(x, "container '%s': its state in '%s' is broken", id, x->root);
    return r;
}

/* The common start of a verb on one container: its flags (-h and extra),
 * the id (and at most max_extra operands after it), its state. -1 to go on
 * with *st loaded (the id is argv[optind]), else the exit code. */
static int open_verb(const struct oci_ctx *x, const char *verb, const char *usage, int argc, char **argv,
                     const char *shortopts, const struct option *extra, int *flags, int max_extra, struct oci_state *st)
{
    int rc = simple_opts(verb, usage, argc, argv, shortopts, extra, flags);
    if (rc >= 0)
        return rc;
    if (need_id(x, verb, argc, argv, max_extra) < 0 || load_or_fail(x, argv[optind], st) < 0)
        return OCI_EXIT;
    return -1;
}

static const char start_usage[] = "Usage: containerv start ID\n\nStart the process of a created container.\n\n"
                                  "  -h, --help   show this help\n";

static int cmd_oci_start(const struct oci_ctx *x, int argc, char **argv)
{
    struct oci_state st;
    int flags = 0, rc = open_verb(x, "start", start_usage, argc, argv, "+:h", NULL, &flags, 0, &st);
    if (rc >= 0)
        return rc;
    const char *id = argv[optind];
    enum oci_status s = status_of(&st); /* paused too: a frozen init would never answer */
    if (s != ST_CREATED) {
        oci_error(x, "cannot start a container that is %s: %s", status_names[s], id);
        state_free(&st);
        return OCI_EXIT;
    }
    struct oci_spec spec;
    memset(&spec, 0, sizeof(spec));
    /* the stored config only for its hooks */
    bool need = st.hooks & ((1u << OCI_HOOK_START_CONTAINER) | (1u << OCI_HOOK_POSTSTART));
    rc = need && oci_load_config(x, id, &spec) < 0 ? OCI_EXIT : start_container(x, id, &st, &spec);
    oci_spec_free(&spec);
    state_free(&st);
    return rc;
}

/* ------------------------------------------------------------ state, list */

static const char state_usage[] = "Usage: containerv state ID\n\nPrint the OCI state of a container as JSON.\n\n"
                                  "  -h, --help   show this help\n";

static int cmd_oci_state(const struct oci_ctx *x, int argc, char **argv)
{
    struct oci_state st;
    int flags = 0, rc = open_verb(x, "state", state_usage, argc, argv, "+:h", NULL, &flags, 0, &st);
    if (rc >= 0)
        return rc;
    char *text = state_json(&st, status_of(&st), true);
    state_free(&st);
    if (!text) {
        oci_error(x, "out of memory");
        return OCI_EXIT;
    }
    puts(text);
    free(text);
    return fflush(stdout) == 0 ? 0 : OCI_EXIT;
}

static const char list_usage[] =
    "Usage: containerv list [--format table|json] [-q]\n\nList the OCI containers under --root.\n\n"
    "  -f, --format FMT  table (default) or json\n"
    "  -q, --quiet       the ids only\n"
    "  -h, --help        show this help\n";

static int cmd_oci_list(const struct oci_ctx *x, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    bool json = false, quiet = false;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:f:qh", opts, NULL)) != -1) {
        if (opt == 'h')
            return cli_usage(list_usage);
        if (opt == 'q')
            quiet = true;
        else if (opt == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table")))
            json = !strcmp(optarg, "json");
        else if (opt == 'f') {
            oci_error(x, "--format: want table or json, not '%s'", optarg);
            return OCI_EXIT;
        } else {
            cli_getopt_error("list", opt, argv);
            return OCI_EXIT;
        }
    }
    DIR *d = opendir(x->root);
    json_t *all = json_array();
    if (!quiet && !json)
        printf("%-24s %-8s %-10s %-40s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        struct oci_state st;
        if (!strcmp(e->d_name, "lib") || e->d_name[0] == '.' || state_load(x, e->d_name, &st) < 0)
            continue;
        enum oci_status s = status_of(&st);
        if (json) {
            char *t = state_json(&st, s, false);
            json_t *j = t ? json_loads(t, 0, NULL) : NULL;
            if (j)
                json_array_append_new(all, j);
            free(t);
        } else if (quiet) {
            printf("%s\n", st.id);
        } else {
            printf("%-24s %-8d %-10s %-40s %s\n", st.id, s == ST_STOPPED ? 0 : (int)st.pid, status_names[s], st.bundle,
                   st.created);
        }
        state_free(&st);
    }
    if (d)
        closedir(d);
    if (json) {
        char *t = json_dumps(all, JSON_INDENT(2));
        puts(t ? t : "[]");
        free(t);
    }
    json_decref(all);
    return fflush(stdout) == 0 ? 0 : OCI_EXIT;
}

/* ------------------------------------------------------------ kill, delete */

static int signal_all(const struct oci_state *st, int sig)
{
    struct cv_cgroup cg;
    pid_t *pids = NULL;
    size_t n = 0;
    if (cv_state_open_cgroup(st->lib_dir, st->id, &cg, NULL) < 0)
        return -ESRCH;
    int r = cv_cgroup_pids(&cg, &pids, &n);
    cv_cgroup_close(&cg);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        kill(pids[i], sig);
    free(pids);
    return 0;
}

static const char kill_usage[] =
    "Usage: containerv kill [--all] ID [SIGNAL]\n\nSend a signal (default SIGTERM) to the container's process.\n\n"
    "  -a, --all    to every process of the container\n"
    "  -h, --help   show this help\n";

static int cmd_oci_kill(const struct oci_ctx *x, int argc, char **argv)
{
    static const struct option extra[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
    struct oci_state st;
    int flags = 0, rc = open_verb(x, "kill", kill_usage, argc, argv, "+:ah", extra, &flags, 1, &st);
    if (rc >= 0)
        return rc;
    const char *id = argv[optind];
    int sig = optind + 1 < argc ? parse_signal(argv[optind + 1]) : SIGTERM;
    if (sig < 0) {
        oci_error(x, "kill: unknown signal '%s'", argv[optind + 1]);
        state_free(&st);
        return OCI_EXIT;
    }
    enum oci_status s = status_of_ex(&st, false); /* a paused one takes signals too */
    if (s == ST_STOPPED || s == ST_CREATING) {
        oci_error(x, "container not running: %s", id);
        state_free(&st);
        return OCI_EXIT;
    }
    int fd = open_process(&st);
    int r = fd < 0 ? fd : (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) < 0 ? -errno : 0;
    if (fd >= 0)
        close(fd);
    if (r == 0 && (flags & 1))
        r = signal_all(&st, sig);
    state_free(&st);
    if (r < 0) {
        oci_error(x, "kill %s: %s", id, strerror(-r));
        return OCI_EXIT;
    }
    return 0;
}

/* Kill the container's process and wait until it and the cgroup are gone. */
static int stop_container(const struct oci_ctx *x, const struct oci_state *st)
{
    int fd = open_process(st);
    if (fd >= 0) {
        syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
        if (frozen(st))
            signal_all(st, SIGKILL);
        if (!wait_gone(fd, 10000)) {
            close(fd);
            oci_error(x, "container '%s': its process did not exit after SIGKILL", st->id);
            return -1;
        }
        close(fd);
    }
    return 0;
}

static const char delete_usage[] =
    "Usage: containerv delete [--force] ID\n\nDelete a stopped (or created) container and all it left.\n\n"
    "  -f, --force  kill it first when it runs\n"
    "  -h, --help   show this help\n";

static int delete_container(const struct oci_ctx *x, const char *id, bool force)
{
    struct oci_state st;
    int r = state_load(x, id, &st);
    if (r == -ENOENT) {
        /* what a killed create left in the library's dir goes too */
        containerv_remove(x->lib_dir, id, NULL);
        if (force)
            return 0;
        oci_error(x, "container does not exist: %s", id);
        return OCI_EXIT;
    }
    if (r < 0) {
        oci_error(x, "container '%s': its state in '%s' is broken", id, x->root);
        return OCI_EXIT;
    }
    enum oci_status s = status_of_ex(&st, st.started); /* a created one goes without --force, paused or not */
    if ((s == ST_RUNNING || s == ST_PAUSED || s == ST_CREATING) && !force) {
        oci_error(x, "cannot delete container %s that is not stopped: %s", id, status_names[s]);
        state_free(&st);
        return OCI_EXIT;
    }
    if (s != ST_STOPPED && stop_container(x, &st) < 0) {
        state_free(&st);
        return OCI_EXIT;
    }
    oci_debug(x, "delete: stopped: %.0f us", (double)(cv_now_ns() - x->t0) / 1e3);
    struct containerv_error e;
    r = containerv_remove(x->lib_dir, id, &e);
    for (int i = 0; r == -EBUSY && i < 200; i++) { /* its zombie, until its parent reaps it */
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        r = containerv_remove(x->lib_dir, id, &e);
    }
    if (r < 0 && r != -ENOENT) {
        lib_error(x, &e, r);
        state_free(&st);
        return OCI_EXIT;
    }
    struct oci_spec spec;
    memset(&spec, 0, sizeof(spec));
    if ((st.hooks & (1u << OCI_HOOK_POSTSTOP)) && oci_load_config(x, id, &spec) == 0) {
        char *hs = state_json(&st, ST_STOPPED, false);
        if (hs)
            oci_run_hooks(x, &spec, OCI_HOOK_POSTSTOP, hs, -1, id);
        free(hs);
    }
    oci_spec_free(&spec);
    remove_state_dir(x, id);
    state_free(&st);
    oci_debug(x, "delete: removed: %.0f us", (double)(cv_now_ns() - x->t0) / 1e3);
    return 0;
}

static int cmd_oci_delete(const struct oci_ctx *x, int argc, char **argv)
{
    static const struct option extra[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    int flags = 0, rc = simple_opts("delete", delete_usage, argc, argv, "+:fh", extra, &flags);
    if (rc >= 0)
        return rc;
    if (need_id(x, "delete", argc, argv, 0) < 0)
        return OCI_EXIT;
    return delete_container(x, argv[optind], flags & 1);
}

/* ------------------------------------------------------------ run */

static int cmd_oci_run(const struct oci_ctx *x, int argc, char **argv)
{
    struct create_args a;
    int rc = parse_create_args(x, argc, argv, true, &a);
    if (rc >= 0)
        return rc;
    struct containerv_container *c = NULL;
    if ((rc = do_create(x, &a, &c)) != 0)
        return rc;
    struct oci_state st;
    struct oci_spec spec;
    memset(&spec, 0, sizeof(spec));
    rc = OCI_EXIT;
    if (state_load(x, a.id, &st) == 0 &&
        (!(st.hooks & ((1u << OCI_HOOK_START_CONTAINER) | (1u << OCI_HOOK_POSTSTART))) ||
         oci_load_config(x, a.id, &spec) == 0))
        rc = start_container(x, a.id, &st, &spec);
    oci_spec_free(&spec);
    if (rc != 0 || a.detach) {
        containerv_release(c);
        if (rc != 0)
            delete_container(x, a.id, true);
        state_free(&st);
        return rc;
    }
    /* the process is our child (the init was): wait, then release the
     * handle (whose release would reap an exited init) */
    pid_t pid = st.pid;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, 0);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            oci_error(x, "waiting for the container's process: %s", strerror(errno));
            status = -1;
            break;
        }
    }
    containerv_release(c);
    rc = status < 0 ? OCI_EXIT : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!a.keep && delete_container(x, a.id, true) != 0 && rc == 0)
        rc = OCI_EXIT;
    state_free(&st);
    return rc;
}

/* ------------------------------------------------------------ pause, resume */

static int freeze(const struct oci_ctx *x, const char *id, bool on)
{
    struct cv_cgroup cg;
    if (cv_state_open_cgroup(x->lib_dir, id, &cg, NULL) < 0) {
        oci_error(x, "container '%s': no cgroup", id);
        return -1;
    }
    int dir = cv_cgroup_open_dir(&cg, CV_V1_FREEZER);
    bool v2 = cg.mode == CV_CGROUP_V2;
    cv_cgroup_close(&cg);
    if (dir < 0) {
        oci_error(x, "container '%s': no freezer cgroup", id);
        return -1;
    }
    const char *file = v2 ? "cgroup.freeze" : "freezer.state";
    const char *v = v2 ? (on ? "1" : "0") : (on ? "FROZEN" : "THAWED");
    int fd = openat(dir, file, O_WRONLY | O_CLOEXEC);
    int ok = fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v);
    int e = errno;
    if (fd >= 0)
        close(fd);
    close(dir);
    if (!ok) {
        oci_error(x, "container '%s': writing %s: %s", id, file, strerror(e));
        return -1;
    }
    return 0;
}

static const char pause_usage[] = "Usage: containerv pause ID\n\nFreeze every process of the container.\n\n"
                                  "  -h, --help   show this help\n";
static const char resume_usage[] = "Usage: containerv resume ID\n\nThaw a paused container.\n\n"
                                   "  -h, --help   show this help\n";

static int pause_resume(const struct oci_ctx *x, int argc, char **argv, bool on)
{
    struct oci_state st;
    int flags = 0, rc = open_verb(x, on ? "pause" : "resume", on ? pause_usage : resume_usage, argc, argv, "+:h",
                                  NULL, &flags, 0, &st);
    if (rc >= 0)
        return rc;
    enum oci_status s = status_of(&st);
    state_free(&st);
    if (on ? s != ST_RUNNING && s != ST_CREATED : s != ST_PAUSED) {
        oci_error(x, "container %s is %s: cannot %s it", argv[optind], status_names[s], on ? "pause" : "resume");
        return OCI_EXIT;
    }
    return freeze(x, argv[optind], on) < 0 ? OCI_EXIT : 0;
}

static int cmd_oci_pause(const struct oci_ctx *x, int argc, char **argv)
{
    return pause_resume(x, argc, argv, true);
}

static int cmd_oci_resume(const struct oci_ctx *x, int argc, char **argv)
{
    return pause_resume(x, argc, argv, false);
}

/* ------------------------------------------------------------ ps */

static const char ps_usage[] =
    "Usage: containerv ps [--format table|json] ID\n\nThe processes of a container (host pids).\n\n"
    "  -f, --format FMT  table (default) or json (an array of pids)\n"
    "  -h, --help        show this help\n";

static int cmd_oci_ps(const struct oci_ctx *x, int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    bool json = false;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:f:h", opts, NULL)) != -1) {
        if (opt == 'h')
            return cli_usage(ps_usage);
        if (opt == 'f' && (!strcmp(optarg, "json") || !strcmp(optarg, "table"))) {
            json = !strcmp(optarg, "json");
        } else if (opt == 'f') {
            oci_error(x, "--format: want table or json, not '%s'", optarg);
            return OCI_EXIT;
        } else {
            cli_getopt_error("ps", opt, argv);
            return OCI_EXIT;
        }
    }
    if (need_id(x, "ps", argc, argv, 64) < 0)
        return OCI_EXIT;
    struct oci_state st;
    if (load_or_fail(x, argv[optind], &st) < 0)
        return OCI_EXIT;
    state_free(&st);
    struct cv_cgroup cg;
    pid_t *pids = NULL;
    size_t n = 0;
    if (cv_state_open_cgroup(x->lib_dir, argv[optind], &cg, NULL) == 0) {
        cv_cgroup_pids(&cg, &pids, &n);
        cv_cgroup_close(&cg);
    }
    if (json) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, json_integer(pids[i]));
        char *t = json_dumps(a, JSON_COMPACT);
        puts(t ? t : "[]");
        free(t);
        json_decref(a);
    } else {
        printf("%-8s %s\n", "PID", "CMD");
        for (size_t i = 0; i < n; i++) {
            char path[64], comm[64] = "?";
            snprintf(path, sizeof(path), "/proc/%d/comm", (int)pids[i]);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            ssize_t k = fd >= 0 ? read(fd, comm, sizeof(comm) - 1) : -1;
            if (fd >= 0)
                close(fd);
            if (k > 0)
                comm[k - (comm[k - 1] == '\n')] = '\0';
            printf("%-8d %s\n", (int)pids[i], comm);
        }
    }
    free(pids);
    return fflush(stdout) == 0 ? 0 : OCI_EXIT;
}

/* ------------------------------------------------------------ spec, features */

static const char spec_usage[] =
    "Usage: containerv spec [--bundle DIR]\n\nWrite a default config.json (runc's) into the bundle directory.\n\n"
    "  -b, --bundle DIR  where (default: the working directory)\n"
    "  -h, --help        show this help\n";

static const char *const default_caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};

static json_t *caps_array(void)
{
    json_t *a = json_array();
    for (int i = 0; default_caps[i]; i++)
        json_array_append_new(a, json_string(default_caps[i]));
    return a;
}

static int cmd_oci_spec(const struct oci_ctx *x, int argc, char **argv)
{
    static const struct option opts[] = {
        {"bundle", required_argument, NULL, 'b'}, {"rootless", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    const char *bundle = ".";
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:b:h", opts, NULL)) != -1) {
        if (opt == 'h')
            return cli_usage(spec_usage);
        if (opt == 'b') {
            bundle = optarg;
        } else if (opt == 'r') {
            oci_error(x, "spec --rootless: rootless containers are not supported");
            return OCI_EXIT;
        } else {
            cli_getopt_error("spec", opt, argv);
            return OCI_EXIT;
        }
    }
    json_t *mounts = json_pack(
        "[{s:s,s:s,s:s},{s:s,s:s,s:s,s:[s,s,s,s]},{s:s,s:s,s:s,s:[s,s,s,s,s,s]},{s:s,s:s,s:s,s:[s,s,s,s,s]},"
        "{s:s,s:s,s:s,s:[s,s,s]},{s:s,s:s,s:s,s:[s,s,s,s]},{s:s,s:s,s:s,s:[s,s,s,s]}]",
        "destination", "/proc", "type", "proc", "source", "proc", "destination", "/dev", "type", "tmpfs", "source",
        "tmpfs", "options", "nosuid", "strictatime", "mode=755", "size=65536k", "destination", "/dev/pts", "type",
        "devpts", "source", "devpts", "options", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
        "gid=5", "destination", "/dev/shm", "type", "tmpfs", "source", "shm", "options", "nosuid", "noexec", "nodev",
        "mode=1777", "size=65536k", "destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue", "options",
        "nosuid", "noexec", "nodev", "destination", "/sys", "type", "sysfs", "source", "sysfs", "options", "nosuid",
        "noexec", "nodev", "ro", "destination", "/sys/fs/cgroup", "type", "cgroup", "source", "cgroup", "options",
        "nosuid", "noexec", "nodev", "relatime", "ro");
    json_t *j = json_pack(
        "{s:s,s:{s:b,s:{s:i,s:i},s:[s],s:[s,s],s:s,s:{s:o,s:o,s:o,s:o},s:[{s:s,s:i,s:i}],s:b},s:{s:s,s:b},"
        "s:s,s:o,s:{s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s],s:[s,s,s,s,s,s],s:[{s:s},{s:s},{s:s},{s:s},{s:s}]}}",
        "ociVersion", OCI_VERSION, "process", "terminal", 1, "user", "uid", 0, "gid", 0, "args", "sh", "env",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "cwd", "/", "capabilities",
        "bounding", caps_array(), "effective", caps_array(), "permitted", caps_array(), "ambient", caps_array(),
        "rlimits", "type", "RLIMIT_NOFILE", "hard", 1024, "soft", 1024, "noNewPrivileges", 1, "root", "path", "rootfs",
        "readonly", 1, "hostname", "containerv", "mounts", mounts, "linux", "maskedPaths", "/proc/acpi",
        "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/powercap", "/proc/interrupts",
        "/proc/sysrq-trigger-masked", "/sys/fs/selinux", "readonlyPaths", "/proc/bus", "/proc/fs", "/proc/irq",
        "/proc/sys", "/proc/sysrq-trigger", "/proc/asound-ro", "namespaces", "type", "pid", "type", "network", "type",
        "ipc", "type", "uts", "type", "mount");
    char *text = j ? json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) {
        oci_error(x, "out of memory");
        return OCI_EXIT;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    size_t len = strlen(text);
    bool ok = fd >= 0 && write(fd, text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
    int e = errno;
    if (fd >= 0)
        close(fd);
    free(text);
    if (!ok) {
        oci_error(x, "spec: cannot write '%s': %s", path, strerror(e));
        if (fd >= 0)
            unlink(path);
        return OCI_EXIT;
    }
    return 0;
}

static const char features_usage[] =
    "Usage: containerv features\n\nPrint what this runtime supports, as the runtime-spec's features JSON.\n\n"
    "  -h, --help   show this help\n";

static int cmd_oci_features(const struct oci_ctx *x, int argc, char **argv)
{
    int flags = 0, rc = simple_opts("features", features_usage, argc, argv, "+:h", NULL, &flags);
    if (rc >= 0)
        return rc;
    json_t *caps = json_array();
    for (int i = 0; oci_cap_name(i); i++)
        json_array_append_new(caps, json_string(oci_cap_name(i)));
    json_t *j = json_pack(
        "{s:s,s:s,s:[s,s,s,s,s,s],s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s],"
        "s:{s:[s,s,s,s,s,s,s],s:o,s:{s:b,s:b,s:b},s:{s:b,s:[s,s,s,s,s,s,s,s],s:[s,s,s,s,s,s,s],s:[s,s,s]},"
        "s:{s:b},s:{s:b}},s:{}}",
        "ociVersionMin", "1.0.0", "ociVersionMax", OCI_VERSION, "hooks", "prestart", "createRuntime",
        "createContainer", "startContainer", "poststart", "poststop", "mountOptions", "async", "atime", "bind", "dev",
        "diratime", "dirsync", "exec", "lazytime", "mand", "noatime", "nodev", "nodiratime", "noexec", "nolazytime",
        "nomand", "norelatime", "nostrictatime", "nosuid", "private", "rbind", "relatime", "ro", "rprivate", "rw",
        "strictatime", "suid", "linux", "namespaces", "cgroup", "ipc", "mount", "network", "pid", "user", "uts",
        "capabilities", caps, "cgroup", "v1", 1, "v2", 1, "systemd", 0, "seccomp", "enabled", 1, "actions",
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "operators", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
        "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", "archs", "SCMP_ARCH_X86_64",
        "SCMP_ARCH_X86", "SCMP_ARCH_X32", "apparmor", "enabled", 0, "selinux", "enabled", 0, "annotations");
    char *text = j ? json_dumps(j, JSON_INDENT(4) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (!text) {
        oci_error(x, "out of memory");
        return OCI_EXIT;
    }
    puts(text);
    free(text);
    return fflush(stdout) == 0 ? 0 : OCI_EXIT;
}

static int cmd_oci_unsupported(const struct oci_ctx *x, int argc, char **argv)
{
    (void)argc;
    oci_error(x, "%s is not supported by this runtime", argv[0]);
    return OCI_EXIT;
}

/* ------------------------------------------------------------ dispatch */

struct oci_verb {
    const char *name;
    int (*fn)(const struct oci_ctx *x, int argc, char **argv);
    bool only_oci; /* a verb containerv's own CLI does not have */
};

int cmd_oci_exec(const struct oci_ctx *x, int argc, char **argv);   /* oci_exec.c */
int cmd_oci_update(const struct oci_ctx *x, int argc, char **argv); /* oci_update.c */

static const struct oci_verb oci_verbs[] = {
    {"create", cmd_oci_create, false}, {"start", cmd_oci_start, true},        {"state", cmd_oci_state, true},
    {"kill", cmd_oci_kill, true},      {"delete", cmd_oci_delete, true},      {"run", cmd_oci_run, false},
    {"exec", cmd_oci_exec, false},     {"ps", cmd_oci_ps, false},             {"list", cmd_oci_list, false},
    {"pause", cmd_oci_pause, true},    {"resume", cmd_oci_resume, true},      {"spec", cmd_oci_spec, true},
    {"features", cmd_oci_features, true}, {"update", cmd_oci_update, true},
    {"checkpoint", cmd_oci_unsupported, true}, {"restore", cmd_oci_unsupported, true},
    {"events", cmd_oci_unsupported, true},
};

static const struct oci_verb *find_oci_verb(const char *name)
{
    for (size_t i = 0; i < sizeof(oci_verbs) / sizeof(oci_verbs[0]); i++)
        if (!strcmp(oci_verbs[i].name, name))
            return &oci_verbs[i];
    return NULL;
}

static const char oci_usage[] =
    "Usage: containerv [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND [ARGS...]\n"
    "\n"
    "containerv as an OCI runtime (runc's command line; see docs/oci.md).\n"
    "\n"
    "Commands:\n"
    "  create    create a container from a bundle; its process waits for start\n"
    "  start     start the process of a created container\n"
    "  state     the container's OCI state as JSON\n"
    "  kill      send a signal to the container's process\n"
    "  delete    remove a stopped container\n"
    "  run       create, start, wait, delete\n"
    "  exec      run another process in a running container\n"
    "  ps        the container's processes\n"
    "  list      the containers under --root\n"
    "  pause     freeze the container\n"
    "  resume    thaw it\n"
    "  update    change its resource limits\n"
    "  spec      write a default config.json\n"
    "  features  what this runtime supports, as JSON\n"
    "\n"
    "Global options:\n"
    "  --root DIR           the state (default " OCI_DEFAULT_ROOT ")\n"
    "  --log FILE           errors also go here\n"
    "  --log-format FMT     text (default) or json\n"
    "  --debug              trace the steps on stderr\n"
    "  --systemd-cgroup     refused: this runtime manages cgroupfs cgroups only\n"
    "  -v, --version        the version\n";

/* runc's global flags: name, takes a value */
static const struct {
    const char *name;
    bool value;
} runc_globals[] = {
    {"--root", true}, {"--log", true}, {"--log-format", true}, {"--systemd-cgroup", false},
    {"--rootless", true}, {"--criu", true},
};

static bool is_runc_global(const char *arg, bool *takes_value)
{
    for (size_t i = 0; i < sizeof(runc_globals) / sizeof(runc_globals[0]); i++) {
        size_t n = strlen(runc_globals[i].name);
        if (!strncmp(arg, runc_globals[i].name, n) && (arg[n] == '\0' || arg[n] == '=')) {
            *takes_value = runc_globals[i].value && arg[n] == '\0';
            return true;
        }
    }
    return false;
}

/* Is this an OCI runtime call? */
static bool oci_call(int argc, char **argv, int *verb_at)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    bool oci = !strcmp(base, "containerv-oci");
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        bool val = false;
        if (is_runc_global(argv[i], &val)) {
            oci = true;
            i += val;
        } else if (!strcmp(argv[i], "--runtime-dir") || !strcmp(argv[i], "--state-dir") || !strcmp(argv[i], "--socket")) {
            i++;
        }
    }
    *verb_at = i;
    if (i >= argc)
        return oci;
    const struct oci_verb *v = find_oci_verb(argv[i]);
    if (!v)
        return oci;
    if (oci || v->only_oci)
        return true;
    /* create, run, exec, ps, list: by their flags or their id */
    for (int k = i + 1; k < argc; k++) {
        const char *a = argv[k];
        if (!strcmp(argv[i], "create") || !strcmp(argv[i], "run")) {
            if (!strcmp(a, "-b") || !strncmp(a, "--bundle", 8) || !strncmp(a, "--pid-file", 10) ||
                !strncmp(a, "--console-socket", 16) || !strncmp(a, "--preserve-fds", 14) || !strcmp(a, "--no-pivot") ||
                !strcmp(a, "--no-new-keyring"))
                return true;
        } else if (!strcmp(argv[i], "exec")) {
            if (!strcmp(a, "-p") || !strncmp(a, "--process", 9) || !strncmp(a, "--pid-file", 10) ||
                !strncmp(a, "--console-socket", 16) || !strncmp(a, "--preserve-fds", 14) || !strncmp(a, "--cap", 5) ||
                !strcmp(a, "--no-new-privs"))
                return true;
            if (a[0] != '-') { /* the first operand: an id of an OCI container? */
                char path[PATH_MAX];
                snprintf(path, sizeof(path), "%s/%s/state.json", OCI_DEFAULT_ROOT, a);
                return cv_valid_id(a) && access(path, F_OK) == 0;
            }
        } else if (!strcmp(argv[i], "ps")) {
            if (a[0] != '-')
                return true; /* containerv's ps (list) takes no operand */
        }
    }
    return false;
}

int cli_oci_main(int argc, char **argv)
{
    int verb_at;
    if (argc < 1 || !oci_call(argc, argv, &verb_at))
        return -1;
    static struct oci_ctx x;
    x.root = OCI_DEFAULT_ROOT;
    x.t0 = cv_now_ns();
    /* the global flags */
    for (int i = 1; i < verb_at; i++) {
        const char *a = argv[i], *v = NULL;
        const char *eq = strchr(a, '=');
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)(eq ? (size_t)(eq - a) : strlen(a)), a);
        bool needs = !strcmp(name, "--root") || !strcmp(name, "--log") || !strcmp(name, "--log-format") ||
                     !strcmp(name, "--rootless") || !strcmp(name, "--criu") || !strcmp(name, "--runtime-dir") ||
                     !strcmp(name, "--state-dir") || !strcmp(name, "--socket");
        if (needs) {
            v = eq ? eq + 1 : i + 1 < verb_at ? argv[++i] : NULL;
            if (!v) {
                oci_error(&x, "option '%s' needs a value", name);
                return OCI_EXIT;
            }
        }
        if (!strcmp(name, "--root")) {
            if (v[0] != '/') {
                oci_error(&x, "--root: want an absolute path, not '%s'", v);
                return OCI_EXIT;
            }
            x.root = v;
        } else if (!strcmp(name, "--log")) {
            x.log = v;
        } else if (!strcmp(name, "--log-format")) {
            if (strcmp(v, "text") && strcmp(v, "json")) {
                oci_error(&x, "--log-format: want text or json, not '%s'", v);
                return OCI_EXIT;
            }
            x.log_json = !strcmp(v, "json");
        } else if (!strcmp(name, "--debug")) {
            x.debug = true;
        } else if (!strcmp(name, "--systemd-cgroup")) {
            oci_error(&x, "--systemd-cgroup: not supported; this runtime manages its cgroups itself (cgroupfs)");
            return OCI_EXIT;
        } else if (!strcmp(name, "--rootless")) {
            if (strcmp(v, "false") && !(strcmp(v, "auto") == 0 && geteuid() == 0)) {
                oci_error(&x, "--rootless %s: rootless containers are not supported", v);
                return OCI_EXIT;
            }
        } else if (!strcmp(name, "-v") || !strcmp(name, "--version")) {
            printf("containerv version %d.%d.%d\nspec: %s\n", CONTAINERV_VERSION_MAJOR, CONTAINERV_VERSION_MINOR,
                   CONTAINERV_VERSION_PATCH, OCI_VERSION);
            return 0;
        } else if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
            return cli_usage(oci_usage);
        } else if (!needs) {
            oci_error(&x, "unknown global option '%s'", a);
            return OCI_EXIT;
        }
    }
    snprintf(x.lib_dir, sizeof(x.lib_dir), "%s/lib", x.root);
    if (verb_at >= argc) {
        fputs(oci_usage, stderr);
        return OCI_EXIT;
    }
    const struct oci_verb *v = find_oci_verb(argv[verb_at]);
    if (!v) {
        oci_error(&x, "unknown command '%s'", argv[verb_at]);
        return OCI_EXIT;
    }
    return v->fn(&x, argc - verb_at, argv + verb_at);
}
