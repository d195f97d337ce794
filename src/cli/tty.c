/* The terminal of `run -t` / `exec -t`: raw mode, relay, window size. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* The CLI's terminal fd and the container's master, for the SIGWINCH handler. */
static volatile sig_atomic_t winch_tty = -1;
static volatile sig_atomic_t winch_master = -1;

static int user_tty_fd(void)
{
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++)
        if (isatty(fd))
            return fd;
    return -1;
}

int cli_tty_check(const char *verb, bool interactive, bool tty)
{
    if (!interactive || !tty || isatty(STDIN_FILENO))
        return 0;
    /* Like docker: the end of a piped stdin has no faithful form on a
     * terminal, and a shell on it would wait for ever. */
    fprintf(stderr, "containerv %s: -i with -t needs a terminal on stdin (the input device is not a "
                    "TTY; drop -t)\n", verb);
    return -1;
}

void cli_tty_size(unsigned short *rows, unsigned short *cols)
{
    struct winsize ws;
    int fd = user_tty_fd();

    *rows = *cols = 0;
    if (fd >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
        *rows = ws.ws_row;
        *cols = ws.ws_col;
    }
}

/* Copy the user's window size to the container's terminal; ioctl is
 * async-signal-safe, so this runs in the handler itself. */
static void sync_size(int sig)
{
    int saved_errno = errno;
    struct winsize ws;

    (void)sig;
    if (winch_tty >= 0 && winch_master >= 0 && ioctl((int)winch_tty, TIOCGWINSZ, &ws) == 0)
        ioctl((int)winch_master, TIOCSWINSZ, &ws);
    errno = saved_errno;
}

static void nothing(int sig)
{
    (void)sig;
}

static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static bool make_raw(struct termios *saved)
{
    struct termios raw;

    if (tcgetattr(STDIN_FILENO, saved) < 0)
        return false;
    raw = *saved;
    cfmakeraw(&raw);
    return tcsetattr(STDIN_FILENO, TCSADRAIN, &raw) == 0;
}

/* Write everything, or drop what cannot be written (a closed stdout must not
 * stop the relay: the container would block on a full terminal). */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

/* One read from `from` written to `to`: bytes copied, 0 at EOF, -1 on error. */
static ssize_t copy_once(int from, int to)
{
    char buf[16384];
    ssize_t n;

    do
        n = read(from, buf, sizeof(buf));
    while (n < 0 && errno == EINTR);
    if (n > 0)
        write_all(to, buf, (size_t)n);
    return n;
}

/* Output the process left in the terminal after it ended. */
static void drain(int master)
{
    int flags = fcntl(master, F_GETFL);

    if (flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) < 0)
        return;
    while (copy_once(master, STDOUT_FILENO) > 0)
        ;
}

static int relay_loop(int master, int pidfd, bool use_stdin)
{
    struct pollfd p[3] = {
        {.fd = pidfd, .events = POLLIN},
        {.fd = master, .events = POLLIN},
        {.fd = use_stdin ? STDIN_FILENO : -1, .events = POLLIN},
    };

    for (;;) {
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (p[1].revents && copy_once(master, STDOUT_FILENO) <= 0)
            p[1].fd = -1; /* every slave fd is closed */
        if (p[2].revents && copy_once(STDIN_FILENO, master) <= 0)
            p[2].fd = -1; /* the user's terminal hung up */
        if (p[0].revents || (pidfd < 0 && p[1].fd < 0))
            return 0;
    }
}

int cli_tty_relay(int master, int pidfd, bool use_stdin)
{
    struct termios saved;
    bool raw = use_stdin && isatty(STDIN_FILENO) && make_raw(&saved);
    int rc;

    set_handler(SIGPIPE, nothing);
    winch_tty = user_tty_fd();
    winch_master = master;
    set_handler(SIGWINCH, sync_size);
    sync_size(SIGWINCH); /* the window may have changed since spawn */
    rc = relay_loop(master, pidfd, use_stdin);
    drain(master);
    winch_master = -1;
    if (raw)
        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved);
    return rc;
}
