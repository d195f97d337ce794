/* The container's init is a program of its own (src/linux/init/), built
 * static against musl and embedded here. The child of clone3 executes it
 * from a sealed memfd once its set-up is done, so that:
 *  - /proc/<pid>/exe of the init, and of a workload's process between fork
 *    and exec (a script whose interpreter is /proc/self/exe), is that memfd:
 *    never the creator's executable (the host's containerv binary, or the
 *    program that embeds the library), which a workload could otherwise
 *    reopen and overwrite once no one runs it (CVE-2019-5736). The seals
 *    (write, grow, shrink, seal) make the memfd itself unwritable.
 *  - the init is small: its pages are its own (tens of KiB), not a
 *    copy-on-write share of a creator that may hold gigabytes.
 * One memfd per process, made on first use and kept (O_CLOEXEC); every
 * child executes the same one with execveat(AT_EMPTY_PATH). */
#include "linux.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* 6.3+: with vm.memfd_noexec, asked for explicitly */
#endif

/* the program's bytes, from the build (CV_INIT_PROGRAM: its path) */
__asm__(".section .rodata\n"
        ".balign 16\n"
        ".hidden cv_init_image\n"
        ".globl cv_init_image\n"
        "cv_init_image:\n"
        ".incbin \"" CV_INIT_PROGRAM "\"\n"
        ".hidden cv_init_image_end\n"
        ".globl cv_init_image_end\n"
        "cv_init_image_end:\n"
        ".previous\n");
extern const unsigned char cv_init_image[], cv_init_image_end[];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int exe_fd = -1;
static struct stat exe_st;

static int make_memfd(void)
{
    int fd = memfd_create("containerv-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* before 6.3 */
        fd = memfd_create("containerv-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    size_t len = (size_t)(cv_init_image_end - cv_init_image), off = 0;
    while (off < len) {
        ssize_t n = write(fd, cv_init_image + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return -e;
        }
        off += (size_t)n;
    }
    if (fchmod(fd, 0555) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Ours still: a caller may have closed every fd it did not open itself. */
static bool still_ours(void)
{
    struct stat st;
    return exe_fd >= 0 && fstat(exe_fd, &st) == 0 && st.st_dev == exe_st.st_dev && st.st_ino == exe_st.st_ino &&
           fcntl(exe_fd, F_GET_SEALS) == (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
}

int cv_init_exe_fd(void)
{
    pthread_mutex_lock(&lock);
    int r = exe_fd;
    if (!still_ours()) {
        r = make_memfd();
        if (r >= 0 && fstat(r, &exe_st) < 0) {
            close(r);
            r = -errno;
        }
        exe_fd = r < 0 ? -1 : r;
    }
    pthread_mutex_unlock(&lock);
    return r;
}
