/* System calls for the child of create and its helpers (child.c,
 * rootfs.c, security.c, sync.c): each returns what the kernel returned,
 * >= 0 or -errno, and none touches errno or any other state of glibc's.
 * The child shares its creator's memory and TLS (CLONE_VM, see clone.c):
 * errno there is the creating thread's, which goes on running, and glibc's
 * per-thread state (rseq, locks, the stack bounds) is that thread's too. Where
 * raw system calls are not written for the architecture (rawsys.h), the
 * child is a copy of its creator instead and these go through syscall(2). */
#ifndef CV_CHILDSYS_H
#define CV_CHILDSYS_H

#include "rawsys.h"

#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

static inline int cs_close(int fd)
{
    return (int)cv_raw3(SYS_close, fd, 0, 0);
}
static inline int cs_openat(int dfd, const char *path, int flags, unsigned mode)
{
    return (int)cv_raw6(SYS_openat, dfd, (long)path, flags, mode, 0, 0);
}
static inline int cs_open(const char *path, int flags)
{
    return cs_openat(AT_FDCWD, path, flags, 0);
}
static inline int cs_mkdirat(int dfd, const char *path, unsigned mode)
{
    return (int)cv_raw3(SYS_mkdirat, dfd, path, mode);
}
static inline int cs_mkdir(const char *path, unsigned mode)
{
    return cs_mkdirat(AT_FDCWD, path, mode);
}
static inline int cs_mknodat(int dfd, const char *path, unsigned mode, unsigned long dev)
{
    return (int)cv_raw6(SYS_mknodat, dfd, (long)path, mode, (long)dev, 0, 0);
}
static inline int cs_symlinkat(const char *target, int dfd, const char *path)
{
    return (int)cv_raw3(SYS_symlinkat, target, dfd, path);
}
static inline int cs_mount(const char *src, const char *dst, const char *type, unsigned long flags,
                           const void *data)
{
    return (int)cv_raw5(SYS_mount, src, dst, type, flags, data);
}
static inline int cs_chdir(const char *path)
{
    return (int)cv_raw3(SYS_chdir, path, 0, 0);
}
static inline int cs_fchdir(int fd)
{
    return (int)cv_raw3(SYS_fchdir, fd, 0, 0);
}
/* dup2 where the architecture has only dup3 (which refuses old == new) */
static inline int cs_dup2(int from, int to)
{
    return from == to ? to : (int)cv_raw3(SYS_dup3, from, to, 0);
}
static inline int cs_fcntl(int fd, int cmd, long arg)
{
    return (int)cv_raw3(SYS_fcntl, fd, cmd, arg);
}
static inline long cs_write(int fd, const void *buf, size_t n)
{
    return cv_raw3(SYS_write, fd, buf, n);
}
static inline long cs_recvmsg(int fd, struct msghdr *mh, int flags)
{
    return cv_raw3(SYS_recvmsg, fd, mh, flags);
}
static inline long cs_send(int fd, const void *buf, size_t n, int flags)
{
    return cv_raw6(SYS_sendto, fd, (long)buf, (long)n, flags, 0, 0);
}
static inline int cs_prctl(int op, unsigned long a, unsigned long b)
{
    return (int)cv_raw5(SYS_prctl, op, a, b, 0, 0);
}
static inline int cs_setaffinity(pid_t pid, const cpu_set_t *set)
{
    return (int)cv_raw3(SYS_sched_setaffinity, pid, sizeof(*set), set);
}
/* the calling task's mask; 0 or -errno */
static inline int cs_getaffinity(cpu_set_t *set)
{
    long r = cv_raw3(SYS_sched_getaffinity, 0, sizeof(*set), set);
    return r < 0 ? (int)r : 0;
}
static inline int cs_getcpu(void)
{
    unsigned cpu = 0;
    long r = cv_raw3(SYS_getcpu, &cpu, 0, 0);
    return r < 0 ? (int)r : (int)cpu;
}
static inline pid_t cs_wait(pid_t pid)
{
    long r;
    do
        r = cv_raw6(SYS_wait4, pid, 0, __WALL, 0, 0, 0);
    while (r == -EINTR);
    return (pid_t)r;
}
__attribute__((noreturn)) static inline void cs_exit(int code)
{
    for (;;)
        cv_raw3(SYS_exit_group, code, 0, 0);
}

#endif
