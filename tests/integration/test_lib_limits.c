/* Resource limits: memory (OOM kill inside the container only), pids (a fork
 * bomb stops at the limit), and the container's processes in its cgroup. */
#include "cvt.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct containerv_container *make(struct containerv_options *o)
{
    struct containerv_container *c = cvt_create(o);
    containerv_options_free(o);
    return c;
}

/* With swap on, a memory limit alone lets the workload swap past it: the
 * OOM tests limit memory + swap to the same figure (no swap). */
static bool host_has_swap(void)
{
    return cvt_count_lines("/proc/swaps") > 1;
}

static void test_memory_limit_oom(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    uint64_t bytes;
    assert_int_equal(containerv_parse_size("32M", &bytes), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, bytes), 0);
    struct containerv_container *c = NULL;
    if (host_has_swap()) {
        struct containerv_error err;
        assert_int_equal(containerv_options_set_memory_swap_limit(o, bytes), 0);
        if (containerv_create(cvt_id(), o, &c, &err) < 0) {
            containerv_options_free(o);
            if (strstr(err.message, "swap accounting"))
                cvt_skip_host("swap is on but not accounted (v1 without swapaccount=1): an OOM "
                              "cannot be forced");
            fail_msg("create with memory + swap limits: %s", err.message);
        }
        containerv_options_free(o);
    } else {
        c = make(o);
    }

    char out[128];
    /* under the limit: fine */
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "alloc", "8", NULL), 0);
    assert_string_equal(out, "OK 8");
    /* over it: the OOM killer takes the workload, and only it */
    int rc = cvt_cvtest(c, out, sizeof(out), "alloc", "200", NULL);
    if (rc != 137)
        fail_msg("cvtest alloc 200 under --memory 32M: want exit 137 (OOM kill), got %d (\"%s\")",
                 rc, out);
    /* the container (its init) and this process survived */
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "exit", "7", NULL), 7);
    assert_int_equal(kill(containerv_init_pid(c), 0), 0);
    cvt_destroy(c);
    cvt_assert_no_leaks(&before, "memory-limited container");
    cvt_snap_free(&before);
}

static void test_pids_limit_stops_fork_bomb(void **state)
{
    (void)state;
    struct cvt_snap before;
    cvt_snapshot(&before);
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_pids_limit(o, 16), 0);
    struct containerv_container *c = make(o);

    char out[128];
    /* a few forks are fine */
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "forkbomb", "5", NULL), 0);
    assert_string_equal(out, "5 OK");
    /* a hundred are not */
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "forkbomb", "100", NULL), 0);
    int forked = -1;
    char err[32] = "";
    if (sscanf(out, "%d %31s", &forked, err) != 2)
        fail_msg("forkbomb output \"%s\"", out);
    if (forked >= 16 || forked < 1 || strcmp(err, "EAGAIN"))
        fail_msg("forkbomb 100 under --pids 16: want fewer than 16 forks and EAGAIN, got \"%s\"", out);
    /* and the limit is not a leak: the bomb's children are gone */
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "forkbomb", "5", NULL), 0);
    assert_string_equal(out, "5 OK");
    cvt_destroy(c);
    cvt_assert_no_leaks(&before, "pids-limited container");
    cvt_snap_free(&before);
}

/* The init and the workloads live in a cgroup named after the container. */
static void test_processes_in_container_cgroup(void **state)
{
    (void)state;
    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_pids_limit(o, 64), 0);
    assert_int_equal(containerv_options_set_memory_limit(o, 256ull << 20), 0);
    struct containerv_container *c = make(o);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)containerv_init_pid(c));
    char *s = cvt_read_file(path);
    assert_non_null(s);
    if (!strstr(s, containerv_id(c)))
        fail_msg("the init's cgroups do not name the container %s:\n%s", containerv_id(c), s);
    /* every hierarchy that holds a limit */
    const char *ctrls[] = {"memory", "pids"};
    for (size_t i = 0; i < 2; i++) {
        bool found = false;
        for (char *line = s; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) : strlen(line);
            char buf[512];
            snprintf(buf, sizeof(buf), "%.*s", (int)len, line);
            bool v2 = !strncmp(buf, "0::", 3);
            if ((strstr(buf, ctrls[i]) || v2) && strstr(buf, containerv_id(c)))
                found = true;
        }
        if (!found)
            fail_msg("the init is not in a %s cgroup of its own:\n%s", ctrls[i], s);
    }
    free(s);
    /* from inside, a cgroup namespace hides the host's hierarchy: every line is "/" */
    char out[4096];
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "cat", "/proc/self/cgroup", NULL), 0);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        size_t len = strlen(line);
        if (len < 2 || strcmp(line + len - 2, ":/"))
            fail_msg("inside the container /proc/self/cgroup shows \"%s\" (want a cgroup "
                     "namespace root, \"/\")", line);
    }
    cvt_destroy(c);
}

/* The library keeps each v1 hierarchy's "containerv" directory open for the
 * life of the process. A process may close fds it did not open and reuse
 * the numbers: then the library must notice, open its directories again,
 * and never make a container's cgroup where the number now points. */
static void test_cgroup_dir_fds_reused(void **state)
{
    (void)state;
    char scratch[512];
    snprintf(scratch, sizeof(scratch), "%s/not-a-cgroup", cvt.tmp);
    assert_int_equal(mkdir(scratch, 0700), 0);
    /* the directory fds the warm-up creates left open */
    int taken[8], n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d)) && n < 8;) {
        char link[64], target[512];
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(link, target, sizeof(target) - 1);
        if (k <= 0)
            continue;
        target[k] = '\0';
        size_t len = strlen(target);
        if (!strncmp(target, "/sys/fs/cgroup/", 15) && len > 11 && !strcmp(target + len - 11, "/containerv"))
            taken[n++] = atoi(e->d_name);
    }
    closedir(d);
    if (n == 0)
        cvt_skip_host("not a v1 host: the library keeps no such fd");
    /* close them, as a process closing every fd would, and reuse the numbers */
    int other = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(other >= 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(dup3(other, taken[i], O_CLOEXEC), taken[i]);
    close(other);

    struct containerv_options *o = cvt_options();
    assert_int_equal(containerv_options_set_pids_limit(o, 16), 0);
    struct containerv_container *c = make(o);
    char path[512];
    snprintf(path, sizeof(path), "/sys/fs/cgroup/pids/containerv/%s/pids.max", containerv_id(c));
    char *max = cvt_read_file(path);
    if (!max || strncmp(max, "16", 2))
        fail_msg("%s: want 16, got \"%s\"", path, max ? max : "(missing)");
    free(max);
    char out[128];
    assert_int_equal(cvt_cvtest(c, out, sizeof(out), "forkbomb", "100", NULL), 0);
    if (atoi(out) >= 16)
        fail_msg("forkbomb 100 under --pids 16 after the fds were reused: \"%s\"", out);
    cvt_destroy(c);
    /* nothing was made where the old numbers point now */
    d = opendir(scratch);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            fail_msg("%s/%s was made in a directory the library does not own", scratch, e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++)
        close(taken[i]);
    rmdir(scratch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_limit_oom),
        cmocka_unit_test(test_pids_limit_stops_fork_bomb),
        cmocka_unit_test(test_processes_in_container_cgroup),
        cmocka_unit_test(test_cgroup_dir_fds_reused),
    };
    return cvt_main("lib_limits", tests, sizeof(tests) / sizeof(tests[0]), 240);
}
