/*
 * containerv templates and warm container pools (docs/pools.md).
 *
 * A template is a named, saved container specification (the options of
 * containerv_options_*: rootfs or lower layers, limits, environment, hostname,
 * user, working directory, namespaces, id maps, binds, security relaxations).
 * It is stored as <state dir>/templates/<name>.json, a documented JSON format;
 * a corrupt or hand-edited file is refused with an error naming the file and
 * the field. The state dir is given by the caller, or $CONTAINERV_STATE_DIR,
 * or /var/lib/containerv.
 *
 * A pool keeps `pool_size` containers of one template warm (created, idle,
 * waiting), so that get + spawn costs about a fork and exec. A background
 * thread, owned by the pool, refills it and takes back returned containers:
 * each is reset in place (containerv_reset: every process killed, then
 * checked to be as new) or, when it is not as new, destroyed and replaced by
 * a fresh one (docs/pools.md, "reset vs replace"), so one user's state never
 * reaches the next.
 *
 * Same error convention as containerv.h: 0 or a negative errno, details in
 * the caller's struct containerv_error (may be NULL); nothing is printed.
 */
#ifndef CONTAINERV_POOL_H
#define CONTAINERV_POOL_H

#include <containerv/containerv.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ templates */

/* The state dir used when none is given: $CONTAINERV_STATE_DIR, else
 * /var/lib/containerv. */
CONTAINERV_API const char *containerv_default_state_dir(void);

/* Save opts as template name ([A-Za-z0-9][A-Za-z0-9_.-]{0,63}) under
 * state_dir (NULL: the default), replacing an earlier one of that name
 * (atomically: write then rename). The runtime dir, trace callback and
 * die-with-parent setting are not part of a template. */
CONTAINERV_API int containerv_template_create(const char *state_dir, const char *name,
                                              const struct containerv_options *opts,
                                              struct containerv_error *err);
/* Load a template into new options (*opts is the caller's:
 * containerv_options_free). -ENOENT when there is no such template; -EINVAL
 * (step "template.parse") when the file is corrupt, naming the file and field. */
CONTAINERV_API int containerv_template_load(const char *state_dir, const char *name,
                                            struct containerv_options **opts,
                                            struct containerv_error *err);
/* The template's canonical JSON (validated; malloc'd, the caller frees). */
CONTAINERV_API int containerv_template_show(const char *state_dir, const char *name, char **json,
                                            struct containerv_error *err);
/* The names of the templates, sorted (containerv_template_list_free). An
 * absent state dir is an empty list. */
CONTAINERV_API int containerv_template_list(const char *state_dir, char ***names, size_t *count,
                                            struct containerv_error *err);
CONTAINERV_API void containerv_template_list_free(char **names, size_t count);
CONTAINERV_API int containerv_template_delete(const char *state_dir, const char *name,
                                              struct containerv_error *err);

/* ---------------------------------------------------------------- pools */

struct containerv_pool;

struct containerv_pool_config {
    const char *state_dir;   /* where the template lives; NULL: the default */
    const char *runtime_dir; /* where the containers' state lives; NULL: the template's default */
    const char *id_prefix;   /* container ids are "<prefix><n>"; NULL: "cvp<pid>x<k>-" */
};

CONTAINERV_API void containerv_pool_config_init(struct containerv_pool_config *cfg);

/* Load the template, start the background thread, and fill the pool to
 * pool_size (1..1024) in the background: create returns at once. */
CONTAINERV_API int containerv_pool_create(const char *template_name, int pool_size,
                                          struct containerv_pool **pool,
                                          struct containerv_error *err);
CONTAINERV_API int containerv_pool_create_ex(const char *template_name, int pool_size,
                                             const struct containerv_pool_config *cfg,
                                             struct containerv_pool **pool,
                                             struct containerv_error *err);

/* Take a container: a warm one when ready (O(1), a hit), else one created
 * now in the calling thread (a miss). An empty pool is slower, never an
 * error; an error is a failed cold create. The container is the caller's
 * until it is returned (or destroyed with containerv_destroy). A container
 * made on a miss dies with the calling thread (die-with-parent); warm ones
 * live as long as the pool. Thread-safe. */
CONTAINERV_API int containerv_pool_get_container(struct containerv_pool *pool,
                                                 struct containerv_container **container,
                                                 struct containerv_error *err);
/* Take a warm container only if one is ready now: 0 (a hit, as get), or
 * -EAGAIN when none is; then nothing is counted, created or waited for (not
 * even a reset under way), so it never blocks. For an event loop that sends
 * its misses to a thread of its own, which calls containerv_pool_get_container
 * (the container made there dies with that thread). Thread-safe. */
CONTAINERV_API int containerv_pool_try_get_container(struct containerv_pool *pool,
                                                     struct containerv_container **container,
                                                     struct containerv_error *err);
/* Give a container back: the pool takes ownership at once; its background
 * thread resets it in place for the next get when it is as new, else
 * destroys it (with everything in it) and builds a fresh one. A container
 * made on a miss is always replaced. O(1). Thread-safe. */
CONTAINERV_API int containerv_pool_return_container(struct containerv_pool *pool,
                                                    struct containerv_container *container,
                                                    struct containerv_error *err);
/* Wait until the pool is settled: every returned container taken back
 * (reset or replaced) and the pool owning pool_size containers again (warm +
 * lent). timeout_ms < 0: no limit. -ETIMEDOUT when it is not settled in
 * time; -EIO (with the pool's last error) when a background create failed.
 * For benchmarks and tests, and to wait for a new pool to fill. */
CONTAINERV_API int containerv_pool_wait_ready(struct containerv_pool *pool, int timeout_ms,
                                              struct containerv_error *err);

/* Stop the thread, destroy the warm and returned containers, free the pool.
 * Containers taken and not returned stay the caller's handles (to
 * containerv_destroy), but a warm one was made by the pool's thread with
 * die-with-parent, so its init is killed when that thread ends: return or
 * destroy them first. (Known gap, docs/pools.md: they should outlive it.) */
CONTAINERV_API int containerv_pool_destroy(struct containerv_pool *pool,
                                           struct containerv_error *err);

struct containerv_pool_stats {
    char template_name[65];
    int pool_size;
    int warm_containers;   /* ready to be taken now */
    int in_use;            /* taken and not returned */
    uint64_t hits;         /* gets served by a warm container */
    uint64_t misses;       /* gets that created a container cold */
    uint64_t refills;      /* warm containers built by the background thread */
    uint64_t resets;       /* returned containers reset in place (containerv_reset) */
    uint64_t replaces;     /* returned containers destroyed (not as new, or made on a miss) */
    uint64_t failures;     /* background creates that failed */
    uint64_t mean_refill_ns; /* mean time of one background create */
    uint64_t mean_reset_ns;  /* mean time of one successful reset */
    char last_error[512];  /* the last background failure, "" when none */
    char last_replace[256]; /* why the last returned container was replaced, "" when none
                             * (e.g. "reset: container 'x' is not as new: /tmp") */
};

CONTAINERV_API int containerv_pool_get_stats(struct containerv_pool *pool,
                                             struct containerv_pool_stats *stats);

#ifdef __cplusplus
}
#endif
#endif
