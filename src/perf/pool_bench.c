/* The pooled benchmark modes: a template of the benchmark's rootfs saved in
 * the benchmark's temporary directory, and a pool of it whose containers live
 * in the benchmark's runtime dir; both go with the temporary directory. */
#include "bench.h"

#include <containerv/pool.h>

#include <sys/stat.h>

int cvb_pool_open(struct cvb *b, int size, struct containerv_pool **pool,
                  struct containerv_error *err)
{
    char state[PATH_MAX + 8], prefix[48];
    struct containerv_pool_config cfg;
    struct containerv_options *o = cvb_cold_options(b);
    if (!o)
        return cv_error(err, ENOMEM, "bench.pool", "allocating options");
    snprintf(state, sizeof(state), "%s/state", b->tmp);
    int r = containerv_template_create(state, "bench", o, err);
    containerv_options_free(o);
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
