/* What the runtime reads back from its runtime dir and from /proc
 * (src/linux/state.c): a state file <id>.json, which a runtime killed while
 * writing can leave cut short, as list, gc and attach read it
 * (cv_state_parse, and the whole path through containerv_list and
 * containerv_attach on a file of that content), attach's spawn defaults
 * (cv_state_parse_spawn_defaults), the cgroup's path and the parents it made
 * (cv_state_parse_cgroup, cv_cgroup_made_parse: what gc and delete remove), and field 22 of a /proc/<pid>/stat line,
 * whose name field a process chooses (cv_proc_stat_start_time). The input is
 * the file's content and, as a string, the stat line. */
#include "fuzz.h"

#include "../../src/linux/linux.h"

#include <jansson.h>
#include <stdio.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char rt[128], path[192];
    if (!rt[0]) {
        snprintf(rt, sizeof(rt), "%s/run", fuzz_scratch_dir());
        if (mkdir(rt, 0700) < 0 && errno != EEXIST)
            abort();
        snprintf(path, sizeof(path), "%s/fz.json", rt);
    }
    if (size > 65536)
        return 0;
    const char *text = (const char *)data;

    struct containerv_info info, listed;
    int64_t start = -2;
    memset(&info, 0, sizeof(info));
    int r = cv_state_parse(text, size, &info, &start);
    if (r == 0) {
        if (info.init_pid < 0 || start < -1 || strlen(info.rootfs) >= sizeof(info.rootfs))
            abort();
        /* the pid is the file's number, not a truncation of it (a pid_t cast
         * of 2^32 + 1 names the host's init) */
        json_t *j = json_loadb(text, size, 0, NULL);
        if (!j || json_integer_value(json_object_get(j, "init_pid")) != info.init_pid)
            abort();
        json_decref(j);
    } else if (r != -EBADMSG) {
        abort();
    }

    struct cv_spawn_defaults d;
    int r2 = cv_state_parse_spawn_defaults(text, size, &d);
    if (r2 == 0) {
        if (!d.workdir || d.workdir[0] != '/' || d.uid == (uid_t)-1 || d.gid == (gid_t)-1 || d.n_env < 0 ||
            d.n_env > 4096 || d.env[d.n_env])
            abort();
        for (int i = 0; i < d.n_env; i++)
            if (!strchr(d.env[i], '='))
                abort();
        cv_spawn_defaults_free(&d);
    } else if (r2 != -EBADMSG && r2 != -ENOMEM) {
        abort();
    }

    char cgpath[CV_CGROUP_PATH_MAX], made[64];
    if (cv_state_parse_cgroup(text, size, cgpath, sizeof(cgpath), made, sizeof(made)) == 0) {
        if (cgpath[0] && cv_cgroup_path_invalid(cgpath))
            abort(); /* accepted, it must be a path the library takes */
        struct cv_cgroup cg = {.v2_fd = -1};
        snprintf(cg.path, sizeof(cg.path), "%s", cgpath);
        if (cv_cgroup_made_parse(&cg, made) == 0) {
            int cap = 0; /* never more parents than the path names */
            for (const char *q = cg.path; *q; q++)
                cap += *q != '/' && (q == cg.path || q[-1] == '/');
            for (int c = 0; c < CV_V1_COUNT; c++)
                if (cg.made[c] > (cap > 0 ? cap - 1 : 0))
                    abort();
        }
    }

    char *line = fuzz_str(data, size);
    if (cv_proc_stat_start_time(line) < -1)
        abort();
    free(line);

    /* the same bytes as a state file nobody holds: list shows it stale (or
     * not at all, when it does not parse), attach refuses it */
    fuzz_write_file(path, data, size);
    struct containerv_info *infos = NULL;
    size_t count = 0;
    struct containerv_error err;
    if (containerv_list(rt, &infos, &count, &err) < 0 || count > 1 || (r != 0 && count != 0) ||
        (r == 0 && count != 1))
        abort();
    if (count == 1) {
        listed = infos[0];
        if (listed.status != CONTAINERV_STATUS_STALE || listed.init_pid != info.init_pid ||
            strcmp(listed.rootfs, info.rootfs) || strcmp(listed.id, "fz"))
            abort();
    }
    containerv_list_free(infos);
    struct containerv_container *c = NULL;
    if (containerv_attach(rt, "fz", &c, &err) == 0 || c)
        abort();
    return 0;
}
