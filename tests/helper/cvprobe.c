/* cvprobe: a static probe for what cvtest cannot do (test_pool.c): IPC
 * objects and a background process ("dirty"), one line of what a container
 * holds (the default), a root workload's changes to pid 1's settings
 * ("spoil") and the settings a spawn gets ("settings"), the session keyring.
 * Built static at build time into its own lower layer (tests/CMakeLists.txt),
 * so that it runs where there is no compiler (the VM). */
#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
static int lines(const char *p) {
    FILE *f = fopen(p, "r");
    int n = -1;
    char b[512];
    if (!f)
        return -1;
    while (fgets(b, sizeof b, f))
        n++;
    fclose(f);
    return n;
}
static int procs(void) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        n += e->d_name[0] >= '0' && e->d_name[0] <= '9';
    if (d)
        closedir(d);
    return n;
}
static int ex(const char *p) { return access(p, F_OK) == 0; }
static void wr(const char *p) {
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) {
        perror(p);
        exit(2);
    }
    if (write(fd, "A", 1) != 1)
        exit(2);
    close(fd);
}
int main(int c, char **v) {
    if (c > 1 && !strcmp(v[1], "dirty")) {
        wr("/userA");
        wr("/tmp/userA");
        wr("/dev/shm/userA");
        if (shmget(0x5a5a, 4096, IPC_CREAT | 0600) < 0 || semget(0x5a5a, 1, IPC_CREAT | 0600) < 0 ||
            msgget(0x5a5a, IPC_CREAT | 0600) < 0) {
            perror("sysv");
            return 3;
        }
        if (mq_open("/userA", O_CREAT | O_RDWR, 0600, NULL) == (mqd_t)-1) {
            perror("mq_open");
            return 4;
        }
        if (sethostname("userA", 5) < 0) {
            perror("sethostname");
            return 5;
        }
        if (fork() == 0) {
            setsid();
            close(0);
            close(1);
            close(2);
            for (;;)
                pause();
        }
        return 0;
    }
    if (c > 1 && !strcmp(v[1], "bg")) {
        if (fork() == 0) {
            setsid();
            close(0);
            close(1);
            close(2);
            for (;;)
                pause();
        }
        return 0;
    }
    if (c > 2 && !strcmp(v[1], "file")) {
        wr(v[2]);
        return 0;
    }
    if (c > 2 && !strcmp(v[1], "chmod")) {
        return chmod(v[2], 0700) < 0;
    }
    if (c > 1 && !strcmp(v[1], "shm")) {
        return shmget(0x5a5b, 4096, IPC_CREAT | 0600) < 0;
    }
    if (c > 1 && !strcmp(v[1], "sem")) {
        return semget(0x5a5b, 1, IPC_CREAT | 0600) < 0;
    }
    if (c > 1 && !strcmp(v[1], "msg")) {
        return msgget(0x5a5b, IPC_CREAT | 0600) < 0;
    }
    if (c > 1 && !strcmp(v[1], "mq")) {
        return mq_open("/q", O_CREAT | O_RDWR, 0600, NULL) == (mqd_t)-1;
    }
    if (c > 1 && !strcmp(v[1], "spoil")) {
        struct rlimit r = {64, 64}, f = {4096, 4096};
        struct sched_param sp = {0};
        cpu_set_t s;
        CPU_ZERO(&s);
        CPU_SET(0, &s);
        int fd = open("/proc/1/oom_score_adj", O_WRONLY);
        if (prlimit(1, RLIMIT_NOFILE, &r, 0) || prlimit(1, RLIMIT_FSIZE, &f, 0)) {
            perror("prlimit");
            return 6;
        }
        if (setpriority(PRIO_PROCESS, 1, 19)) {
            perror("setpriority");
            return 7;
        }
        if (sched_setscheduler(1, SCHED_IDLE, &sp)) {
            perror("sched");
            return 8;
        }
        if (sched_setaffinity(1, sizeof s, &s)) {
            perror("affinity");
            return 9;
        }
        if (syscall(SYS_ioprio_set, 1, 1, 3 << 13)) {
            perror("ioprio");
            return 10;
        }
        if (fd < 0 || write(fd, "500", 3) != 3) {
            perror("oom");
            return 11;
        }
        return 0;
    }
    if (c > 1 && !strcmp(v[1], "settings")) {
        struct rlimit n, f;
        cpu_set_t s;
        char o[16] = {0};
        int fd = open("/proc/self/oom_score_adj", O_RDONLY);
        if (fd < 0 || read(fd, o, 15) < 0)
            return 12;
        getrlimit(RLIMIT_NOFILE, &n);
        getrlimit(RLIMIT_FSIZE, &f);
        sched_getaffinity(0, sizeof s, &s);
        o[strcspn(o, "\n")] = 0;
        printf("nofile=%llu:%llu fsize=%llu:%llu nice=%d policy=%d cpus=%d ioprio=%ld oom=%s\n",
               (unsigned long long)n.rlim_cur, (unsigned long long)n.rlim_max, (unsigned long long)f.rlim_cur,
               (unsigned long long)f.rlim_max, getpriority(PRIO_PROCESS, 0), sched_getscheduler(0),
               CPU_COUNT(&s), syscall(SYS_ioprio_get, 1, 0), o);
        return 0;
    }
    if (c > 1 && !strcmp(v[1], "keyring")) {
        printf("%ld\n", syscall(SYS_keyctl, 0, -3, 0));
        return 0;
    }
    char h[65] = {0};
    gethostname(h, 64);
    mqd_t q = mq_open("/userA", O_RDONLY);
    printf("files=%d procs=%d shm=%d sem=%d msg=%d mq=%d host=%s\n",
           ex("/userA") + ex("/tmp/userA") + ex("/dev/shm/userA"), procs(), lines("/proc/sysvipc/shm"),
           lines("/proc/sysvipc/sem"), lines("/proc/sysvipc/msg"), q != (mqd_t)-1, h);
    return 0;
}
