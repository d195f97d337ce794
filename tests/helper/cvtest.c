/*
 * cvtest: a static helper copied into a test rootfs layer to inspect a
 * container from the inside (in the spirit of crun's tests/init.c).
 *
 *   cvtest SUBCOMMAND [ARGS...]
 *
 * Results go to stdout, one line. Exit 0 on success; on failure a message (or
 * the errno name, for the probes whose answer is an errno) and a non-zero exit.
 * See usage() for the subcommands.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

static const char *errname(int e)
{
    const char *n = strerrorname_np(e);
    return n ? n : "EUNKNOWN";
}

static int fail(const char *what, int e)
{
    printf("%s\n", errname(e));
    fprintf(stderr, "cvtest: %s: %s\n", what, strerror(e));
    return 1;
}

static int usage(void)
{
    fputs("usage: cvtest pid|ppid|comm1|fds|sigign|capeff|capbnd|capprm|nnp|seccomp|hostname|netdevs|\n"
          "              uid|gid|groups|cwd\n"
          "       cvtest syscall NAME      (keyctl add_key unshare mount bpf ptrace setns\n"
          "                                 chroot reboot init_module kexec_load swapon\n"
          "                                 userfaultfd perf_event_open personality)\n"
          "       cvtest read PATH | cat PATH | write PATH TEXT | ls DIR | openw PATH |\n"
          "              readlink PATH\n"
          "       cvtest alloc MB | forkbomb N | signal SIG | exit N | sleep S | env NAME\n"
          "       cvtest live S   (writes \"start\", sleeps S seconds, writes \"end\": where a kill found it)\n"
          "       cvtest personality VALUE   (sets it: OK or the errno name)\n",
          stderr);
    return 2;
}

static int status_field_of(const char *path, const char *field)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return fail(path, errno);
    char line[512];
    size_t n = strlen(field);
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, field, n) && line[n] == ':') {
            char *v = line + n + 1;
            v += strspn(v, " \t");
            fputs(v, stdout);
            fclose(f);
            return 0;
        }
    }
    fclose(f);
    fprintf(stderr, "cvtest: no %s in %s\n", field, path);
    return 1;
}

static int status_field(const char *field)
{
    return status_field_of("/proc/self/status", field);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Print the sorted entry names of a directory on one line. */
static int list_dir(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return fail(path, errno);
    char *names[1024];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 1024) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
    for (int i = 0; i < n; i++) {
        printf("%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
    putchar('\n');
    return 0;
}

static int cmd_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return fail("/proc/self/fd", errno);
    int self = dirfd(d);
    int fds[4096], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        if (e->d_name[0] == '.')
            continue;
        int fd = atoi(e->d_name);
        if (fd != self)
            fds[n++] = fd;
    }
    closedir(d);
    qsort(fds, (size_t)n, sizeof(fds[0]), cmp_int);
    for (int i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", fds[i]);
    putchar('\n');
    return 0;
}

static int cmd_netdevs(void)
{
    struct stat st;
    if (stat("/sys/class/net", &st) == 0)
        return list_dir("/sys/class/net");
    /* No sysfs in the container: /proc/net/dev shows the same namespace. */
    FILE *f = fopen("/proc/net/dev", "re");
    if (!f)
        return fail("/sys/class/net and /proc/net/dev", errno);
    char line[512];
    char *names[256];
    int n = 0;
    while (fgets(line, sizeof(line), f) && n < 256) {
        char *colon = strchr(line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        char *name = line + strspn(line, " ");
        names[n++] = strdup(name);
    }
    fclose(f);
    qsort(names, (size_t)n, sizeof(names[0]), cmp_str);
    for (int i = 0; i < n; i++) {
        printf("%s%s", i ? " " : "", names[i]);
        free(names[i]);
    }
    putchar('\n');
    return 0;
}

/* Try to mount a tmpfs on a fresh empty directory, and undo it at once if that
 * worked: harmless even when run by mistake as root on the host. */
static long probe_mount(void)
{
    char dir[] = "/tmp/cvtest-mnt.XXXXXX";
    bool made = mkdtemp(dir) != NULL;
    const char *target = made ? dir : "/tmp";
    long r = mount("cvtest", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k");
    int e = errno;
    if (r == 0)
        umount2(target, MNT_DETACH);
    if (made)
        rmdir(dir);
    errno = e;
    return r;
}

static long raw_syscall(const char *name, int *known)
{
    *known = 1;
    if (!strcmp(name, "keyctl"))
        return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
    if (!strcmp(name, "add_key"))
        return syscall(SYS_add_key, "user", "cvtest", "x", 1, -2 /* process keyring */);
    if (!strcmp(name, "unshare"))
        return unshare(CLONE_NEWUSER);
    if (!strcmp(name, "mount"))
        return probe_mount();
    if (!strcmp(name, "bpf")) {
        char attr[128] = {0};
        return syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof(attr));
    }
    if (!strcmp(name, "ptrace"))
        return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    if (!strcmp(name, "setns"))
        return setns(0, CLONE_NEWNS);
    if (!strcmp(name, "chroot"))
        return chroot("/");
    if (!strcmp(name, "reboot"))
        return syscall(SYS_reboot, 0, 0, 0, NULL); /* bad magic: EINVAL when allowed */
    if (!strcmp(name, "init_module"))
        return syscall(SYS_init_module, NULL, 0, "");
    if (!strcmp(name, "kexec_load"))
        return syscall(SYS_kexec_load, 0, 0, NULL, 0xffffffffUL); /* bad flags: EINVAL */
    if (!strcmp(name, "swapon"))
        return syscall(SYS_swapon, "/nonexistent", 0);
    if (!strcmp(name, "userfaultfd"))
        return syscall(SYS_userfaultfd, 0);
    if (!strcmp(name, "perf_event_open"))
        return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
    if (!strcmp(name, "personality"))
        return syscall(SYS_personality, 0xffffffff); /* query only */
    *known = 0;
    return -1;
}

static int cmd_syscall(const char *name)
{
    int known;
    errno = 0;
    long r = raw_syscall(name, &known);
    if (!known) {
        fprintf(stderr, "cvtest: unknown syscall probe '%s'\n", name);
        return 2;
    }
    if (r < 0)
        printf("%s\n", errname(errno));
    else
        printf("OK\n");
    return 0;
}

static int cmd_read(const char *path, bool echo)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(path, errno);
    char buf[65536];
    long long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return fail(path, e);
        }
        if (n == 0)
            break;
        if (echo)
            fwrite(buf, 1, (size_t)n, stdout);
        total += n;
        /* /proc/kcore can be huge when it is not masked: a few MiB tell enough. */
        if (!echo && total >= (64ll << 20))
            break;
    }
    close(fd);
    if (!echo)
        printf("%lld\n", total);
    return 0;
}

static int cmd_write(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(path, errno);
    size_t len = strlen(text);
    ssize_t n = write(fd, text, len);
    if (n < 0 || (size_t)n != len) {
        int e = n < 0 ? errno : EIO;
        close(fd);
        return fail(path, e);
    }
    if (close(fd) < 0)
        return fail(path, errno);
    printf("OK\n");
    return 0;
}

static int cmd_alloc(const char *mb_text)
{
    long mb = strtol(mb_text, NULL, 10);
    if (mb <= 0)
        return usage();
    size_t len = (size_t)mb << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return fail("mmap", errno);
    long page = sysconf(_SC_PAGESIZE);
    for (size_t off = 0; off < len; off += (size_t)page)
        p[off] = (char)off | 1; /* touch every page so that it is really charged */
    printf("OK %ld\n", mb);
    return 0;
}

static int cmd_forkbomb(const char *n_text)
{
    int want = atoi(n_text);
    if (want <= 0 || want > 100000)
        return usage();
    pid_t *kids = calloc((size_t)want, sizeof(pid_t));
    if (!kids)
        return fail("calloc", ENOMEM);
    int ok = 0, first_err = 0;
    for (int i = 0; i < want; i++) {
        pid_t p = fork();
        if (p == 0) {
            for (;;)
                pause();
        }
        if (p < 0) {
            if (!first_err)
                first_err = errno;
            continue;
        }
        kids[ok++] = p;
    }
    printf("%d %s\n", ok, first_err ? errname(first_err) : "OK");
    fflush(stdout);
    for (int i = 0; i < ok; i++)
        kill(kids[i], SIGKILL);
    for (int i = 0; i < ok; i++)
        waitpid(kids[i], NULL, 0);
    free(kids);
    return 0;
}

static int parse_signal(const char *s)
{
    static const struct {
        const char *name;
        int sig;
    } sigs[] = {{"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"ABRT", SIGABRT},
                {"KILL", SIGKILL}, {"SEGV", SIGSEGV}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
                {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};
    if (s[0] >= '0' && s[0] <= '9')
        return atoi(s);
    if (!strncmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (!strcmp(s, sigs[i].name))
            return sigs[i].sig;
    return -1;
}

static int cmd_signal(const char *name)
{
    int sig = parse_signal(name);
    if (sig <= 0 || sig >= NSIG)
        return usage();
    fflush(stdout);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    fprintf(stderr, "cvtest: still alive after signal %d\n", sig);
    return 1;
}

static int cmd_sleep(const char *s)
{
    double secs = strtod(s, NULL);
    if (secs < 0)
        return usage();
    struct timespec ts = {.tv_sec = (time_t)secs,
                          .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    const char *a1 = argc > 2 ? argv[2] : NULL;
    const char *a2 = argc > 3 ? argv[3] : NULL;

    if (!strcmp(cmd, "pid"))
        return printf("%d\n", (int)getpid()) < 0;
    if (!strcmp(cmd, "ppid"))
        return printf("%d\n", (int)getppid()) < 0;
    if (!strcmp(cmd, "comm1"))
        return cmd_read("/proc/1/comm", true);
    if (!strcmp(cmd, "fds"))
        return cmd_fds();
    if (!strcmp(cmd, "sigign")) /* signals ignored here, and in the init */
        return status_field("SigIgn") || status_field_of("/proc/1/status", "SigIgn");
    if (!strcmp(cmd, "capeff"))
        return status_field("CapEff");
    if (!strcmp(cmd, "capbnd"))
        return status_field("CapBnd");
    if (!strcmp(cmd, "capprm"))
        return status_field("CapPrm");
    if (!strcmp(cmd, "nnp"))
        return status_field("NoNewPrivs");
    if (!strcmp(cmd, "seccomp"))
        return status_field("Seccomp");
    if (!strcmp(cmd, "hostname")) {
        struct utsname u;
        if (uname(&u) < 0)
            return fail("uname", errno);
        printf("%s\n", u.nodename);
        return 0;
    }
    if (!strcmp(cmd, "netdevs"))
        return cmd_netdevs();
    if (!strcmp(cmd, "uid"))
        return printf("%u\n", (unsigned)getuid()) < 0;
    if (!strcmp(cmd, "gid"))
        return printf("%u\n", (unsigned)getgid()) < 0;
    if (!strcmp(cmd, "groups")) {
        gid_t g[256];
        int n = getgroups(256, g);
        if (n < 0)
            return fail("getgroups", errno);
        for (int i = 0; i < n; i++)
            printf("%s%u", i ? " " : "", (unsigned)g[i]);
        putchar('\n');
        return 0;
    }
    if (!strcmp(cmd, "cwd")) {
        char buf[PATH_MAX];
        if (!getcwd(buf, sizeof(buf)))
            return fail("getcwd", errno);
        printf("%s\n", buf);
        return 0;
    }
    if (!strcmp(cmd, "syscall") && a1)
        return cmd_syscall(a1);
    if (!strcmp(cmd, "read") && a1)
        return cmd_read(a1, false);
    if (!strcmp(cmd, "cat") && a1)
        return cmd_read(a1, true);
    if (!strcmp(cmd, "write") && a1 && a2)
        return cmd_write(a1, a2);
    if (!strcmp(cmd, "ls") && a1)
        return list_dir(a1);
    if (!strcmp(cmd, "openw") && a1) {
        /* open for writing, never create, truncate or write: a harmless probe */
        int fd = open(a1, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return fail(a1, errno);
        close(fd);
        printf("OK\n");
        return 0;
    }
    if (!strcmp(cmd, "readlink") && a1) {
        char buf[PATH_MAX];
        ssize_t n = readlink(a1, buf, sizeof(buf) - 1);
        if (n < 0)
            return fail(a1, errno);
        buf[n] = '\0';
        printf("%s\n", buf);
        return 0;
    }
    if (!strcmp(cmd, "personality") && a1) {
        /* personality(VALUE) (hex or decimal): OK, or the errno name; the
         * change dies with this process */
        errno = 0;
        long r = syscall(SYS_personality, strtoul(a1, NULL, 0));
        printf("%s\n", r < 0 ? errname(errno) : "OK");
        return 0;
    }
    if (!strcmp(cmd, "alloc") && a1)
        return cmd_alloc(a1);
    if (!strcmp(cmd, "forkbomb") && a1)
        return cmd_forkbomb(a1);
    if (!strcmp(cmd, "signal") && a1)
        return cmd_signal(a1);
    if (!strcmp(cmd, "exit") && a1)
        return atoi(a1);
    if (!strcmp(cmd, "sleep") && a1)
        return cmd_sleep(a1);
    if (!strcmp(cmd, "live") && a1) { /* one write(2) each: nothing waits in a buffer */
        if (write(1, "start\n", 6) != 6 || cmd_sleep(a1) != 0 || write(1, "end\n", 4) != 4)
            return 1;
        return 0;
    }
    if (!strcmp(cmd, "env") && a1) {
        const char *v = getenv(a1);
        if (!v) {
            fprintf(stderr, "cvtest: %s is not set\n", a1);
            return 1;
        }
        printf("%s\n", v);
        return 0;
    }
    return usage();
}
