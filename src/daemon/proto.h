/* The pool daemon's wire protocol (docs/daemon.md): one SOCK_SEQPACKET
 * connection per request, every message a fixed-size struct (RUN: a fixed
 * part plus a length-checked argv blob) behind a versioned header; file
 * descriptors travel only as SCM_RIGHTS. Shared by `containerv daemon`, the
 * client side of `run --template` and `pool status`. */
#ifndef CV_DAEMON_PROTO_H
#define CV_DAEMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CVD_DEFAULT_SOCKET "/run/containerv/containerv.sock"
#define CVD_MAGIC 0x31445643u /* "CVD1" in little-endian bytes */
#define CVD_VERSION 1
#define CVD_MAX_MSG 65536     /* bytes, header included */
#define CVD_MAX_FDS 3         /* per message */
#define CVD_MAX_ARGS 1024
#define CVD_NAME_MAX 65       /* a template name and its NUL */

enum cvd_type {
    /* client -> daemon */
    CVD_RUN = 1,    /* struct cvd_run + argv blob; SCM_RIGHTS: stdin?, stdout?, stderr? */
    CVD_SIGNAL = 2, /* struct cvd_signal: while the command runs */
    CVD_STATUS = 3, /* struct cvd_hdr only */
    /* daemon -> client */
    CVD_STARTED = 16,    /* struct cvd_started; SCM_RIGHTS: the terminal's master with tty */
    CVD_EXITED = 17,     /* struct cvd_exited; the daemon closes the connection after it */
    CVD_ERROR = 18,      /* struct cvd_error; the daemon closes the connection after it */
    CVD_STATUS_ROW = 19, /* struct cvd_status_row, one per pool */
    CVD_STATUS_END = 20, /* struct cvd_status_end */
    CVD_QUEUED = 21,     /* struct cvd_queued: the RUN waits for a cold create; STARTED follows */
};

struct cvd_hdr {
    uint32_t magic;   /* CVD_MAGIC */
    uint16_t version; /* CVD_VERSION */
    uint16_t type;    /* enum cvd_type */
    uint32_t len;     /* the whole message, header included: must equal what arrived */
    uint32_t reserved;
};

/* RUN flags */
#define CVD_RUN_TTY (1u << 0)    /* a pseudo-terminal; no stdio fds */
#define CVD_RUN_STDIN (1u << 1)  /* an fd for stdin follows (else /dev/null) */
#define CVD_RUN_STDOUT (1u << 2) /* an fd for stdout follows */
#define CVD_RUN_STDERR (1u << 3) /* an fd for stderr follows */
#define CVD_RUN_FLAGS (CVD_RUN_TTY | CVD_RUN_STDIN | CVD_RUN_STDOUT | CVD_RUN_STDERR)

struct cvd_run {
    struct cvd_hdr h;
    uint32_t flags;
    uint16_t rows, cols;             /* the terminal size with CVD_RUN_TTY */
    uint32_t argc;                   /* 1..CVD_MAX_ARGS */
    uint32_t argv_len;               /* bytes of the blob: argc NUL-terminated strings */
    char template_name[CVD_NAME_MAX]; /* NUL-terminated */
    char pad[3];
    /* followed by the argv blob; h.len = sizeof(struct cvd_run) + argv_len */
};

struct cvd_signal {
    struct cvd_hdr h;
    int32_t sig; /* 1..64 */
    uint32_t reserved;
};

#define CVD_STARTED_TTY 1u /* the terminal's master fd is attached */
struct cvd_started {
    struct cvd_hdr h;
    int32_t pid; /* as the daemon's pid namespace sees it */
    uint32_t flags;
};

struct cvd_exited {
    struct cvd_hdr h;
    int32_t code; /* exit status, or 128 + signal */
    uint32_t reserved;
};

enum cvd_error_kind {
    CVD_ERR_RUNTIME = 0, /* a library error: code, step and message as containerv_error */
    CVD_ERR_NOPOOL = 1,  /* the daemon has no pool for the template: start locally */
    CVD_ERR_DENIED = 2,  /* the peer may not use the daemon */
    CVD_ERR_PROTO = 3,   /* a malformed or out-of-state message */
    CVD_ERR_BUSY = 4,    /* the daemon is shutting down or full */
};

struct cvd_error {
    struct cvd_hdr h;
    int32_t code;  /* positive errno */
    uint32_t kind; /* enum cvd_error_kind */
    char step[48];
    char message[512];
};

struct cvd_status_row {
    struct cvd_hdr h;
    char template_name[CVD_NAME_MAX];
    char pad[3];
    int32_t pool_size, warm, in_use;
    uint32_t reserved;
    uint64_t hits, misses, refills, resets, replaces, failures, mean_refill_ns, mean_reset_ns;
    char last_error[512];
    char last_replace[256];
};

/* QUEUED flags */
#define CVD_QUEUED_UID 1u /* waiting for a slot of its uid's (else for one of the daemon's) */
struct cvd_queued {
    struct cvd_hdr h;
    uint32_t ahead; /* RUNs waiting before it */
    uint32_t flags;
};

struct cvd_status_end {
    struct cvd_hdr h;
    uint32_t count; /* rows sent */
    uint32_t reserved;
};

/* ---- proto.c */

void cvd_hdr_init(struct cvd_hdr *h, enum cvd_type type, size_t len);
/* The type of a received message of n bytes, after checking magic, version
 * and length (at least want bytes, exactly want unless variable); -1 when
 * malformed. */
int cvd_check(const void *buf, size_t n);
/* The fixed size of a message type (for RUN: the fixed part); 0 if unknown. */
size_t cvd_size(int type);
/* sendmsg with MSG_NOSIGNAL and fds as SCM_RIGHTS; 0 or -errno (-EAGAIN on a
 * full nonblocking socket; a short send is -EMSGSIZE). */
int cvd_send(int sock, const void *msg, size_t len, const int *fds, int nfds);
/* recvmsg with MSG_CMSG_CLOEXEC; returns the length (0 at end of stream) or
 * -errno. Fds land in fds (at most max_fds, *nfds set). A truncated message
 * (-EMSGSIZE), truncated control data or too many fds (-EPROTO) close every
 * fd received: on failure *nfds is 0. */
ssize_t cvd_recv(int sock, void *buf, size_t size, int *fds, int max_fds, int *nfds);
/* Copy a NUL-terminated string into a fixed field (truncating). */
void cvd_strlcpy(char *dst, const char *src, size_t size);
/* The socket path: --socket, else $CONTAINERV_SOCKET, else the default. */
const char *cvd_socket_path(const char *given);
/* A connected client socket (SOCK_SEQPACKET, SOCK_CLOEXEC) or -errno. */
int cvd_connect(const char *path);
/* Why the daemon refuses fd from a client that is not root (anything but a
 * pipe, a socket, a terminal or /dev/null), or NULL: the daemon checks it,
 * and the client relays what it would refuse. */
const char *cvd_fd_refusal(int fd);

#endif
