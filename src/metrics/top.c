/* The processes of a container (containerv_list_processes, `containerv
 * top`): every pid of its cgroup (and the cgroups below), each described
 * from /proc/<pid>/stat, status and cmdline. */
#include "cvm.h"

#include <fcntl.h>
#include <stdio.h>
#include <time.h>

/* /proc/<pid>/stat after the comm: state, ppid, ... (fields 3..) */
struct stat_fields {
    char state;
    pid_t ppid;
    uint64_t utime, stime, starttime, rss_pages;
    int threads;
};

static bool read_stat(pid_t pid, struct stat_fields *f, char *comm, size_t comm_size)
{
    char path[48], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (cv_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
        return false;
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open)
        return false;
    snprintf(comm, comm_size, "%.*s", (int)(close - open - 1), open + 1);
    /* fields from 3 on: state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime(14) stime(15) cutime cstime priority nice num_threads(20)
     * itrealvalue starttime(22) vsize rss(24) */
    char *tok[23], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(close + 2, " ", &save); t && n < 23; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    if (n < 23)
        return false;
    f->state = tok[0][0];
    f->ppid = (pid_t)atoi(tok[1]);
    f->utime = strtoull(tok[11], NULL, 10);
    f->stime = strtoull(tok[12], NULL, 10);
    f->threads = atoi(tok[17]);
    f->starttime = strtoull(tok[19], NULL, 10);
    f->rss_pages = strtoull(tok[21], NULL, 10);
    return true;
}

/* Uid, Gid and the pid in the innermost pid namespace (NSpid's last) */
static void read_status(pid_t pid, struct containerv_process_info *p)
{
    char path[48], buf[4096];
    uint64_t v;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (cv_read_file_at(AT_FDCWD, path, buf, sizeof(buf)) <= 0)
        return;
    if (cvm_key_u64(buf, "Uid", &v))
        p->uid = (uid_t)v;
    if (cvm_key_u64(buf, "Gid", &v))
        p->gid = (gid_t)v;
    /* VmRSS (kB), from the same counters as /proc/PID/stat's rss but
     * flushed: a process with few page faults shows rss 0 there (6.1's
     * per-task RSS caches) */
    if (cvm_key_u64(buf, "VmRSS", &v))
        p->rss_bytes = v * 1024;
    const char *ns = strstr(buf, "\nNSpid:");
    if (ns) {
        const char *end = strchr(ns + 1, '\n'), *lastnum = NULL;
        for (const char *q = ns + 7; *q && q != end; q++) {
            if (*q >= '0' && *q <= '9' && (q[-1] == ' ' || q[-1] == '\t' || q[-1] == ':'))
                lastnum = q;
        }
        if (lastnum)
            p->pid = (pid_t)atoi(lastnum);
    }
}

/* What the workload chose (its comm and arguments) goes to a terminal:
 * every byte but printable ASCII becomes '?' (no escape sequences, and
 * valid JSON). */
static void printable(char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            *s = '?';
    }
}

static void read_cmdline(pid_t pid, struct containerv_process_info *p)
{
    char path[48];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int n = cv_read_file_at(AT_FDCWD, path, p->cmdline, sizeof(p->cmdline));
    if (n <= 0) {
        snprintf(p->cmdline, sizeof(p->cmdline), "[%s]", p->comm);
        return;
    }
    while (n > 0 && p->cmdline[n - 1] == '\0')
        n--;
    for (int i = 0; i < n; i++) {
        if (p->cmdline[i] == '\0')
            p->cmdline[i] = ' ';
    }
    p->cmdline[n] = '\0';
    printable(p->cmdline);
}

static bool describe(pid_t pid, uint64_t now_ticks, long tck, struct containerv_process_info *p)
{
    struct stat_fields f;
    memset(p, 0, sizeof(*p));
    if (!read_stat(pid, &f, p->comm, sizeof(p->comm)))
        return false; /* gone since the cgroup was read */
    p->host_pid = p->pid = pid;
    p->ppid = f.ppid; /* a host pid: made the container's below */
    p->state = f.state;
    p->threads = f.threads;
    p->cpu_ns = (f.utime + f.stime) * (1000000000ull / (uint64_t)tck);
    p->elapsed_ns = now_ticks > f.starttime ? (now_ticks - f.starttime) * (1000000000ull / (uint64_t)tck) : 0;
    p->rss_bytes = f.rss_pages * (uint64_t)sysconf(_SC_PAGESIZE);
    printable(p->comm);
    read_status(pid, p);
    read_cmdline(pid, p);
    return true;
}

static int cmp_pid(const void *a, const void *b)
{
    const struct containerv_process_info *x = a, *y = b;
    return (x->pid > y->pid) - (x->pid < y->pid);
}

int containerv_list_processes(struct containerv_container *c, struct containerv_process_info **procs, size_t *n,
                              struct containerv_error *err)
{
    containerv_error_clear(err);
    if (!c || !procs || !n)
        return cv_error_plain(err, EINVAL, "top", "no container or no result pointers given");
    *procs = NULL;
    *n = 0;
    pid_t *pids = NULL;
    size_t np = 0;
    int r = cv_cgroup_pids(&c->cg, &pids, &np);
    if (r < 0)
        return cv_error(err, r, "top", "the processes of '%s' (its cgroup)", c->id);
    struct containerv_process_info *v = calloc(np ? np : 1, sizeof(*v));
    if (!v) {
        free(pids);
        return cv_error(err, ENOMEM, "top", "allocating");
    }
    long tck = sysconf(_SC_CLK_TCK);
    struct timespec boot;
    clock_gettime(CLOCK_BOOTTIME, &boot);
    uint64_t now_ticks = (uint64_t)boot.tv_sec * (uint64_t)tck + (uint64_t)boot.tv_nsec * (uint64_t)tck / 1000000000;
    size_t k = 0;
    for (size_t i = 0; i < np; i++)
        k += describe(pids[i], now_ticks, tck, &v[k]);
    /* a parent outside the container (the init's) is 0, as in a pid namespace */
    for (size_t i = 0; i < k; i++) {
        pid_t host_ppid = v[i].ppid;
        v[i].ppid = 0;
        for (size_t j = 0; j < k; j++) {
            if (v[j].host_pid == host_ppid)
                v[i].ppid = v[j].pid;
        }
    }
    free(pids);
    qsort(v, k, sizeof(*v), cmp_pid);
    *procs = v;
    *n = k;
    return 0;
}
