/* The init program's command line (init/main.c says what each part is):
 * its only input from outside, since a workload can run the program with
 * any arguments (fuzz_init_args). */
#ifndef CV_INIT_ARGS_H
#define CV_INIT_ARGS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cv_init_args {
    int fds[4]; /* sync, listen, lock (each >= 3), upper (-1 or >= 0) */
    uint64_t t0;
    bool userns, die;
    const char *fault; /* into argv, or NULL */
    uid_t peers[3];
    int n_peers;
    int enter_fd; /* --enter=FD: run one main process sent on FD (containerv_enter), else -1 */
};

/* true when argv is a whole, well-formed command line: --fds, --t0 and the
 * flags present, or --enter alone; every argument known, every number in
 * range */
bool cv_init_parse_args(int argc, char **argv, struct cv_init_args *a);

#endif
