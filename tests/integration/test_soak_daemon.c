/* Soak: the pool daemon under many concurrent clients (threads, a quarter
 * of them a real member of --group: uid 65534 in group 4242) that connect,
 * run a command to its end, leave mid-run (after STARTED, or at once, while
 * the RUN waits or its container is being made), signal a command, ask for
 * STATUS, connect and say nothing, or send garbage. Counts and leaks only,
 * never timing:
 *  - every request gets an answer the protocol allows (BUSY included: 500
 *    clients are more than the daemon's 256 slots), the daemon stays up;
 *  - afterwards every container is given back (in use 0, the pool full, no
 *    other container in the runtime dir) and the daemon's fds return to
 *    their level after a warm-up, its VmRSS to within CV_DSOAK_RSS_SLACK_KIB (1024; not in an ASan
 *    build, whose quarantine keeps freed memory: LeakSanitizer checks there);
 *  - then the same load again, the daemon killed with SIGKILL in the middle
 *    of it, a new daemon started on the same socket (it serves), gc while it
 *    runs, the new daemon stopped, gc: nothing left (mounts, cgroups,
 *    processes, runtime-dir entries).
 *
 * CV_DSOAK_CLIENTS: concurrent clients (default 500); CV_DSOAK_REQUESTS:
 * requests served in the measured phase (default 4000; the full run in
 * tests/README.md is 40000): a request told BUSY is asked again after a
 * short back-off and counted once; CV_DSOAK_SEED replays the choices. */
#include "cvt.h"

#include "daemon/proto.h"

#include <containerv/pool.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MEMBER_UID = 65534, MEMBER_GID = 4242, POOL_SIZE = 16 };
#define RSS_SLACK_KIB_DEFAULT 1024
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1 /* the daemon is built the same way */
#else
#define SANITIZED 0
#endif

static char state[512], sock_path[512], dprefix[64];
static pid_t dpid = -1;

/* ------------------------------------------------------------ settings */

static long env_count(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 1)
        fail_msg("%s: not a positive number: '%s'", name, v);
    return n;
}

/* ------------------------------------------------------------ the daemon */

static void start_daemon(void)
{
    char pool[32];
    int ready[2];
    snprintf(pool, sizeof(pool), "web=%d", POOL_SIZE);
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    dpid = fork();
    assert_true(dpid >= 0);
    if (dpid == 0) {
        /* the daemon dies with this test, however the test ends */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (dup2(ready[1], 3) < 0)
            _exit(127);
        execl(cvt.containerv, "containerv", "--state-dir", state, "--runtime-dir",
              cvt.runtime_dir, "--socket", sock_path, "daemon", "--pool", pool, "--id-prefix",
              dprefix, "--ready-fd", "3", "--group", "4242", (char *)NULL);
        _exit(127);
    }
    close(ready[1]);
    char ch = 0;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    assert_int_equal(read(ready[0], &ch, 1), 0);
    close(ready[0]);
}

static void stop_daemon(void)
{
    int st;
    assert_int_equal(kill(dpid, SIGTERM), 0);
    assert_int_equal(waitpid(dpid, &st, 0), dpid);
    dpid = -1;
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static int count_entries(const char *dir, const char *prefix, const char *suffix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name), s = suffix ? strlen(suffix) : 0;
        if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        n += !suffix || (l >= s && strcmp(e->d_name + l - s, suffix) == 0);
    }
    closedir(d);
    return n;
}

static int daemon_fds(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)dpid);
    return count_entries(path, "", NULL);
}

static long daemon_rss_kib(void)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)dpid);
    char *s = cvt_read_file(path);
    assert_non_null(s);
    char *p = strstr(s, "\nVmRSS:");
    long kib = -1;
    if (p)
        sscanf(p + 7, "%ld", &kib);
    free(s);
    assert_true(kib > 0);
    return kib;
}

/* ------------------------------------------------------------ the protocol */

static int dconnect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static void hdr(struct cvd_hdr *h, int type, size_t len)
{
    memset(h, 0, sizeof(*h));
    h->magic = CVD_MAGIC;
    h->version = CVD_VERSION;
    h->type = (uint16_t)type;
    h->len = (uint32_t)len;
}

static ssize_t send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
    union {
        char b[CMSG_SPACE(sizeof(int) * 3)];
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

/* The next message's type (0: the end, < 0: -errno, or -EPROTO for a
 * message that is not the protocol's); every fd received is closed. */
static int next_msg(int sock, void *buf, size_t size)
{
    union {
        char b[CMSG_SPACE(sizeof(int) * 4)];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                        .msg_controllen = sizeof(u.b)};
    ssize_t n;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); n > 0 && cm; cm = CMSG_NXTHDR(&mh, cm)) {
        int x;
        memcpy(&x, CMSG_DATA(cm), sizeof(int));
        close(x);
    }
    if (n <= 0)
        return n == 0 ? 0 : -errno;
    struct cvd_hdr h;
    if ((size_t)n < sizeof(h))
        return -EPROTO;
    memcpy(&h, buf, sizeof(h));
    if (h.magic != CVD_MAGIC || h.version != CVD_VERSION || h.len != (uint32_t)n)
        return -EPROTO;
    return h.type;
}

/* ------------------------------------------------------------ the load */

struct tally {
    atomic_long ran, left_started, left_at_once, signaled, statuses, idle, garbage, busy,
        queued, member_requests, gone, bad;
};
static struct tally tl;
static pthread_mutex_t bad_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_bad[512];

static atomic_long next_req, done_req;
static __thread bool was_busy; /* this thread's request was told BUSY */

static void told_busy(void)
{
    atomic_fetch_add(&tl.busy, 1);
    was_busy = true;
}
static long total_req;
static atomic_bool killing; /* the daemon is killed under the load */

static void bad(const char *what, long req, int got)
{
    if (atomic_load(&killing)) {
        atomic_fetch_add(&tl.gone, 1); /* anything goes while it dies */
        return;
    }
    atomic_fetch_add(&tl.bad, 1);
    pthread_mutex_lock(&bad_lock);
    if (!first_bad[0])
        snprintf(first_bad, sizeof(first_bad), "request %ld: %s: got %d", req, what, got);
    pthread_mutex_unlock(&bad_lock);
}

/* The first answer to a RUN past QUEUED; ERROR BUSY counts as served. */
static int run_answer(int sock, char *buf, size_t size)
{
    int type;
    while ((type = next_msg(sock, buf, size)) == CVD_QUEUED)
        atomic_fetch_add(&tl.queued, 1);
    return type;
}

static bool is_busy(int type, const char *buf)
{
    return type == CVD_ERROR && ((const struct cvd_error *)buf)->kind == CVD_ERR_BUSY;
}

/* RUN argv, stdout to a pipe when out is given (*out its read end). */
static bool send_run(int sock, const char *const *argv, int *out)
{
    char msg[512];
    size_t blob = 0, argc = 0;
    for (; argv[argc]; argc++)
        blob += strlen(argv[argc]) + 1;
    struct cvd_run *m = (struct cvd_run *)msg;
    memset(m, 0, sizeof(*m));
    hdr(&m->h, CVD_RUN, sizeof(*m) + blob);
    m->argc = (uint32_t)argc;
    m->argv_len = (uint32_t)blob;
    snprintf(m->template_name, sizeof(m->template_name), "web");
    char *p = msg + sizeof(*m);
    for (size_t i = 0; i < argc; i++) {
        memcpy(p, argv[i], strlen(argv[i]) + 1);
        p += strlen(argv[i]) + 1;
    }
    int pp[2] = {-1, -1};
    if (out) {
        if (pipe2(pp, O_CLOEXEC) < 0)
            return false;
        m->flags = CVD_RUN_STDOUT;
    }
    ssize_t n = send_fds(sock, msg, sizeof(*m) + blob, &pp[1], out ? 1 : 0);
    if (out) {
        close(pp[1]);
        *out = pp[0];
    }
    /* a failed send: the daemon may have told BUSY and closed (read it) */
    return n == (ssize_t)(sizeof(*m) + blob) || n < 0;
}

static const char *const echo_ok[] = {"/bin/sh", "-c", "echo ok", NULL};
static const char *const sleeper[] = {"/bin/sleep", "30", NULL};

static void run_to_end(int sock, long req)
{
    char buf[sizeof(struct cvd_error) + 64], text[16] = "";
    int out = -1;
    send_run(sock, echo_ok, &out);
    int type = run_answer(sock, buf, sizeof(buf));
    if (is_busy(type, buf)) {
        told_busy();
    } else if (type != CVD_STARTED) {
        bad("run: want STARTED", req, type);
    } else if ((type = next_msg(sock, buf, sizeof(buf))) != CVD_EXITED ||
               ((struct cvd_exited *)buf)->code != 0) {
        bad("run: want EXITED 0", req, type == CVD_EXITED ? ((struct cvd_exited *)buf)->code : type);
    } else {
        ssize_t r = read(out, text, sizeof(text) - 1);
        if (r != 3 || strcmp(text, "ok\n") != 0)
            bad("run: want \"ok\" on stdout", req, (int)r);
        else
            atomic_fetch_add(&tl.ran, 1);
    }
    close(out);
}

/* A command that would run 30 s: left after STARTED, signalled, or left
 * as soon as it is asked for. */
static void run_and_leave(int sock, long req, int how)
{
    char buf[sizeof(struct cvd_error) + 64];
    send_run(sock, sleeper, NULL);
    if (how == 0) {
        atomic_fetch_add(&tl.left_at_once, 1);
        return;
    }
    int type = run_answer(sock, buf, sizeof(buf));
    if (is_busy(type, buf)) {
        told_busy();
        return;
    }
    if (type != CVD_STARTED) {
        bad("run and leave: want STARTED", req, type);
        return;
    }
    if (how == 1) {
        atomic_fetch_add(&tl.left_started, 1);
        return;
    }
    struct cvd_signal s;
    memset(&s, 0, sizeof(s));
    hdr(&s.h, CVD_SIGNAL, sizeof(s));
    s.sig = SIGTERM;
    if (send(sock, &s, sizeof(s), MSG_NOSIGNAL) != (ssize_t)sizeof(s))
        bad("signal: send", req, -errno);
    else if ((type = next_msg(sock, buf, sizeof(buf))) != CVD_EXITED ||
             ((struct cvd_exited *)buf)->code != 128 + SIGTERM)
        bad("signal: want EXITED 143", req, type == CVD_EXITED ? ((struct cvd_exited *)buf)->code : type);
    else
        atomic_fetch_add(&tl.signaled, 1);
}

static void status(int sock, long req)
{
    char buf[sizeof(struct cvd_status_row) + 64];
    struct cvd_hdr h;
    hdr(&h, CVD_STATUS, sizeof(h));
    (void)send(sock, &h, sizeof(h), MSG_NOSIGNAL);
    int type = next_msg(sock, buf, sizeof(buf));
    if (is_busy(type, buf))
        told_busy();
    else if (type != CVD_STATUS_ROW || next_msg(sock, buf, sizeof(buf)) != CVD_STATUS_END)
        bad("status: want a row and the end", req, type);
    else
        atomic_fetch_add(&tl.statuses, 1);
}

/* Random bytes, sometimes behind a valid header, sometimes with fds: an
 * ERROR (PROTO, or BUSY) and the end of the connection. */
static void garbage(int sock, long req, unsigned *seed)
{
    /* room for any answer: junk that happens to be a valid STATUS gets a
     * row, larger than an ERROR (a short buffer read it as cut: -EPROTO) */
    static _Thread_local _Alignas(max_align_t) char buf[CVD_MAX_MSG];
    char junk[256];
    size_t n = 1 + (size_t)rand_r(seed) % sizeof(junk);
    for (size_t i = 0; i < n; i++)
        junk[i] = (char)rand_r(seed);
    if (n >= sizeof(struct cvd_hdr) && rand_r(seed) % 2) {
        struct cvd_hdr h;
        hdr(&h, 1 + rand_r(seed) % 24, n);
        memcpy(junk, &h, sizeof(h));
    }
    int p[2] = {-1, -1}, nfds = rand_r(seed) % 4 == 0 && pipe2(p, O_CLOEXEC) == 0 ? 2 : 0;
    (void)send_fds(sock, junk, n, p, nfds);
    if (nfds) {
        close(p[0]);
        close(p[1]);
    }
    int type = next_msg(sock, buf, sizeof(buf));
    if (is_busy(type, buf)) {
        told_busy();
        return;
    }
    if (type == CVD_QUEUED || type == CVD_STARTED || type == CVD_STATUS_ROW) {
        /* the bytes happened to be a valid RUN or STATUS: rare, and not
         * garbage; leave */
        atomic_fetch_add(&tl.garbage, 1);
        return;
    }
    if (type != CVD_ERROR || ((struct cvd_error *)buf)->kind != CVD_ERR_PROTO)
        bad("garbage: want ERROR PROTO", req, type == CVD_ERROR ? (int)((struct cvd_error *)buf)->kind + 1000 : type);
    else
        atomic_fetch_add(&tl.garbage, 1);
}

enum outcome { SERVED, TOLD_BUSY, STOP };

/* One request; STOP when the daemon is gone (killed) */
static enum outcome one_request(long req, int dice, unsigned *seed, bool member)
{
    int sock = dconnect();
    if (sock < 0) {
        bad("connect", req, sock);
        return atomic_load(&killing) ? STOP : SERVED;
    }
    if (member)
        atomic_fetch_add(&tl.member_requests, 1);
    was_busy = false;
    if (dice < 35)
        run_to_end(sock, req);
    else if (dice < 50)
        run_and_leave(sock, req, 1);
    else if (dice < 60)
        run_and_leave(sock, req, 0);
    else if (dice < 65)
        run_and_leave(sock, req, 2);
    else if (dice < 80)
        garbage(sock, req, seed);
    else if (dice < 95)
        status(sock, req);
    else
        atomic_fetch_add(&tl.idle, 1); /* connect and leave without a word */
    close(sock);
    return was_busy ? TOLD_BUSY : SERVED;
}

struct client {
    pthread_t t;
    unsigned seed;
    bool member;
};

static void *client_main(void *arg)
{
    struct client *c = arg;
    if (c->member) {
        /* this thread only (the raw system calls, not libc's, which would
         * change every thread): a real member of the daemon's group */
        gid_t g = MEMBER_GID;
        if (syscall(SYS_setgroups, 1, &g) < 0 ||
            syscall(SYS_setresgid, MEMBER_GID, MEMBER_GID, MEMBER_GID) < 0 ||
            syscall(SYS_setresuid, MEMBER_UID, MEMBER_UID, MEMBER_UID) < 0) {
            bad("dropping to the member", -1, -errno);
            return NULL;
        }
    }
    for (;;) {
        long req = atomic_fetch_add(&next_req, 1);
        if (req >= total_req)
            break;
        enum outcome o;
        int dice = rand_r(&c->seed) % 100; /* what it asks, asked again when told BUSY */
        for (unsigned tries = 0; (o = one_request(req, dice, &c->seed, c->member)) == TOLD_BUSY;)
            /* back off and ask again, as a client would: 1 ms doubling up to 32 ms,
             * with jitter (no criterion) */
            usleep((1000u << (tries < 5 ? tries++ : 5)) + (unsigned)rand_r(&c->seed) % 1000);
        if (o == STOP)
            break;
        atomic_fetch_add(&done_req, 1);
    }
    return NULL;
}

static struct client *start_load(long clients, long requests, unsigned seed)
{
    struct client *cs = calloc((size_t)clients, sizeof(*cs));
    pthread_attr_t a;
    assert_non_null(cs);
    atomic_store(&next_req, 0);
    atomic_store(&done_req, 0);
    total_req = requests;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 * 1024);
    for (long i = 0; i < clients; i++) {
        cs[i].seed = seed * 7919u + (unsigned)i;
        cs[i].member = i % 4 == 3;
        assert_int_equal(pthread_create(&cs[i].t, &a, client_main, &cs[i]), 0);
    }
    pthread_attr_destroy(&a);
    return cs;
}

static void end_load(struct client *cs, long clients)
{
    for (long i = 0; i < clients; i++)
        pthread_join(cs[i].t, NULL);
    free(cs);
}

static void report(const char *phase)
{
    print_message("%s: %ld ran, %ld left after STARTED, %ld left at once, %ld signalled, "
                  "%ld STATUS, %ld idle, %ld garbage, %ld BUSY, %ld QUEUED, %ld asked by the member, "
                  "%ld cut by the kill, %ld bad\n",
                  phase, atomic_load(&tl.ran), atomic_load(&tl.left_started),
                  atomic_load(&tl.left_at_once), atomic_load(&tl.signaled),
                  atomic_load(&tl.statuses), atomic_load(&tl.idle), atomic_load(&tl.garbage),
                  atomic_load(&tl.busy), atomic_load(&tl.queued),
                  atomic_load(&tl.member_requests), atomic_load(&tl.gone), atomic_load(&tl.bad));
}

/* ------------------------------------------------------------ settling */

struct figures {
    int in_use, warm, containers, fds;
};

static bool figures(struct figures *f)
{
    char buf[sizeof(struct cvd_status_row) + 64];
    struct cvd_hdr h;
    int sock = dconnect();
    if (sock < 0)
        return false;
    hdr(&h, CVD_STATUS, sizeof(h));
    (void)send(sock, &h, sizeof(h), MSG_NOSIGNAL);
    int type = next_msg(sock, buf, sizeof(buf));
    if (type == CVD_STATUS_ROW) {
        struct cvd_status_row *row = (struct cvd_status_row *)buf;
        f->in_use = row->in_use;
        f->warm = row->warm;
    }
    close(sock);
    f->containers = count_entries(cvt.runtime_dir, dprefix, ".json");
    f->fds = daemon_fds();
    return type == CVD_STATUS_ROW;
}

/* Until every container is back, the pool full, no other container in
 * the runtime dir and the daemon's fds at want (-1: any). The bound is a
 * guard against a leak that never settles, not a criterion: it names what
 * did not come back. */
static void settle(int want_fds, const char *what, struct figures *f)
{
    long guard = env_count("CV_DSOAK_SETTLE_S", 120) * 100;
    for (long i = 0;; i++) {
        bool ok = figures(f);
        if (ok && f->in_use == 0 && f->warm == POOL_SIZE && f->containers == POOL_SIZE &&
            (want_fds < 0 || f->fds == want_fds))
            return;
        if (i >= guard)
            fail_msg("%s: not settled: in use %d, warm %d of %d, %d containers in the runtime "
                     "dir, %d fds (at the start %d)", what, f->in_use, f->warm, POOL_SIZE,
                     f->containers, f->fds, want_fds);
        usleep(10000);
    }
}

/* ------------------------------------------------------------ the test */

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void gc(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s --runtime-dir %s gc >/dev/null", cvt.containerv, cvt.runtime_dir);
    int rc = system(cmd);
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);
}

/* One run through the CLI: exit 3 comes back. */
static void assert_serves(const char *after)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s --socket %s run --template web -- /bin/sh -c 'exit 3'",
             cvt.containerv, sock_path);
    int rc = system(cmd);
    if (!WIFEXITED(rc) || WEXITSTATUS(rc) != 3)
        fail_msg("after %s: a run through the daemon returned %d", after, rc);
}

static void test_soak_daemon(void **st)
{
    (void)st;
    long clients = env_count("CV_DSOAK_CLIENTS", 500);
    long requests = env_count("CV_DSOAK_REQUESTS", 4000);
    long slack = env_count("CV_DSOAK_RSS_SLACK_KIB", RSS_SLACK_KIB_DEFAULT);
    unsigned seed = (unsigned)env_count("CV_DSOAK_SEED", (long)(time(NULL) % 100000) + 1);
    print_message("seed %u (CV_DSOAK_SEED=%u replays its choices), %ld clients, %ld requests\n",
                  seed, seed, clients, requests);
    raise_nofile();
    struct cvt_snap before;
    cvt_snapshot(&before);
    snprintf(state, sizeof(state), "%s/state", cvt.tmp);
    snprintf(sock_path, sizeof(sock_path), "%s/sock/d.sock", cvt.tmp);
    snprintf(dprefix, sizeof(dprefix), "%sd", cvt.prefix);
    struct containerv_options *o = cvt_options();
    struct containerv_error err;
    assert_int_equal(containerv_template_create(state, "web", o, &err), 0);
    containerv_options_free(o);
    start_daemon();

    /* a warm-up with the same load: the daemon's allocator, its threads'
     * stacks and arenas, its fd table grow to their working size */
    struct figures f;
    long warm = requests / 10 > clients ? requests / 10 : clients;
    end_load(start_load(clients, warm, seed), clients);
    report("warm-up");
    if (atomic_load(&tl.bad))
        fail_msg("warm-up: %ld requests got an answer the protocol does not allow; the first: %s",
                 atomic_load(&tl.bad), first_bad);
    settle(-1, "after the warm-up", &f);
    int fds0 = f.fds;
    long rss0 = daemon_rss_kib();

    /* the measured load */
    memset(&tl, 0, sizeof(tl));
    end_load(start_load(clients, requests, seed + 1), clients);
    report("load");
    if (atomic_load(&tl.bad))
        fail_msg("%ld requests got an answer the protocol does not allow; the first: %s",
                 atomic_load(&tl.bad), first_bad);
    assert_int_equal(kill(dpid, 0), 0);
    assert_true(atomic_load(&tl.ran) > 0);
    settle(fds0, "after the load", &f);
    long rss1 = daemon_rss_kib();
    print_message("daemon: %d fds after the warm-up and after the load; VmRSS %ld KiB, then "
                  "%ld KiB (%+ld, slack %ld)\n", fds0, rss0, rss1, rss1 - rss0, slack);
    /* ASan keeps freed memory in its quarantine, so RSS says nothing there;
     * LeakSanitizer checks the daemon's leaks at its exit (exit 0 wanted) */
    if (!SANITIZED && rss1 > rss0 + slack)
        fail_msg("the daemon's VmRSS grew by %ld KiB over the load (slack %ld KiB)",
                 rss1 - rss0, slack);
    assert_serves("the load");

    /* SIGKILL under the same load, a restart, gc: nothing left */
    memset(&tl, 0, sizeof(tl));
    struct client *cs = start_load(clients, requests, seed + 2);
    while (atomic_load(&done_req) < requests / 4)
        usleep(1000); /* a count, not a time, places the kill */
    atomic_store(&killing, true);
    pid_t victim = dpid;
    assert_int_equal(kill(victim, SIGKILL), 0);
    assert_int_equal(waitpid(victim, NULL, 0), victim);
    dpid = -1;
    end_load(cs, clients);
    report("killed under load");
    atomic_store(&killing, false);
    start_daemon(); /* on the same socket and runtime dir, the stale state beside it */
    assert_serves("a restart after SIGKILL");
    gc(); /* the killed daemon's containers go; the new one's stay */
    assert_serves("gc beside a running daemon");
    settle(-1, "the restarted daemon after gc", &f);
    stop_daemon();
    gc();
    /* the killed daemon's processes die with it (or with gc): take stock
     * once they are gone */
    char *left = NULL;
    for (int i = 0; i < 12000 && (left = cvt_check_leaks(&before, "daemon soak")); i++) {
        free(left);
        left = NULL;
        usleep(10000); /* the guard only bounds a hang */
        if (i % 100 == 99)
            gc();
    }
    free(left);
    cvt_assert_no_leaks(&before, "the daemon soak: SIGKILL under load, restart, gc");
    cvt_snap_free(&before);
}

static int teardown(void **st)
{
    (void)st;
    if (dpid > 0) {
        kill(dpid, SIGTERM);
        waitpid(dpid, NULL, 0);
        dpid = -1;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_soak_daemon, teardown),
    };
    return cvt_main("soak_daemon", tests, sizeof(tests) / sizeof(tests[0]), 900);
}
