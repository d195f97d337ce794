/* hello: create a container with the default rootfs, run one command in it,
 * print its exit code, remove the container. Uses only the public API.
 *
 *   cc hello.c $(pkg-config --cflags --libs containerv) -o hello
 *   sudo ./hello [COMMAND [ARGS...]]     (default: /bin/echo hello from containerv)
 */
#include <containerv/containerv.h>

#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    static const char *const default_argv[] = {"/bin/echo", "hello from containerv", NULL};
    const char *const *cmd = argc > 1 ? (const char *const *)(argv + 1) : default_argv;
    struct containerv_error err;
    struct containerv_container *c = NULL;
    int code = -1, rc;

    containerv_error_clear(&err);
    if (!containerv_default_rootfs()) {
        fprintf(stderr, "hello: no default rootfs found\n");
        return 125;
    }
    struct containerv_options *opts = containerv_options_new();
    if (!opts) {
        fprintf(stderr, "hello: out of memory\n");
        return 125;
    }
    /* state in $CONTAINERV_RUNTIME_DIR or /run/containerv; no rootfs option:
     * the default rootfs (busybox) is the single lower layer */
    rc = containerv_create(NULL, opts, &c, &err);
    containerv_options_free(opts);
    if (rc < 0) {
        fprintf(stderr, "hello: %s\n", err.message);
        return 125;
    }

    struct containerv_spawn_options so;
    containerv_spawn_options_init(&so);
    so.stdout_fd = STDOUT_FILENO;
    so.stderr_fd = STDERR_FILENO;
    pid_t pid;
    rc = containerv_spawn(c, cmd, &so, &pid, &err);
    if (rc == 0)
        rc = containerv_wait(c, pid, &code, &err);
    if (rc < 0)
        fprintf(stderr, "hello: %s\n", err.message);
    else
        printf("%s exited with %d in container %s\n", cmd[0], code, containerv_id(c));

    struct containerv_error derr;
    containerv_error_clear(&derr);
    if (containerv_destroy(c, &derr) < 0) {
        fprintf(stderr, "hello: %s\n", derr.message);
        return 125;
    }
    return rc < 0 ? 125 : code;
}
