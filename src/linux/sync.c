/* What the child (child.c, in the library) and the init (init/main.c, a
 * program of its own) share: the start-up report on the sync socket and
 * the closing of inherited fds. Both make only raw system calls and
 * snprintf here (childsys.h: the child shares its creator's errno), so this
 * compiles against glibc and musl alike. */
#include "childsys.h"
#include "linux.h"

#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>

int cv_child_fail(struct cv_sync_msg *m, const char *step, int code, const char *what)
{
    m->step = CV_SYNC_ERROR;
    m->code = code < 0 ? -code : code;
    snprintf(m->where, sizeof(m->where), "%s", step);
    snprintf(m->what, sizeof(m->what), "%s", what ? what : "");
    return code < 0 ? code : -code;
}

void cv_child_step(struct cv_sync_msg *m, const char *step, uint64_t start)
{
    if (m->n_steps >= sizeof(m->steps) / sizeof(m->steps[0]))
        return;
    snprintf(m->steps[m->n_steps].name, sizeof(m->steps[0].name), "%s", step);
    m->steps[m->n_steps].ns = cv_now_ns() - start;
    m->n_steps++;
}

int cv_sync_send(int fd, const struct cv_sync_msg *m)
{
    long n;
    do
        n = cs_send(fd, m, sizeof(*m), MSG_NOSIGNAL);
    while (n == -EINTR);
    return n == (long)sizeof(*m) ? 0 : -1;
}

void cv_close_except(int *keep, int n)
{
    /* insertion sort: a handful of fds, and no qsort callback to share */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
            int t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    unsigned lo = 3;
    for (int i = 0; i < n; i++) {
        if (keep[i] < (int)lo)
            continue;
        if ((unsigned)keep[i] > lo)
            cv_raw3(SYS_close_range, lo, (unsigned)keep[i] - 1, 0);
        lo = (unsigned)keep[i] + 1;
    }
    cv_raw3(SYS_close_range, lo, ~0u, 0);
}
