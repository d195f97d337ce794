/* Warm container pools: hits and misses, the background refill, two users
 * through one pool (the second sees nothing of the first), concurrent users,
 * destroy leaves nothing, and a pool owner killed with SIGKILL leaves only
 * what `gc` removes. */
#include "cvt.h"

#include <containerv/pool.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char state[512], probe_layer[512], pool_prefix[64];

/* The probe (tests/helper/cvprobe.c), built static into a lower layer of
 * its own: $CV_PROBE_LAYER/bin/cvprobe. */
static bool build_probe(void)
{
    const char *layer = getenv("CV_PROBE_LAYER");
    char bin[600];
    snprintf(bin, sizeof(bin), "%s/bin/cvprobe", layer ? layer : "");
    if (!layer || access(bin, X_OK) != 0)
        fail_msg("the probe %s is missing (CV_PROBE_LAYER, built with the tests)", bin);
    snprintf(probe_layer, sizeof(probe_layer), "%s", layer);
    return true;
}

/* Each test has a state dir (templates) and a pool id prefix of its own, as
 * it has a runtime dir of its own (cvt_main): what a failed test leaves
 * there is never counted by the next. */
static void setup_names(void)
{
    static unsigned seq;
    seq++;
    snprintf(state, sizeof(state), "%s/state.%u", cvt.tmp, seq);
    snprintf(pool_prefix, sizeof(pool_prefix), "%sp%ux", cvt.prefix, seq);
}

/* The test template: helper layer (+ probe layer) over the default rootfs;
 * with relax, caps relaxed so that user A may change the hostname. */
static unsigned template_relax = CONTAINERV_RELAX_CAPS; /* what relax relaxes */

static void make_template_ex(const char *name, bool probe, bool relax)
{
    struct containerv_error err;
    struct containerv_options *o = containerv_options_new();
    assert_non_null(o);
    if (probe)
        assert_int_equal(containerv_options_add_lower(o, probe_layer), 0);
    assert_int_equal(containerv_options_add_lower(o, cvt.helper_layer), 0);
    assert_int_equal(containerv_options_add_lower(o, cvt.rootfs), 0);
    assert_int_equal(containerv_options_set_hostname(o, "fresh"), 0);
    if (relax)
        assert_int_equal(containerv_options_set_relax(o, template_relax), 0);
    if (containerv_template_create(state, name, o, &err) < 0)
        fail_msg("template create: %s", err.message);
    containerv_options_free(o);
}

static void make_template(const char *name, bool probe)
{
    make_template_ex(name, probe, probe);
}

/* The pool the running test made and has not destroyed yet: the teardown
 * destroys it when the test failed before it could, so that its background
 * thread does not go on creating containers during the tests after it. */
static struct containerv_pool *cur_pool;

static struct containerv_pool *make_pool(const char *tpl, int size)
{
    struct containerv_pool_config cfg;
    struct containerv_pool *p = NULL;
    struct containerv_error err;
    containerv_pool_config_init(&cfg);
    cfg.state_dir = state;
    cfg.runtime_dir = cvt.runtime_dir;
    cfg.id_prefix = pool_prefix;
    if (containerv_pool_create_ex(tpl, size, &cfg, &p, &err) < 0)
        fail_msg("pool create: %s", err.message);
    cur_pool = p;
    return p;
}

/* Wait (a hang guard only, never a timing assertion) until `warm` are warm
 * and `back` returned containers were taken back (reset or replaced). */
static struct containerv_pool_stats wait_stats(struct containerv_pool *p, int warm, uint64_t back)
{
    struct containerv_pool_stats s;
    for (int i = 0; i < 6000; i++) {
        assert_int_equal(containerv_pool_get_stats(p, &s), 0);
        if (s.warm_containers >= warm && s.resets + s.replaces >= back)
            return s;
        if (s.failures)
            fail_msg("background create failed: %s", s.last_error);
        usleep(10000);
    }
    fail_msg("pool never reached %d warm / %llu taken back (warm %d, reset %llu, replaced %llu)", warm,
             (unsigned long long)back, s.warm_containers, (unsigned long long)s.resets,
             (unsigned long long)s.replaces);
    return s;
}

static struct containerv_container *get(struct containerv_pool *p)
{
    struct containerv_container *c = NULL;
    struct containerv_error err;
    if (containerv_pool_get_container(p, &c, &err) < 0)
        fail_msg("pool get: %s", err.message);
    return c;
}

static void put(struct containerv_pool *p, struct containerv_container *c)
{
    struct containerv_error err;
    if (containerv_pool_return_container(p, c, &err) < 0)
        fail_msg("pool return: %s", err.message);
}

static void destroy_pool(struct containerv_pool *p)
{
    struct containerv_error err;
    if (p == cur_pool)
        cur_pool = NULL;
    if (containerv_pool_destroy(p, &err) < 0)
        fail_msg("pool destroy: %s", err.message);
}

/* ------------------------------------------------------------ tests */

static void test_hits_misses_refill(void **st)
{
    (void)st;
    setup_names();
    make_template("basic", false);
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_pool *p = make_pool("basic", 2);
    struct containerv_pool_stats s = wait_stats(p, 2, 0);
    assert_string_equal(s.template_name, "basic");
    assert_int_equal(s.pool_size, 2);
    assert_true(s.refills >= 2 && s.mean_refill_ns > 0);

    struct containerv_container *a = get(p), *b = get(p), *c = get(p); /* 2 hits, 1 miss */
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    assert_int_equal(s.hits, 2);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.in_use, 3);
    cvt_assert_out(a, "fresh", "hostname");
    cvt_assert_out(c, "fresh", "hostname");
    assert_string_not_equal(containerv_id(a), containerv_id(b));
    put(p, a);
    put(p, b);
    put(p, c);
    s = wait_stats(p, 2, 3);
    assert_int_equal(s.in_use, 0);
    /* a and b come back as new (only hostname ran): reset in place; the
     * miss is never kept */
    assert_int_equal(s.resets, 2);
    assert_int_equal(s.replaces, 1);
    assert_true(s.mean_reset_ns > 0);
    destroy_pool(p);
    cvt_assert_no_leaks(&before, "pool destroyed after gets and returns");
    cvt_snap_free(&before);
}

static void probe_report(struct containerv_container *c, char *out, size_t size)
{
    const char *const argv[] = {"/bin/cvprobe", "report", NULL};
    assert_int_equal(cvt_run(c, argv, NULL, out, size), 0);
}

static void ipc_ns(struct containerv_container *c, char *buf, size_t size)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/ipc", (int)containerv_init_pid(c));
    ssize_t n = readlink(path, buf, size - 1);
    assert_true(n > 0);
    buf[n] = '\0';
}

static void test_two_users(void **st)
{
    (void)st;
    setup_names();
    build_probe();
    make_template("probe", true);
    struct containerv_pool *p = make_pool("probe", 1);
    wait_stats(p, 1, 0);
    char out[512], ns_a[64], ns_b[64], id_a[80];

    /* user A: files in /, /tmp, /dev/shm; SysV and POSIX IPC; hostname; a daemon */
    struct containerv_container *a = get(p);
    probe_report(a, out, sizeof(out));
    assert_string_equal(out, "files=0 procs=2 shm=0 sem=0 msg=0 mq=0 host=fresh");
    const char *const dirty[] = {"/bin/cvprobe", "dirty", NULL};
    assert_int_equal(cvt_run(a, dirty, NULL, NULL, 0), 0);
    probe_report(a, out, sizeof(out));
    assert_string_equal(out, "files=3 procs=3 shm=1 sem=1 msg=1 mq=1 host=userA");
    snprintf(id_a, sizeof(id_a), "%s", containerv_id(a));
    pid_t init_a = containerv_init_pid(a);
    ipc_ns(a, ns_a, sizeof(ns_a));
    put(p, a);

    /* user B, through the same pool of one */
    wait_stats(p, 1, 1);
    struct containerv_container *b = get(p);
    probe_report(b, out, sizeof(out));
    assert_string_equal(out, "files=0 procs=2 shm=0 sem=0 msg=0 mq=0 host=fresh");
    assert_string_not_equal(containerv_id(b), id_a);
    assert_int_not_equal(containerv_init_pid(b), init_a);
    ipc_ns(b, ns_b, sizeof(ns_b));
    assert_string_not_equal(ns_a, ns_b);
    /* A's container, daemon included, is gone (its destroy may still be
     * reaping it: a zombie is dead too) */
    assert_true(cvt_wait_dead(init_a));
    struct containerv_pool_stats s;
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    assert_int_equal(s.resets, 0); /* relaxed capabilities: never reset */
    put(p, b);
    destroy_pool(p);
}

/* Return c and take the next container of a pool of one, once the pool has
 * taken c back; *reset says whether c was reset in place (else replaced). */
static struct containerv_container *cycle(struct containerv_pool *p, struct containerv_container *c,
                                          bool *reset)
{
    struct containerv_pool_stats s0, s1;
    assert_int_equal(containerv_pool_get_stats(p, &s0), 0);
    put(p, c);
    s1 = wait_stats(p, 1, s0.resets + s0.replaces + 1);
    *reset = s1.resets > s0.resets;
    return get(p);
}

/* A user who only ran processes (one left running in the background) gets
 * the same container reset in place: same init, nothing of theirs left, and
 * a handle they attached on the side no longer reaches it. */
static void test_reset_in_place(void **st)
{
    (void)st;
    setup_names();
    build_probe();
    make_template_ex("plain", true, false);
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_pool *p = make_pool("plain", 1);
    wait_stats(p, 1, 0);
    char out[512], id_a[80];
    struct containerv_error err;

    struct containerv_container *a = get(p);
    const char *const bg[] = {"/bin/cvprobe", "bg", NULL};
    assert_int_equal(cvt_run(a, bg, NULL, NULL, 0), 0);
    probe_report(a, out, sizeof(out));
    assert_string_equal(out, "files=0 procs=3 shm=0 sem=0 msg=0 mq=0 host=fresh");
    snprintf(id_a, sizeof(id_a), "%s", containerv_id(a));
    pid_t init_a = containerv_init_pid(a);
    struct containerv_container *side = NULL;
    assert_int_equal(containerv_attach(cvt.runtime_dir, id_a, &side, &err), 0);

    bool reset = false;
    struct containerv_container *b = cycle(p, a, &reset);
    assert_true(reset);
    assert_string_equal(containerv_id(b), id_a);
    assert_int_equal(containerv_init_pid(b), init_a);
    probe_report(b, out, sizeof(out));
    assert_string_equal(out, "files=0 procs=2 shm=0 sem=0 msg=0 mq=0 host=fresh");
    const char *const tru[] = {"/bin/true", NULL};
    pid_t pid;
    assert_true(containerv_spawn(side, tru, NULL, &pid, &err) < 0); /* A's side door is closed */
    containerv_release(side);
    put(p, b);
    destroy_pool(p);
    cvt_assert_no_leaks(&before, "pool with resets destroyed");
    cvt_snap_free(&before);
}

/* A root workload that changes the init's settings (resource limits, nice
 * value, scheduling policy, CPU affinity, I/O priority, oom_score_adj),
 * which every later spawn inherits, leaves none of them to the next user:
 * the next spawn sees what a fresh container's processes see (the init
 * cannot undo all of it without CAP_SYS_RESOURCE/CAP_SYS_NICE, so the pool
 * replaces the container and says why). */
static void test_reset_init_settings(void **st)
{
    (void)st;
    setup_names();
    build_probe();
    make_template_ex("settings", true, false);
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_pool *p = make_pool("settings", 1);
    wait_stats(p, 1, 0);
    char fresh[512], out[512];
    const char *const settings[] = {"/bin/cvprobe", "settings", NULL};
    const char *const spoil[] = {"/bin/cvprobe", "spoil", NULL};
    struct containerv_container *a = get(p);
    assert_int_equal(cvt_run(a, settings, NULL, fresh, sizeof(fresh)), 0);
    assert_int_equal(cvt_run(a, spoil, NULL, NULL, 0), 0);
    assert_int_equal(cvt_run(a, settings, NULL, out, sizeof(out)), 0);
    assert_string_not_equal(out, fresh); /* the spoil reached pid 1, and spawns inherit it */
    bool reset = false;
    struct containerv_container *b = cycle(p, a, &reset);
    assert_false(reset);
    struct containerv_pool_stats s;
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    if (!strstr(s.last_replace, "the init's"))
        fail_msg("replaced for another reason: %s", s.last_replace);
    assert_int_equal(cvt_run(b, settings, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, fresh);
    put(p, b);
    destroy_pool(p);
    cvt_assert_no_leaks(&before, "pool destroyed");
    cvt_snap_free(&before);
}

/* A container without seccomp (keyctl, add_key allowed) has a session
 * keyring of its own, not its creator's; and since keys outlive processes,
 * such a container is replaced when it comes back, never reset. */
static void test_unconfined_keyring(void **st)
{
    (void)st;
    setup_names();
    build_probe();
    template_relax = CONTAINERV_RELAX_SECCOMP;
    make_template_ex("unconfined", true, true);
    template_relax = CONTAINERV_RELAX_CAPS;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_pool *p = make_pool("unconfined", 1);
    wait_stats(p, 1, 0);
    char out[64], host[64];
    const char *const keyring[] = {"/bin/cvprobe", "keyring", NULL};
    snprintf(host, sizeof(host), "%ld", syscall(SYS_keyctl, 0, -3, 0));
    struct containerv_container *a = get(p);
    assert_int_equal(cvt_run(a, keyring, NULL, out, sizeof(out)), 0);
    if (atol(out) <= 0 || !strcmp(out, host))
        fail_msg("the container's session keyring is %s, the host's %s", out, host);
    bool reset = true;
    struct containerv_container *b = cycle(p, a, &reset);
    assert_false(reset);
    struct containerv_pool_stats s;
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    if (!strstr(s.last_replace, "seccomp"))
        fail_msg("replaced for another reason: %s", s.last_replace);
    put(p, b);
    destroy_pool(p);
    cvt_assert_no_leaks(&before, "pool destroyed");
    cvt_snap_free(&before);
}

/* Whatever a user leaves in the writable layer, /tmp, /dev/shm, IPC, or in
 * the attributes of those places, makes the pool replace the container. */
static void test_reset_detects(void **st)
{
    (void)st;
    setup_names();
    build_probe();
    make_template_ex("plain", true, false);
    struct containerv_pool *p = make_pool("plain", 1);
    wait_stats(p, 1, 0);
    static const char *const dirt[][3] = {
        {"file", "/userA"},      {"file", "/etc/userA"}, {"file", "/tmp/userA"},
        {"file", "/dev/shm/userA"}, {"chmod", "/tmp"},  {"chmod", "/"},
        {"shm", NULL},           {"sem", NULL},         {"msg", NULL},
        {"mq", NULL},
    };
    char out[512];
    struct containerv_container *c = get(p);
    for (size_t i = 0; i < sizeof(dirt) / sizeof(dirt[0]); i++) {
        const char *const argv[] = {"/bin/cvprobe", dirt[i][0], dirt[i][1], NULL};
        assert_int_equal(cvt_run(c, argv, NULL, NULL, 0), 0);
        char id[80];
        snprintf(id, sizeof(id), "%s", containerv_id(c));
        bool reset = true;
        c = cycle(p, c, &reset);
        if (reset)
            fail_msg("'%s %s' was not noticed: the container was reset", dirt[i][0],
                     dirt[i][1] ? dirt[i][1] : "");
        assert_string_not_equal(containerv_id(c), id);
        probe_report(c, out, sizeof(out));
        assert_string_equal(out, "files=0 procs=2 shm=0 sem=0 msg=0 mq=0 host=fresh");
    }
    put(p, c);
    destroy_pool(p);
}

/* A template whose bind targets and workdir are missing from the image: the
 * container's set-up makes them in the writable layer (/mnt, /mnt/cvdata,
 * /opt/cv/conf for a file bind, /etc copied up for /etc/cvt-extra, /srv/app),
 * which is how the container is new, so returns are reset in place, not
 * replaced; what a user does beyond that (a file in the workdir, a chmod of
 * a made directory, a file beside a mount point, the workdir removed, a
 * file made and removed again) is still noticed and the container replaced. */
static void test_reset_made_targets(void **st)
{
    (void)st;
    setup_names();
    build_probe();
    char src_dir[600], src_file[600];
    snprintf(src_dir, sizeof(src_dir), "%s/bind-dir", cvt.tmp);
    snprintf(src_file, sizeof(src_file), "%s/bind-file", cvt.tmp);
    assert_int_equal(mkdir(src_dir, 0755), 0);
    cvt_write_file(src_file, "conf\n");
    struct containerv_error err;
    struct containerv_options *o = containerv_options_new();
    assert_non_null(o);
    assert_int_equal(containerv_options_add_lower(o, probe_layer), 0);
    assert_int_equal(containerv_options_add_lower(o, cvt.helper_layer), 0);
    assert_int_equal(containerv_options_add_lower(o, cvt.rootfs), 0);
    assert_int_equal(containerv_options_set_hostname(o, "fresh"), 0);
    assert_int_equal(containerv_options_set_workdir(o, "/srv/app"), 0);
    assert_int_equal(containerv_options_add_bind(o, src_dir, "/mnt/cvdata", true), 0);
    assert_int_equal(containerv_options_add_bind(o, src_file, "/opt/cv/conf", true), 0);
    assert_int_equal(containerv_options_add_bind(o, src_dir, "/etc/cvt-extra", true), 0);
    if (containerv_template_create(state, "made", o, &err) < 0)
        fail_msg("template create: %s", err.message);
    containerv_options_free(o);
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_pool *p = make_pool("made", 1);
    wait_stats(p, 1, 0);

    /* users who only run processes: the same container, reset each time */
    const char *const pwd[] = {"/bin/pwd", NULL};
    char out[512], id[80];
    struct containerv_container *c = get(p);
    snprintf(id, sizeof(id), "%s", containerv_id(c));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cvt_run(c, pwd, NULL, out, sizeof(out)), 0);
        assert_string_equal(out, "/srv/app");
        bool reset = false;
        c = cycle(p, c, &reset);
        if (!reset) {
            struct containerv_pool_stats s;
            assert_int_equal(containerv_pool_get_stats(p, &s), 0);
            fail_msg("return %d replaced the container: %s", i + 1, s.last_replace);
        }
        assert_string_equal(containerv_id(c), id);
    }

    /* argv, and where the init finds it */
    static const char *const dirt[][5] = {
        {"/bin/cvprobe", "file", "/srv/app/userA", NULL, "/srv/app"}, /* a file in the workdir */
        {"/bin/cvprobe", "chmod", "/srv/app", NULL, "/srv/app"},      /* the workdir's mode */
        {"/bin/cvprobe", "chmod", "/mnt", NULL, "/mnt"},              /* a directory made for a bind */
        {"/bin/cvprobe", "chmod", "/opt/cv", NULL, "/opt/cv"},
        {"/bin/cvprobe", "file", "/mnt/userA", NULL, "/mnt"},         /* beside a mount point */
        {"/bin/cvprobe", "file", "/etc/userA", NULL, "/etc"},         /* in a directory copied up */
        {"/bin/cvprobe", "file", "/userA", NULL, "/"},
        {"/bin/rmdir", "/srv/app", NULL, NULL, "/srv"},               /* a made directory removed */
        /* written, then removed: only the times of /srv tell (the sleep: on
         * kernels without multigrain timestamps, before 6.13, a change in
         * the clock tick of the init's record keeps them; docs/pools.md) */
        {"/bin/sh", "-c", "sleep 0.02; touch /srv/x && rm /srv/x", NULL, "/srv"},
    };
    for (size_t i = 0; i < sizeof(dirt) / sizeof(dirt[0]); i++) {
        const char *const argv[] = {dirt[i][0], dirt[i][1], dirt[i][2], dirt[i][3], NULL};
        assert_int_equal(cvt_run(c, argv, NULL, NULL, 0), 0);
        snprintf(id, sizeof(id), "%s", containerv_id(c));
        bool reset = true;
        c = cycle(p, c, &reset);
        if (reset)
            fail_msg("'%s %s %s' was not noticed: the container was reset", argv[0], argv[1],
                     argv[2] ? argv[2] : "");
        assert_string_not_equal(containerv_id(c), id);
        struct containerv_pool_stats s;
        assert_int_equal(containerv_pool_get_stats(p, &s), 0);
        char want[128];
        snprintf(want, sizeof(want), "is not as new: writable layer: %s", dirt[i][4]);
        if (!strstr(s.last_replace, want) || strstr(s.last_replace, want)[strlen(want)] != '\0')
            fail_msg("'%s %s' replaced for another reason: %s", argv[0], argv[1], s.last_replace);
        /* the next user finds the container as the template makes it */
        const char *const ls[] = {"/bin/sh", "-c", "ls -a /srv/app /mnt; stat -c %a /srv/app /mnt /opt/cv", NULL};
        assert_int_equal(cvt_run(c, ls, NULL, out, sizeof(out)), 0);
        assert_string_equal(out, "/mnt:\n.\n..\ncvdata\n\n/srv/app:\n.\n..\n755\n755\n755");
    }
    /* and a fresh container that stays clean is reset again */
    snprintf(id, sizeof(id), "%s", containerv_id(c));
    bool reset = false;
    c = cycle(p, c, &reset);
    assert_true(reset);
    assert_string_equal(containerv_id(c), id);
    put(p, c);
    destroy_pool(p);
    cvt_assert_no_leaks(&before, "pool of a template with made targets destroyed");
    cvt_snap_free(&before);
}

/* containerv_reset itself: as new after processes (one still running, its
 * handle closed), refused for relaxed security and for attached handles. */
static void test_reset_api(void **st)
{
    (void)st;
    struct containerv_error err;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_container *c = cvt_create(cvt_options());
    assert_int_equal(containerv_reset(c, &err), 0);
    const char *const sleeper[] = {"/bin/cvtest", "sleep", "60", NULL};
    pid_t pid;
    assert_int_equal(containerv_spawn(c, sleeper, NULL, &pid, &err), 0);
    int pidfd = containerv_process_pidfd(c, pid);
    assert_true(pidfd >= 0);
    assert_int_equal(containerv_reset(c, &err), 0);
    assert_int_equal(containerv_process_pidfd(c, pid), -1); /* its handle is gone */
    assert_int_equal(kill(pid, 0), -1);                     /* and so is it */
    cvt_assert_out(c, containerv_id(c), "hostname");
    struct containerv_container *side = NULL;
    assert_int_equal(containerv_attach(cvt.runtime_dir, containerv_id(c), &side, &err), 0);
    assert_int_equal(containerv_reset(side, &err), -EOPNOTSUPP);
    containerv_release(side);
    const char *const w[] = {"/bin/cvtest", "write", "/tmp/x", "x", NULL};
    assert_int_equal(cvt_run(c, w, NULL, NULL, 0), 0);
    assert_int_equal(containerv_reset(c, &err), -EBUSY);
    assert_non_null(strstr(err.message, "/tmp"));
    cvt_destroy(c);

    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_relax(o, CONTAINERV_RELAX_CAPS), 0);
    c = cvt_create(o);
    assert_int_equal(containerv_reset(c, &err), -EOPNOTSUPP);
    assert_non_null(strstr(err.message, "relaxed"));
    cvt_destroy(c);
    assert_int_equal(containerv_reset(NULL, &err), -EINVAL);
    cvt_assert_no_leaks(&before, "containers reset then destroyed");
    cvt_snap_free(&before);
}

/* containerv_pool_wait_ready: settled after the fill and after a return
 * (the reset done), and a failing template is an error, not a hang. */
static void test_wait_ready(void **st)
{
    (void)st;
    setup_names();
    make_template("basic", false);
    struct containerv_error err;
    struct containerv_pool *p = make_pool("basic", 2);
    assert_int_equal(containerv_pool_wait_ready(p, 60000, &err), 0);
    struct containerv_pool_stats s;
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    assert_int_equal(s.warm_containers, 2);
    struct containerv_container *c = get(p);
    put(p, c);
    assert_int_equal(containerv_pool_wait_ready(p, 60000, &err), 0);
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    assert_int_equal(s.resets, 1);
    assert_int_equal(s.warm_containers, 2);
    destroy_pool(p);
    assert_int_equal(containerv_pool_wait_ready(NULL, 0, &err), -EINVAL);

    /* a lower layer that is gone by the time the pool builds from it */
    char gone[600];
    snprintf(gone, sizeof(gone), "%s/gone-layer", cvt.tmp);
    assert_int_equal(mkdir(gone, 0755), 0);
    struct containerv_options *o = containerv_options_new();
    assert_int_equal(containerv_options_add_lower(o, gone), 0);
    assert_int_equal(containerv_options_add_lower(o, cvt.rootfs), 0);
    if (containerv_template_create(state, "gone", o, &err) < 0)
        fail_msg("template create: %s", err.message);
    containerv_options_free(o);
    assert_int_equal(rmdir(gone), 0);
    p = make_pool("gone", 1);
    assert_int_equal(containerv_pool_wait_ready(p, 60000, &err), -EIO);
    assert_non_null(strstr(err.message, "gone-layer"));
    destroy_pool(p);
}

struct worker {
    struct containerv_pool *p;
    int rounds, failures;
};

static void *worker(void *arg)
{
    struct worker *w = arg;
    static const char *const argv[] = {"/bin/true", NULL};
    for (int i = 0; i < w->rounds; i++) {
        struct containerv_container *c = NULL;
        struct containerv_error err;
        pid_t pid;
        int code = -1;
        if (containerv_pool_get_container(w->p, &c, &err) < 0 ||
            containerv_spawn(c, argv, NULL, &pid, &err) < 0 ||
            containerv_wait(c, pid, &code, &err) < 0 || code != 0)
            w->failures++;
        if (c && containerv_pool_return_container(w->p, c, &err) < 0)
            w->failures++;
    }
    return NULL;
}

static void test_concurrent_users(void **st)
{
    (void)st;
    setup_names();
    make_template("conc", false);
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_pool *p = make_pool("conc", 2);
    struct worker w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (struct worker){.p = p, .rounds = 8};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    struct containerv_pool_stats s;
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    assert_int_equal(s.hits + s.misses, 24);
    assert_int_equal(s.in_use, 0);
    destroy_pool(p); /* returned containers not yet disposed of go too */
    cvt_assert_no_leaks(&before, "pool destroyed with returns pending");
    cvt_snap_free(&before);
}

/* A child process owns a pool, is killed with SIGKILL; gc leaves nothing. */
static void test_killed_owner(void **st)
{
    (void)st;
    setup_names();
    make_template("killed", false);
    struct cvt_snap before;
    cvt_snapshot(&before);
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        struct containerv_pool *p = make_pool("killed", 3);
        wait_stats(p, 3, 0);
        struct containerv_container *c = get(p); /* one in use, too */
        (void)c;
        if (write(ready[1], "r", 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(ready[1]);
    char ch;
    assert_int_equal(read(ready[0], &ch, 1), 1);
    close(ready[0]);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);

    /* the inits die with their creator (PDEATHSIG); wait until all are stale */
    for (int i = 0; i < 3000; i++) {
        struct containerv_info *infos = NULL;
        size_t n = 0, stale = 0;
        struct containerv_error err;
        assert_int_equal(containerv_list(cvt.runtime_dir, &infos, &n, &err), 0);
        for (size_t k = 0; k < n; k++)
            stale += infos[k].status == CONTAINERV_STATUS_STALE;
        containerv_list_free(infos);
        if (n > 0 && stale == n)
            break;
        usleep(10000);
    }
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s --runtime-dir %s gc", cvt.containerv, cvt.runtime_dir);
    assert_int_equal(system(cmd), 0);
    cvt_assert_no_leaks(&before, "pool owner killed, then gc");
    cvt_snap_free(&before);
}

/* try_get: a warm container when one is there (a hit), else -EAGAIN at
 * once, with nothing counted, created or waited for. */
static void test_try_get(void **st)
{
    (void)st;
    setup_names();
    make_template("basic", false);
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_pool *p = make_pool("basic", 1);
    wait_stats(p, 1, 0);
    struct containerv_container *a = NULL, *b = NULL;
    struct containerv_error err;
    assert_int_equal(containerv_pool_try_get_container(p, &a, &err), 0);
    assert_non_null(a);
    assert_int_equal(containerv_pool_try_get_container(p, &b, &err), -EAGAIN);
    assert_null(b);
    assert_int_equal(err.code, EAGAIN);
    struct containerv_pool_stats s;
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 0);
    assert_int_equal(s.in_use, 1);
    put(p, a);
    s = wait_stats(p, 1, 1);
    assert_int_equal(s.resets, 1);
    assert_int_equal(containerv_pool_try_get_container(NULL, &a, &err), -EINVAL);
    destroy_pool(p);
    cvt_assert_no_leaks(&before, "pool after try_get");
    cvt_snap_free(&before);
}

/* An id of the prefix that is taken (here by a live container; after a
 * restart, by the dying containers of a killed owner): the pool skips it
 * and fills, for its background creates and for a miss. */
static void test_taken_ids(void **st)
{
    (void)st;
    setup_names();
    make_template("basic", false);
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_container *held[3];
    struct containerv_options *o = cvt_options();
    for (int i = 0; i < 3; i++) {
        char id[96];
        struct containerv_error err;
        snprintf(id, sizeof(id), "%s%d", pool_prefix, i + 1); /* the pool's first ids */
        if (containerv_create(id, o, &held[i], &err) < 0)
            fail_msg("create %s: %s", id, err.message);
    }
    containerv_options_free(o);
    struct containerv_pool *p = make_pool("basic", 2);
    struct containerv_error err;
    if (containerv_pool_wait_ready(p, -1, &err) < 0)
        fail_msg("the pool did not fill beside taken ids: %s", err.message);
    struct containerv_container *a = get(p), *b = get(p), *c = get(p); /* 2 hits, 1 miss */
    for (int i = 0; i < 3; i++) {
        const char *id = containerv_id(i == 0 ? a : i == 1 ? b : c);
        for (int k = 0; k < 3; k++)
            assert_string_not_equal(id, containerv_id(held[k]));
    }
    struct containerv_pool_stats s;
    assert_int_equal(containerv_pool_get_stats(p, &s), 0);
    assert_int_equal(s.failures, 0);
    assert_int_equal(s.misses, 1);
    put(p, a);
    put(p, b);
    put(p, c);
    destroy_pool(p);
    for (int i = 0; i < 3; i++)
        cvt_destroy(held[i]);
    cvt_assert_no_leaks(&before, "pool beside taken ids");
    cvt_snap_free(&before);
}

static void test_bad_input(void **st)
{
    (void)st;
    setup_names();
    struct containerv_pool *p = NULL;
    struct containerv_error err;
    struct containerv_pool_config cfg;
    containerv_pool_config_init(&cfg);
    cfg.state_dir = state;
    assert_int_equal(containerv_pool_create_ex("nosuch", 1, &cfg, &p, &err), -ENOENT);
    assert_null(p);
    assert_non_null(strstr(err.message, "nosuch"));
    assert_int_equal(containerv_pool_create_ex("basic", 0, &cfg, &p, &err), -EINVAL);
    /* a template in the host's pid namespace: its containers could not be reset */
    struct containerv_options *o = containerv_options_new();
    assert_int_equal(containerv_options_add_lower(o, cvt.rootfs), 0);
    assert_int_equal(containerv_options_set_namespaces(o, CONTAINERV_NS_DEFAULT & ~CONTAINERV_NS_PID), 0);
    if (containerv_template_create(state, "hostpid", o, &err) < 0)
        fail_msg("template create: %s", err.message);
    containerv_options_free(o);
    assert_int_equal(containerv_pool_create_ex("hostpid", 1, &cfg, &p, &err), -EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.message, "pid namespace"));
    assert_int_equal(containerv_pool_get_container(NULL, NULL, &err), -EINVAL);
    assert_int_equal(containerv_pool_destroy(NULL, &err), 0);
}

/* After every test, passed or failed: the pool it left (a failed test's),
 * and the template option it changed. Containers it took and did not return
 * are the caller's (containerv_pool_destroy leaves them): cvt_main's check of
 * the test's runtime dir destroys them and fails the test. */
static int teardown(void **st)
{
    (void)st;
    template_relax = CONTAINERV_RELAX_CAPS;
    if (cur_pool) {
        struct containerv_error err;
        struct containerv_pool *p = cur_pool;
        cur_pool = NULL;
        if (containerv_pool_destroy(p, &err) < 0)
            fail_msg("teardown: pool destroy: %s", err.message);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_hits_misses_refill, teardown),
        cmocka_unit_test_teardown(test_two_users, teardown),
        cmocka_unit_test_teardown(test_reset_api, teardown),
        cmocka_unit_test_teardown(test_wait_ready, teardown),
        cmocka_unit_test_teardown(test_reset_in_place, teardown),
        cmocka_unit_test_teardown(test_reset_detects, teardown),
        cmocka_unit_test_teardown(test_reset_made_targets, teardown),
        cmocka_unit_test_teardown(test_reset_init_settings, teardown),
        cmocka_unit_test_teardown(test_unconfined_keyring, teardown),
        cmocka_unit_test_teardown(test_concurrent_users, teardown),
        cmocka_unit_test_teardown(test_killed_owner, teardown),
        cmocka_unit_test_teardown(test_try_get, teardown),
        cmocka_unit_test_teardown(test_taken_ids, teardown),
        cmocka_unit_test_teardown(test_bad_input, teardown),
    };
    return cvt_main("pool", tests, sizeof(tests) / sizeof(tests[0]), 280);
}
