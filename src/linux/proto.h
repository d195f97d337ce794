/* Messages between the host and a container's init, over SOCK_SEQPACKET.
 *
 * Start-up (one socketpair, "sync"): each side knows which step it expects
 * next and rejects anything else (cv_sync_expect).
 *   host  -> child  CV_SYNC_USERNS_MAPPED   (only with a user namespace)
 *   host  -> child  CV_SYNC_CGROUP_READY    (the child is in its cgroup)
 *   child -> host   CV_SYNC_READY           (with the child's phase timings)
 *                or CV_SYNC_ERROR           (step, errno, what)
 *   the child executes the init program (init/main.c), which sends
 *   init  -> host   CV_SYNC_INIT            (with the init's own timings)
 *                or CV_SYNC_ERROR
 * After INIT the same socket is the creator's control connection.
 *
 * Control: a control connection carries CV_MSG_SPAWN requests. Each request
 * brings, by SCM_RIGHTS, a fresh "process connection" followed by the stdio
 * fds; the init answers on the process connection with CV_MSG_SPAWNED (plus
 * a pidfd and, with a tty, the terminal's master) and later CV_MSG_EXITED.
 * Other processes reach the init through <state dir>/control.sock, which is
 * on the host only: nothing in the container's file system leads to it. */
#ifndef CV_PROTO_H
#define CV_PROTO_H

#include <stdint.h>
#include <sys/types.h>

enum cv_sync_step {
    CV_SYNC_USERNS_MAPPED = 0x5101,
    CV_SYNC_CGROUP_READY = 0x5102,
    CV_SYNC_READY = 0x5103,
    CV_SYNC_ERROR = 0x5104,
    CV_SYNC_INIT = 0x5105,
};

/* timestamps the child records (CLOCK_MONOTONIC ns) */
enum cv_child_time {
    CV_T_CHILD_START, /* first instruction after clone3 */
    CV_T_READY,       /* sending CV_SYNC_READY */
    CV_T_COUNT
};

/* CV_SYNC_CGROUP_READY carries, by SCM_RIGHTS, the state lock followed by
 * the cgroup files the child joins by writing "0" (cv_cgroup_join_fds). */
#define CV_SYNC_MAX_FDS 12 /* the lock and a v1 hierarchy each (CV_V1_COUNT), with room */

struct cv_sync_msg {
    uint32_t step;
    int32_t code;     /* errno for CV_SYNC_ERROR */
    char where[48];   /* failing step name */
    char what[256];   /* path or value at fault */
    uint64_t t[CV_T_COUNT];
    /* per child step durations for --debug traces */
    uint32_t n_steps;
    struct {
        char name[32];
        uint64_t ns;
    } steps[24];
};

enum cv_msg_type {
    CV_MSG_SPAWN = 0x5201,
    CV_MSG_SPAWNED = 0x5202,
    CV_MSG_EXITED = 0x5203,
    CV_MSG_HELLO = 0x5204, /* from the new process itself, just before execve: the
                            * host reads its pid from SCM_CREDENTIALS, which the
                            * kernel translates into the host's pid namespace */
    CV_MSG_RESET = 0x5205,      /* host -> init: make the container as new (containerv_reset) */
    CV_MSG_RESET_DONE = 0x5206, /* init -> host, on the connection the request brought */
    CV_MSG_PREPARE = 0x5207,    /* host -> init: the main process, held until START (struct cv_main_req) */
    CV_MSG_PREPARED = 0x5208,   /* init -> host: struct cv_main_reply (with a tty, its master) */
    CV_MSG_START = 0x5209,      /* host -> init: replace yourself with the prepared process */
    CV_MSG_START_FAILED = 0x520a, /* init -> host: struct cv_main_reply; no answer (EOF) means started */
};

enum cv_spawn_flags {
    CV_SPAWN_TTY = 1u << 0,
    CV_SPAWN_STDIN = 1u << 1,  /* an stdin fd follows */
    CV_SPAWN_STDOUT = 1u << 2, /* an stdout fd follows */
    CV_SPAWN_STDERR = 1u << 3, /* an stderr fd follows */
};

#define CV_SPAWN_MAX 131072 /* bytes of a spawn request: cwd, argv and env */

struct cv_spawn_req {
    uint32_t type;
    uint32_t flags;
    uint32_t uid, gid;
    uint16_t rows, cols;
    uint32_t argc, envc;
    uint32_t strings_len; /* cwd\0 argv[0]\0 ... env[0]\0 ... */
    char fault[64];       /* CONTAINERV_FAULT of the spawner when it names a spawn.* step of the
                           * init ("<step>" or "after:<step>"), NUL-terminated; else empty */
    char strings[];
};

struct cv_spawned_msg {
    uint32_t type;
    int32_t error;     /* errno of the failed step, 0 on success */
    char step[32];     /* "spawn.cwd", "spawn.exec", ... */
    int32_t pid;       /* in the container's pid namespace */
    uint64_t exec_ns;  /* when execve succeeded */
};

struct cv_exited_msg {
    uint32_t type;
    int32_t status; /* as from waitpid */
};

/* CV_MSG_RESET brings, by SCM_RIGHTS, one fresh connection for the answer.
 * The init kills every process of the container but itself, closes every
 * other control connection, then checks that nothing of the last user is
 * left: CV_MSG_RESET_DONE has error 0, or EBUSY and what names the first
 * thing that is not as new ("writable layer", "/tmp", "SysV IPC", ...). */
struct cv_reset_req {
    uint32_t type;
    uint32_t flags; /* none yet */
};

struct cv_reset_msg {
    uint32_t type;
    int32_t error;
    char what[64];
    uint32_t were_running; /* 1 when processes of the last user were still running */
};

/* The main process (containerv_prepare_main): what the init becomes at
 * START, as an OCI runtime's container process is. CV_MSG_PREPARE brings,
 * by SCM_RIGHTS, the connection for the answer, then the stdio fds its
 * flags name, then n_fds fds that become 3, 4, ... in the process. The init
 * answers CV_MSG_PREPARED on that connection. CV_MSG_START (struct
 * cv_start_req) brings one connection: the init answers
 * CV_MSG_START_FAILED there, or nothing (the connection closes with the
 * exec). */
#define CV_MAIN_MAX_GROUPS 64
#define CV_MAIN_MAX_RLIMITS 16
#define CV_MAIN_MAX_FDS 8
#define CV_MAIN_SECCOMP_MAX 4096 /* BPF instructions (the kernel's BPF_MAXINSNS) */

enum cv_main_flags {
    CV_MAIN_TTY = 1u << 0,
    CV_MAIN_STDIN = 1u << 1, /* as CV_SPAWN_STDIN .. STDERR */
    CV_MAIN_STDOUT = 1u << 2,
    CV_MAIN_STDERR = 1u << 3,
    CV_MAIN_CAPS = 1u << 4,  /* caps[] holds the five sets; else they stay the init's */
    CV_MAIN_NNP = 1u << 5,   /* no_new_privs */
    CV_MAIN_UMASK = 1u << 6,
    CV_MAIN_OOM = 1u << 7,   /* oom_score_adj */
    CV_MAIN_GROUPS = 1u << 8, /* set the supplementary groups to groups[] (else none) */
    CV_MAIN_PERSONALITY = 1u << 9, /* personality(2) to the value in personality */
};

enum cv_cap_set { CV_CAP_BOUNDING, CV_CAP_EFFECTIVE, CV_CAP_PERMITTED, CV_CAP_INHERITABLE, CV_CAP_AMBIENT, CV_CAP_SETS };

struct cv_main_rlimit {
    uint32_t resource, pad;
    uint64_t cur, max;
};

struct cv_main_req {
    uint32_t type;
    uint32_t flags;
    uint32_t uid, gid;
    uint16_t rows, cols;
    uint32_t n_groups;
    uint32_t groups[CV_MAIN_MAX_GROUPS];
    uint64_t caps[CV_CAP_SETS];
    uint32_t n_rlimits;
    uint32_t umask;
    struct cv_main_rlimit rlimits[CV_MAIN_MAX_RLIMITS];
    int32_t oom_score_adj;
    uint32_t personality;
    uint32_t n_fds;
    uint32_t seccomp_len; /* instructions (struct sock_filter, 8 bytes each) at the end of strings */
    uint32_t argc, envc;
    uint32_t strings_len; /* cwd\0 argv[0]\0 ... env[0]\0 ..., padding to 8, then the filter */
    char strings[];
};

struct cv_main_reply {
    uint32_t type;
    int32_t error;   /* errno, 0 on success */
    char step[32];   /* "main.exec", "main.rlimit", ... */
    char what[160];  /* the path or value at fault */
};

struct cv_start_req {
    uint32_t type;
    uint32_t flags; /* none yet */
};

/* init/mainproc.c: the init's check of a CV_MSG_PREPARE request of len bytes
 * (buf 8-aligned): 0 with cwd, argv and envp (4097 slots each, pointing into
 * buf) and the filter (NULL when none), or -EINVAL. For tests/fuzz. */
int cv_init_parse_main(const void *buf, size_t len, const char **cwd, char **argv, char **envp,
                       const void **filter);

/* init.c: the init's split of a spawn request of len bytes (buf aligned as
 * struct cv_spawn_req) into cwd, argv and envp (4097 slots each, pointing into
 * buf): 0 or -EINVAL. For tests/fuzz. */
int cv_init_parse_spawn(const void *buf, size_t len, const char **cwd, char **argv, char **envp);

/* process.c: the host's checks of what an init sends (the runtime's only
 * parse of those messages, and tests/fuzz's fuzz_init_reply). buf holds one
 * message whose length is n (recv with MSG_TRUNC: when n exceeds the buffer
 * the message is refused before anything is read). A message is accepted
 * only whole, of the exact size and a type expected there; *out gets a copy
 * with its strings NUL-terminated, n_steps at most 24 and error codes 0 or
 * 1..4095 (any other code becomes EPROTO). buf may be out. -EPROTO when
 * refused. */
/* CV_MSG_HELLO (4 bytes, nothing written to out) or CV_MSG_SPAWNED */
int cv_host_parse_spawn_answer(const void *buf, size_t n, struct cv_spawned_msg *out);
/* 0 and the exit code (0..255, 128 + signal); a status that is neither an
 * exit nor a signal is refused */
int cv_host_parse_exited(const void *buf, size_t n, int *code);
/* 0 */
int cv_host_parse_reset_done(const void *buf, size_t n, struct cv_reset_msg *out);
/* CV_SYNC_READY, CV_SYNC_INIT or CV_SYNC_ERROR */
int cv_host_parse_sync(const void *buf, size_t n, struct cv_sync_msg *out);

#endif
