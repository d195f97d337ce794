/* The pooled benchmark modes: a template of the benchmark's rootfs saved in
 * the benchmark's temporary directory, and a pool of it whose containers live
 * in the benchmark's runtime dir; both go with the temporary directory. */
#include "bench.h"

#include <containerv/pool.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

extern char **environ;

/* The template "bench" (the benchmark's cold options) in <tmp>/state. */
static int bench_template(struct cvb *b, char *state, size_t size, struct containerv_error *err)
{
    struct containerv_options *o = cvb_cold_options(b);
    if (!o)
        return cv_error(err, ENOMEM, "bench.pool", "allocating options");
    snprintf(state, size, "%s/state", b->tmp);
    int r = containerv_template_create(state, "bench", o, err);
    containerv_options_free(o);
    return r;
}

int cvb_pool_open(struct cvb *b, int size, struct containerv_pool **pool,
                  struct containerv_error *err)
{
    char state[PATH_MAX + 8], prefix[48];
    struct containerv_pool_config cfg;
    int r = bench_template(b, state, sizeof(state), err);
    if (r < 0)
        return r;
    if (b->conf.id_prefix)
        snprintf(prefix, sizeof(prefix), "%.30spool-", b->conf.id_prefix);
    else
        snprintf(prefix, sizeof(prefix), "cvb-%d-pool-", (int)getpid());
    containerv_pool_config_init(&cfg);
    cfg.state_dir = state;
    cfg.runtime_dir = b->cv_rt;
    cfg.id_prefix = prefix;
    return containerv_pool_create_ex("bench", size, &cfg, pool, err);
}

int cvb_pool_run(struct containerv_pool *pool, char *why, size_t n)
{
    static const char *const argv[] = {"/bin/true", NULL};
    struct containerv_container *c = NULL;
    struct containerv_error e, re;
    pid_t pid;
    int code = -1;
    int r = containerv_pool_get_container(pool, &c, &e);
    if (r == 0 && (r = containerv_spawn(c, argv, NULL, &pid, &e)) == 0)
        r = containerv_wait(c, pid, &code, &e);
    int q = c ? containerv_pool_return_container(pool, c, &re) : 0;
    if (r == 0 && q < 0)
        e = re, r = q;
    if (r == 0 && code != 0)
        r = cv_error_plain(&e, EIO, "wait", "/bin/true exited with %d", code);
    if (r < 0)
        snprintf(why, n, "%s", e.message);
    return r;
}

void cvb_pool_figures(struct containerv_pool *pool, struct containerv_bench_result *r)
{
    struct containerv_pool_stats s;
    if (containerv_pool_get_stats(pool, &s) < 0)
        return;
    r->has_pool = true;
    r->pool_resets = s.resets;
    r->pool_replaces = s.replaces;
    r->pool_reset_us = (double)s.mean_reset_ns / 1e3;
}

/* ------------------------------------------------------------ pooled-cli */

/* `containerv daemon` as a child: stdin and stdout /dev/null, stderr the
 * benchmark's memfd, the ready pipe's write end as fd ready_w. */
static pid_t spawn_daemon(struct cvb *b, char *const argv[], int ready_w)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, deflt;
    pid_t pid = -1;
    sigemptyset(&none);
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGTERM);
    sigaddset(&deflt, SIGINT);
    sigaddset(&deflt, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, b->nullfd, 0);
    posix_spawn_file_actions_adddup2(&fa, b->nullfd, 1);
    posix_spawn_file_actions_adddup2(&fa, b->errfd, 2);
    posix_spawn_file_actions_adddup2(&fa, ready_w, ready_w); /* clears close-on-exec */
    /* its own process group: a terminal's Ctrl-C reaches the benchmark,
     * which stops the daemon with SIGTERM */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &deflt);
    int r = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return r == 0 ? pid : -r;
}

int cvb_daemon_start(struct cvb *b, const char *cli, int size, struct cvb_daemon *d, char *why,
                     size_t n)
{
    struct containerv_error e;
    char state[PATH_MAX + 8], pool[32], prefix[40], fd_s[16];
    int ready[2];
    memset(d, 0, sizeof(*d));
    d->pid = -1;
    if (bench_template(b, state, sizeof(state), &e) < 0) {
        snprintf(why, n, "template: %s", e.message);
        return -e.code;
    }
    if (snprintf(d->socket, sizeof(d->socket), "%s/daemon.sock", b->tmp) >=
        (int)sizeof(((struct sockaddr_un *)0)->sun_path)) {
        snprintf(why, n, "the socket path '%s' is too long for a Unix socket", d->socket);
        return -ENAMETOOLONG;
    }
    /* a state dir without the template: if the daemon failed, `run
     * --template` would start locally, which is not what is measured; this
     * makes it fail instead */
    snprintf(d->no_state, sizeof(d->no_state), "%s/no-state", b->tmp);
    snprintf(pool, sizeof(pool), "bench=%d", size);
    if (b->conf.id_prefix)
        snprintf(prefix, sizeof(prefix), "%.28sd", b->conf.id_prefix);
    else
        snprintf(prefix, sizeof(prefix), "cvb-%d-d", (int)getpid());
    if (pipe2(ready, O_CLOEXEC) < 0) {
        snprintf(why, n, "pipe: %s", strerror(errno));
        return -errno;
    }
    snprintf(fd_s, sizeof(fd_s), "%d", ready[1]);
    char *argv[] = {(char *)cli, (char *)"--state-dir", state, (char *)"--runtime-dir", b->cv_rt,
                    (char *)"--socket", d->socket, (char *)"daemon", (char *)"--pool", pool,
                    (char *)"--id-prefix", prefix, (char *)"--ready-fd", fd_s, NULL};
    cvb_clear_stderr(b);
    pid_t pid = spawn_daemon(b, argv, ready[1]);
    close(ready[1]);
    if (pid < 0) {
        close(ready[0]);
        snprintf(why, n, "starting %s daemon: %s", cli, strerror((int)-pid));
        return pid;
    }
    d->pid = pid;
    /* the daemon writes one byte once its pool is full; EOF if it exits */
    char ch;
    ssize_t got;
    do
        got = read(ready[0], &ch, 1);
    while (got < 0 && errno == EINTR);
    close(ready[0]);
    if (got == 1)
        return 0;
    char line[300] = "";
    int code = cvb_wait(pid);
    d->pid = -1;
    cvb_read_stderr(b, line, sizeof(line));
    snprintf(why, n, "the pool daemon exited with %d before it was ready%s%s", code,
             line[0] ? ": " : "", line);
    return -EIO;
}

int cvb_daemon_stop(struct cvb_daemon *d)
{
    if (d->pid <= 0)
        return 0;
    kill(d->pid, SIGTERM);
    int code = cvb_wait(d->pid);
    d->pid = -1;
    return code;
}
