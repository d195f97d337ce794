/* The init's main process (mainproc.c): see proto.h, CV_MSG_PREPARE. */
#ifndef CV_INIT_MAINPROC_H
#define CV_INIT_MAINPROC_H

#include <stdbool.h>
#include <stddef.h>

/* A CV_MSG_PREPARE request of len bytes; fds[0] is the answer's connection,
 * then the stdio and extra fds (all taken: closed or kept). */
void cv_main_prepare(const void *buf, size_t len, int *fds, int nfds);
/* CV_MSG_START: replaces the init with the prepared process (no return on
 * success), or answers the failure: before anything changed when none is
 * prepared (and returns), else the init exits. */
void cv_main_start(int reply_fd);
/* A main process is prepared and not started: a signal the init would
 * forward ends the container instead. */
bool cv_main_pending(void);

/* init.c: a new pseudo-terminal of the container's devpts (rows 0: the
 * kernel's size); 0, or -errno with what was opened left to the caller */
int cv_init_open_tty(unsigned short rows, unsigned short cols, int *master, int *slave);

#endif
