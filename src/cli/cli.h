/* The containerv command-line tool: declarations shared by the verbs. */
#ifndef CV_CLI_H
#define CV_CLI_H

#include <containerv/containerv.h>

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of the CLI itself (podman's convention). */
#define CLI_EXIT_RUNTIME 125   /* bad usage or a runtime error */
#define CLI_EXIT_NOEXEC 126    /* the command exists but cannot be executed */
#define CLI_EXIT_NOTFOUND 127  /* the command was not found */

/* Options given before the verb. */
struct cli_global {
    const char *runtime_dir; /* --runtime-dir or $CONTAINERV_RUNTIME_DIR; NULL: default */
    bool debug;              /* --debug: trace start-up steps on stderr */
    const char *socket;      /* --socket: the pool daemon's socket; NULL: $CONTAINERV_SOCKET
                                or the default (src/daemon/proto.h) */
    const char *state_dir;   /* --state-dir as given (it also sets $CONTAINERV_STATE_DIR) */
    bool runtime_dir_given;  /* runtime_dir came from --runtime-dir */
};

/* ---- main.c: messages and small helpers */

/* Print "containerv: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print a library error as one line; rc is the negative errno it returned. */
void cli_lib_error(const struct containerv_error *err, int rc);
/* Report a getopt failure (opt is '?' or ':') as one line; returns 125. */
int cli_getopt_error(const char *verb, int opt, char *const argv[]);
/* Print a verb's usage text on stdout; returns 0. */
int cli_usage(const char *text);
/* The optstring prefix every verb uses: stop at the first operand, report
 * missing arguments as ':'. */
#define CLI_OPTSTRING_PREFIX "+:"

/* Strict parsers; they return false on anything but the whole text. */
bool cli_parse_u64(const char *text, uint64_t *out);
bool cli_parse_u32(const char *text, uint32_t *out);
/* "UID" or "UID:GID", numeric; *gid is -1 when not given. */
bool cli_parse_user(const char *text, int64_t *uid, int64_t *gid);

/* ---- options.c: the container options shared by run, create, ... */

struct cli_copts {
    struct containerv_options *opts;
    const char *name;       /* --name */
    unsigned ns_mask;       /* namespaces, CONTAINERV_NS_DEFAULT unless --network host */
    unsigned relax;         /* enum containerv_relax */
    bool have_rootfs;
    bool have_lower;
    bool have_idmap;
    bool have_device_rules; /* --device-cgroup-rule: the deny-all and default rules are in */
};

/* Short options the container options use (append to a verb's optstring). */
#define CLI_COPTS_SHORT "m:e:w:u:v:"

int cli_copts_init(struct cli_copts *co);
/* Handle one option returned by getopt_long: 1 when handled, 0 when it is
 * not a container option, -1 after printing an error. */
int cli_copts_handle(struct cli_copts *co, int opt, const char *arg);
/* Apply what is left (namespaces, relaxations, runtime dir, trace). */
int cli_copts_finish(struct cli_copts *co, const struct cli_global *g, bool die_with_parent);
void cli_copts_free(struct cli_copts *co);
/* A malloc'd long-option table: the container options followed by extra
 * (terminated by a zero entry). NULL when out of memory. */
struct option *cli_copts_longopts(const struct option *extra);
/* The usage lines of the container options. */
extern const char cli_copts_usage[];

/* Parse "K=V", or "K" taken from the CLI's environment, into a malloc'd
 * "K=V" string (*out NULL when K is unset). -1 after an error message. */
int cli_env_arg(const char *opt, const char *arg, char **out);

/* ---- session.c: spawn one command, forward signals, relay, wait */

struct cli_session {
    const char *const *argv;
    const char *const *env; /* NULL: the container's */
    const char *cwd;        /* NULL: the container's */
    int64_t uid, gid;       /* -1: the container's */
    bool interactive;       /* -i: pass the CLI's stdin */
    bool tty;               /* -t: a pseudo-terminal */
    bool debug;
};

/* Set the action of the signals a session forwards (INT, TERM, HUP, QUIT,
 * USR1, USR2) to handler (SA_RESTART), or SIG_DFL. */
void cli_forward_signals_to(void (*handler)(int));

/* Run the command to its end; returns the exit code the CLI should exit with
 * (the command's, or 125/126/127 after printing an error). */
int cli_session_run(struct containerv_container *c, const struct cli_session *s);
/* The exit code for a failed spawn (podman's): 127 when the command is not
 * found, 126 when it cannot be invoked, else 125. */
int cli_spawn_exit_code(const struct containerv_error *err);

/* ---- daemon_client.c: `run --template` through the pool daemon */

struct cli_daemon_run {
    const char *template_name;
    char *const *argv;
    bool interactive, tty, debug;
};
/* Run through the daemon on g's socket: the exit code the CLI should exit
 * with, or -1 when the caller should start the container itself (no daemon
 * listening, or no pool for the template; said on stderr with debug). */
int cli_daemon_run(const struct cli_global *g, const struct cli_daemon_run *r);

/* ---- tty.c */

/* -i with -t needs a terminal on stdin: 0, or -1 after an error message. */
int cli_tty_check(const char *verb, bool interactive, bool tty);
/* The size of the CLI's terminal (0 x 0 when there is none). */
void cli_tty_size(unsigned short *rows, unsigned short *cols);
/* Relay between the terminal (stdin when use_stdin, stdout) and the master
 * until end_fd is readable: the process's pidfd, or the pool daemon's
 * connection (which says EXITED when the process ends). Puts a terminal stdin into raw mode
 * and restores it before returning; follows SIGWINCH. 0 or -errno. */
int cli_tty_relay(int master, int end_fd, bool use_stdin);

/* ---- outfile.c: a result file (--json, --svg, --metrics-json), opened
 * before the work so that a path that cannot be written fails at once */
struct cli_outfile {
    FILE *f; /* NULL: not open */
    const char *opt, *path;
    bool created; /* by open: abandon removes it */
};
/* 0, or -1 after one line "<opt>: cannot open '<path>': ..." */
int cli_outfile_open(struct cli_outfile *of, const char *opt, const char *path);
/* Close without a result (the work failed); removes a file open made. */
void cli_outfile_abandon(struct cli_outfile *of);
/* Close after writing; write_failed: a write already failed. 0, or -1 after
 * one line "<opt>: cannot write '<path>': ...". Nothing when not open. */
int cli_outfile_close(struct cli_outfile *of, bool write_failed);

/* ---- metrics.c */

void cli_metrics_print(FILE *out, const char *id, const struct containerv_startup_metrics *m);
/* Write the metrics as JSON and close; -1 after an error message. */
int cli_metrics_write_json(struct cli_outfile *mf, const char *id,
                           const struct containerv_startup_metrics *m);
/* A containerv_trace_fn printing "containerv: debug: <step> <µs>". */
void cli_trace_debug(void *userdata, const char *step, uint64_t duration_ns);

/* ---- the verbs */

int cmd_run(int argc, char **argv, const struct cli_global *g);
int cmd_create(int argc, char **argv, const struct cli_global *g);
int cmd_exec(int argc, char **argv, const struct cli_global *g);
int cmd_list(int argc, char **argv, const struct cli_global *g);
int cmd_destroy(int argc, char **argv, const struct cli_global *g);
int cmd_gc(int argc, char **argv, const struct cli_global *g);
int cmd_daemon(int argc, char **argv, const struct cli_global *g);
int cmd_pool(int argc, char **argv, const struct cli_global *g);
int cmd_stats(int argc, char **argv, const struct cli_global *g);
int cmd_top(int argc, char **argv, const struct cli_global *g);

#endif
