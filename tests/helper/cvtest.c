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
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sched.h>
#include <sys/msg.h>
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
          "                                 userfaultfd perf_event_open personality\n"
          "                                 personality-rie unknown file_getattr\n"
          "                                 lsm_set_self_attr lsm_list_modules\n"
          "                                 get_mempolicy vhangup fork clone-newuser\n"
          "                                 clone3 socket-unix socket-inet socket-alg\n"
          "                                 socket-vsock socket-vsock-hi)\n"
          "       cvtest read PATH | cat PATH | write PATH TEXT | ls DIR | openw PATH | openr PATH |\n"
          "              readlink PATH\n"
          "       cvtest msgq KEY [create]   (a System V message queue: OK or the errno name)\n"
          "       cvtest alloc MB | forkbomb N | signal SIG | exit N | sleep S | env NAME |\n"
          "              traceme PROGRAM [ARGS...]\n"
          "       cvtest live S   (writes \"start\", sleeps S seconds, writes \"end\": where a kill found it)\n"
          "       cvtest burn S | faults PAGES | dread PATH N | udp N | switches N | hold MB | threads N\n"
          "                                (workloads of a known shape for the metrics' tests)\n"
          "       cvtest personality VALUE   (sets it: OK or the errno name)\n"
          "       cvtest recvtty PATH          (an OCI console socket: the terminal it gets, copied out)\n",
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

/* x86_64 numbers of calls newer than Debian 12's headers */
#define NR_LSM_SET_SELF_ATTR 460
#define NR_LSM_LIST_MODULES 461
#define NR_FILE_GETATTR 468 /* Linux 6.17: newer than the profile's review */
#define NR_UNKNOWN 1000 /* names no system call */
#define AF_ALG_ 38
#define AF_VSOCK_ 40

/* A process made by a raw clone or clone3 exits at once; the caller waits. */
static long clone_probe(long r)
{
    if (r == 0)
        _exit(0);
    if (r > 0)
        waitpid((pid_t)r, NULL, 0);
    return r < 0 ? r : 0;
}

static long socket_probe(long family)
{
    long fd = syscall(SYS_socket, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        close((int)fd);
    return fd < 0 ? fd : 0;
}

/* The probes of the seccomp profile: calls only some of whose arguments
 * are refused, and calls of recent kernels. */
static long profile_syscall(const char *name, int *known)
{
    *known = 1;
    if (!strcmp(name, "unknown")) /* ENOSYS, for kernel and filter alike */
        return syscall(NR_UNKNOWN, 0, 0, 0);
    if (!strcmp(name, "file_getattr")) /* size 0: EINVAL when allowed (ENOSYS before 6.17) */
        return syscall(NR_FILE_GETATTR, AT_FDCWD, "/", NULL, 0, 0);
    if (!strcmp(name, "lsm_set_self_attr")) /* bad attribute: EINVAL when allowed */
        return syscall(NR_LSM_SET_SELF_ATTR, 0, NULL, 0, 0);
    if (!strcmp(name, "lsm_list_modules")) { /* size 0: E2BIG when allowed */
        uint32_t size = 0;
        return syscall(NR_LSM_LIST_MODULES, NULL, &size, 0);
    }
    if (!strcmp(name, "get_mempolicy")) /* NUMA policy: a query */
        return syscall(SYS_get_mempolicy, NULL, NULL, 0, NULL, 0);
    if (!strcmp(name, "vhangup"))
        return syscall(SYS_vhangup);
    if (!strcmp(name, "personality-rie")) /* READ_IMPLIES_EXEC: sets it when allowed */
        return syscall(SYS_personality, 0x0400000UL);
    if (!strcmp(name, "socket-unix"))
        return socket_probe(AF_UNIX);
    if (!strcmp(name, "socket-inet"))
        return socket_probe(AF_INET);
    if (!strcmp(name, "socket-alg"))
        return socket_probe(AF_ALG_);
    if (!strcmp(name, "socket-vsock"))
        return socket_probe(AF_VSOCK_);
    if (!strcmp(name, "socket-vsock-hi")) /* the kernel reads an int: AF_VSOCK */
        return socket_probe((long)(0x100000000ULL | AF_VSOCK_));
    if (!strcmp(name, "fork"))
        return clone_probe(syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0));
    if (!strcmp(name, "clone-newuser"))
        return clone_probe(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
    if (!strcmp(name, "clone3")) {
        uint64_t args[11] = {0}; /* struct clone_args: flags 0, exit_signal SIGCHLD */
        args[4] = SIGCHLD;
        return clone_probe(syscall(SYS_clone3, args, sizeof(args)));
    }
    *known = 0;
    return -1;
}

static long raw_syscall(const char *name, int *known)
{
    long r = profile_syscall(name, known);
    if (*known)
        return r;
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

/* ---- workloads of a known shape, for the runtime metrics' tests */

static uint64_t ns_of(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spin for S seconds of wall time; prints "<own CPU ns> <wall ns>". */
static int cmd_burn(const char *s)
{
    double secs = strtod(s, NULL);
    if (secs <= 0)
        return usage();
    uint64_t w0 = ns_of(CLOCK_MONOTONIC), c0 = ns_of(CLOCK_PROCESS_CPUTIME_ID);
    uint64_t end = w0 + (uint64_t)(secs * 1e9);
    volatile uint64_t x = 0;
    while (ns_of(CLOCK_MONOTONIC) < end) {
        for (int i = 0; i < 10000; i++)
            x = x + (uint64_t)i;
    }
    if (x == 1) /* never: x is only there to be computed */
        return 1;
    printf("%llu %llu\n", (unsigned long long)(ns_of(CLOCK_PROCESS_CPUTIME_ID) - c0),
           (unsigned long long)(ns_of(CLOCK_MONOTONIC) - w0));
    return 0;
}

/* Touch N fresh anonymous pages (no huge pages: one fault each); prints
 * the minor faults that took (getrusage). */
static int cmd_faults(const char *n_text)
{
    long n = strtol(n_text, NULL, 10), page = sysconf(_SC_PAGESIZE);
    if (n <= 0 || n > (1l << 20))
        return usage();
    char *p = mmap(NULL, (size_t)(n * page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return fail("mmap", errno);
    madvise(p, (size_t)(n * page), MADV_NOHUGEPAGE);
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    for (long i = 0; i < n; i++)
        p[i * page] = 1;
    getrusage(RUSAGE_SELF, &b);
    printf("%ld\n", b.ru_minflt - a.ru_minflt);
    return 0;
}

/* N reads of 4 KiB with O_DIRECT (each one a block request: no page
 * cache), at successive offsets of PATH; prints N. */
static int cmd_dread(const char *path, const char *n_text)
{
    long n = strtol(n_text, NULL, 10);
    if (n <= 0)
        return usage();
    int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
    if (fd < 0)
        return fail(path, errno);
    struct stat st;
    void *buf;
    if (fstat(fd, &st) < 0 || st.st_size < 4096 || posix_memalign(&buf, 4096, 4096) != 0)
        return fail(path, EINVAL);
    long blocks = (long)(st.st_size / 4096);
    for (long i = 0; i < n; i++) {
        if (pread(fd, buf, 4096, (off_t)(i % blocks) * 4096) != 4096)
            return fail("pread", errno ? errno : EIO);
    }
    close(fd);
    printf("%ld\n", n);
    return 0;
}

/* N UDP datagrams to itself on 127.0.0.1 (each is sent and received on
 * lo: 2 packets); prints N. */
static int cmd_udp(const char *n_text)
{
    long n = strtol(n_text, NULL, 10);
    if (n <= 0)
        return usage();
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(s, (struct sockaddr *)&a, &len) < 0)
        return fail("udp socket on 127.0.0.1", errno);
    char b[64] = "cvtest";
    for (long i = 0; i < n; i++) {
        if (sendto(s, b, sizeof(b), 0, (struct sockaddr *)&a, sizeof(a)) < 0 || recv(s, b, sizeof(b), 0) < 0)
            return fail("udp", errno);
    }
    close(s);
    printf("%ld\n", n);
    return 0;
}

/* N short sleeps (one voluntary context switch each), then "done" and
 * wait until stdin closes, so that the thread is still there to count. */
static int cmd_switches(const char *n_text)
{
    long n = strtol(n_text, NULL, 10);
    if (n <= 0)
        return usage();
    for (long i = 0; i < n; i++) {
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
    }
    printf("done\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}

static void *idle_thread(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

/* N more threads, idle; "threads" once made, then wait until stdin closes. */
static int cmd_threads(const char *n_text)
{
    long n = strtol(n_text, NULL, 10);
    if (n <= 0 || n > 100000)
        return usage();
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 64 * 1024);
    for (long i = 0; i < n; i++) {
        pthread_t t;
        int e = pthread_create(&t, &a, idle_thread, NULL);
        if (e)
            return fail("pthread_create", e);
    }
    printf("threads\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    return 0;
}

/* Touch MB MiB and hold it until stdin closes ("held" once touched). */
static int cmd_hold(const char *mb_text)
{
    long mb = strtol(mb_text, NULL, 10);
    if (mb <= 0)
        return usage();
    size_t len = (size_t)mb << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return fail("mmap", errno);
    for (size_t off = 0; off < len; off += 4096)
        p[off] = 1;
    printf("held\n");
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
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

/* The receiving end of an OCI --console-socket (on the host): listen on
 * PATH, take one terminal master by SCM_RIGHTS, print the name it came
 * with, then copy what the terminal says to stdout until it hangs up. */
static int cmd_recvtty(const char *path)
{
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || strlen(path) >= sizeof(sa.sun_path))
        return usage();
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    unlink(path);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
        return fail(path, errno);
    int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return fail("accept", errno);
    char name[256] = "", cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    ssize_t n = recvmsg(c, &mh, MSG_CMSG_CLOEXEC);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    if (n < 0 || !cm || cm->cmsg_type != SCM_RIGHTS)
        return fail("no fd on the console socket", EPROTO);
    int master;
    memcpy(&master, CMSG_DATA(cm), sizeof(int));
    name[n] = '\0';
    printf("name %s\n", name);
    fflush(stdout);
    char buf[4096];
    ssize_t k;
    while ((k = read(master, buf, sizeof(buf))) > 0)
        if (write(1, buf, (size_t)k) != k)
            return 1;
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
    if (!strcmp(cmd, "recvtty"))
        return cmd_recvtty(a1);
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
    if ((!strcmp(cmd, "openw") || !strcmp(cmd, "openr")) && a1) {
        /* open for writing (or reading), never create, truncate or write: a
         * harmless probe; a device node without its driver says ENXIO or
         * ENODEV, one the device controller denies EPERM */
        int fd = open(a1, (cmd[4] == 'w' ? O_WRONLY : O_RDONLY) | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
            return fail(a1, errno);
        close(fd);
        printf("OK\n");
        return 0;
    }
    if (!strcmp(cmd, "attach") && a1) {
        /* PTRACE_ATTACH and process_vm_readv of pid a1 (the init: it must
         * refuse both, being non-dumpable), then detach */
        pid_t pid = (pid_t)atoi(a1);
        char byte;
        struct iovec local = {&byte, 1}, remote = {(void *)0x400000, 1};
        int e1 = ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0 ? errno : 0;
        if (!e1)
            ptrace(PTRACE_DETACH, pid, NULL, NULL);
        int e2 = process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0 ? errno : 0;
        printf("%s %s\n", e1 ? errname(e1) : "OK", e2 ? errname(e2) : "OK");
        return 0;
    }
    if (!strcmp(cmd, "msgq") && a1) {
        int create = argc > 3 && !strcmp(argv[3], "create");
        int id = msgget((key_t)strtol(a1, NULL, 0), create ? IPC_CREAT | IPC_EXCL | 0600 : 0);
        if (id < 0)
            return fail("msgget", errno);
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
    if (!strcmp(cmd, "traceme") && a1) { /* the parent (the init) becomes our tracer, then exec */
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
            return fail("ptrace(PTRACE_TRACEME)", errno);
        execv(a1, argv + 2);
        return fail(a1, errno);
    }
    if (!strcmp(cmd, "sleep") && a1)
        return cmd_sleep(a1);
    if (!strcmp(cmd, "live") && a1) { /* one write(2) each: nothing waits in a buffer */
        if (write(1, "start\n", 6) != 6 || cmd_sleep(a1) != 0 || write(1, "end\n", 4) != 4)
            return 1;
        return 0;
    }
    if (!strcmp(cmd, "burn") && a1)
        return cmd_burn(a1);
    if (!strcmp(cmd, "faults") && a1)
        return cmd_faults(a1);
    if (!strcmp(cmd, "dread") && a1 && a2)
        return cmd_dread(a1, a2);
    if (!strcmp(cmd, "udp") && a1)
        return cmd_udp(a1);
    if (!strcmp(cmd, "switches") && a1)
        return cmd_switches(a1);
    if (!strcmp(cmd, "hold") && a1)
        return cmd_hold(a1);
    if (!strcmp(cmd, "threads") && a1)
        return cmd_threads(a1);
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
