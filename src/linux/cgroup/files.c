/* The cgroup layer for the runtime metrics (src/metrics): the container's
 * cgroup directories, opened for reading their counters, and the pids in
 * them. Nothing here creates, changes or removes a cgroup. */
#include "cg.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>

int cv_cgroup_open_dir(const struct cv_cgroup *cg, enum cv_cgroup_v1_ctrl ctrl)
{
    if (cg->mode == CV_CGROUP_V2) {
        if (cg->v2_fd < 0)
            return -ENOENT;
        int fd = openat(cg->v2_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
    }
    if (cg->mode != CV_CGROUP_V1 || (unsigned)ctrl >= CV_V1_COUNT)
        return -ENOENT;
    int c = cg_probe.v1_alias[ctrl] >= 0 ? cg_probe.v1_alias[ctrl] : (int)ctrl;
    if (!(cg->v1_created & CG_BIT(c)))
        return -ENOENT;
    return cg_v1_open_leaf(cg, c);
}

int cv_cgroup_pids(const struct cv_cgroup *cg, pid_t **pids, size_t *n)
{
    static const enum cv_cgroup_v1_ctrl order[] = {CV_V1_PIDS, CV_V1_FREEZER, CV_V1_MEMORY, CV_V1_CPU,
                                                   CV_V1_CPUACCT, CV_V1_BLKIO};
    struct pidlist pl = {0};
    int r = -ENOENT;
    *pids = NULL;
    *n = 0;
    /* v1: one hierarchy is enough (each holds every process of the container) */
    for (size_t i = 0; r == -ENOENT && i < sizeof(order) / sizeof(order[0]); i++) {
        int dfd = cv_cgroup_open_dir(cg, order[i]);
        if (dfd == -ENOENT)
            continue;
        if (dfd < 0)
            return dfd;
        r = cg_collect_tree(dfd, &pl, 0);
        close(dfd);
        if (cg->mode == CV_CGROUP_V2)
            break;
    }
    if (r < 0) {
        cg_pidlist_free(&pl);
        return r;
    }
    cg_pidlist_sort_unique(&pl);
    *pids = pl.v;
    *n = pl.n;
    return 0;
}
