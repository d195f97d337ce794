/* The startup benchmark's podman modes: what a podman user sees when the
 * runtime is switched and nothing else, `podman --runtime R run --rm
 * --network none IMAGE /bin/true` end to end (podman, conmon, the runtime's
 * create, start, wait and delete), with R containerv's CLI ("podman") and
 * runc ("podman-runc"; crun refuses these hybrid hosts under podman).
 * podman gets a store of its own under the benchmark's temporary directory
 * (root, run root, tmpdir, vfs storage: no mounts of its own), a
 * containers.conf with the ulimits these machines allow and the cgroupfs
 * manager, and an image imported from the benchmark's rootfs; at the end
 * the image and any container are removed through podman, and the
 * directory with the rest of the benchmark's. */
#include "bench.h"

#include <fcntl.h>
#include <sys/stat.h>

static int write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t n = strlen(text);
    int r = write(fd, text, n) == (ssize_t)n ? 0 : -EIO;
    close(fd);
    return r;
}

/* argv of `env CONTAINERS_CONF=... podman --root ... ARGS...` (NULL-terminated
 * args); root_flag: --runtime-flag for the runtime's state dir, or NULL */
static void podman_argv(const struct cvb_podman *p, const char *runtime, const char *root_flag,
                        const char *const *args, struct cvb_argv *a)
{
    int n = 0;
    a->v[n++] = (char *)"/usr/bin/env";
    a->v[n++] = (char *)p->conf_env;
    a->v[n++] = (char *)p->podman;
    a->v[n++] = (char *)"--root";
    a->v[n++] = (char *)p->storage;
    a->v[n++] = (char *)"--runroot";
    a->v[n++] = (char *)p->runroot;
    a->v[n++] = (char *)"--tmpdir";
    a->v[n++] = (char *)p->tmpdir;
    a->v[n++] = (char *)"--storage-driver";
    a->v[n++] = (char *)"vfs";
    if (runtime) {
        a->v[n++] = (char *)"--runtime";
        a->v[n++] = (char *)runtime;
    }
    if (root_flag) {
        a->v[n++] = (char *)"--runtime-flag";
        a->v[n++] = (char *)root_flag;
    }
    for (int i = 0; args[i] && n < (int)(sizeof(a->v) / sizeof(a->v[0])) - 1; i++)
        a->v[n++] = (char *)args[i];
    a->v[n] = NULL;
}

static bool shell_safe(const char *s)
{
    return !strpbrk(s, "'\\\n");
}

int cvb_podman_prepare(struct cvb *b, struct cvb_podman *p, char *why, size_t n)
{
    memset(p, 0, sizeof(*p));
    if (!cvb_find_in_path("podman", p->podman, sizeof(p->podman))) {
        snprintf(why, n, "podman is not installed (not found in PATH)");
        return -ENOENT;
    }
    if (access("/usr/bin/env", X_OK) < 0 || access("/bin/sh", X_OK) < 0) {
        snprintf(why, n, "/usr/bin/env or /bin/sh is missing");
        return -ENOENT;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/podman", b->tmp);
    snprintf(p->storage, sizeof(p->storage), "%s/storage", dir);
    snprintf(p->runroot, sizeof(p->runroot), "%s/runroot", dir);
    snprintf(p->tmpdir, sizeof(p->tmpdir), "%s/tmp", dir);
    char conf[PATH_MAX + 32];
    snprintf(conf, sizeof(conf), "%s/containers.conf", dir);
    snprintf(p->conf_env, sizeof(p->conf_env), "CONTAINERS_CONF=%s", conf);
    /* <root>/lib/<podman's 64-hex id>.sock must fit a socket address (108
     * bytes): a short name, else containerv's default root */
    if (strlen(b->tmp) + strlen("/o/lib/") + 64 + strlen(".sock") < 108)
        snprintf(p->cv_root_flag, sizeof(p->cv_root_flag), "root=%s/o", b->tmp);
    if (mkdir(dir, 0700) < 0 || mkdir(p->tmpdir, 0700) < 0) {
        snprintf(why, n, "mkdir under %s: %s", dir, strerror(errno));
        return -errno;
    }
    /* the ulimits these machines allow (no CAP_SYS_RESOURCE), as the tests' */
    if (write_text(conf, "[containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n"
                         "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n") < 0) {
        snprintf(why, n, "writing %s", conf);
        return -EIO;
    }
    snprintf(p->image, sizeof(p->image), "localhost/containerv-bench:1");
    if (!shell_safe(b->rootfs) || !shell_safe(dir)) {
        snprintf(why, n, "a path holds a quote or a backslash");
        return -EINVAL;
    }
    /* the image: the benchmark's rootfs, imported as one layer */
    char cmd[4 * PATH_MAX + 512];
    snprintf(cmd, sizeof(cmd),
             "tar -C '%s' -c . | /usr/bin/env '%s' '%s' --root '%s' --runroot '%s' --tmpdir '%s' "
             "--storage-driver vfs import - '%s'",
             b->rootfs, p->conf_env, p->podman, p->storage, p->runroot, p->tmpdir, p->image);
    char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};
    struct cvb_cmd c = {.path = "/bin/sh", .argv = argv, .quiet = true};
    uint64_t ns;
    char w[300];
    int r = cvb_run(b, &c, &ns, w, sizeof(w));
    if (r < 0) {
        snprintf(why, n, "podman import of the rootfs: %s", w);
        return r;
    }
    p->ready = true;
    return 0;
}

int cvb_podman_run(struct cvb *b, const struct cvb_podman *p, const char *runtime, bool containerv, uint64_t *ns,
                   char *why, size_t n)
{
    const char *args[] = {"run", "--rm", "--network", "none", p->image, "/bin/true", NULL};
    struct cvb_argv a;
    /* containerv's state under the benchmark's directory (podman gives a
     * runtime it does not know no --root; runc's is podman's default) */
    podman_argv(p, runtime, containerv && p->cv_root_flag[0] ? p->cv_root_flag : NULL, args, &a);
    struct cvb_cmd c = {.path = a.v[0], .argv = a.v, .quiet = true};
    return cvb_run(b, &c, ns, why, n);
}

void cvb_podman_cleanup(struct cvb *b, struct cvb_podman *p)
{
    if (!p->ready)
        return;
    const char *rm[] = {"rm", "-a", "-f", NULL}, *rmi[] = {"rmi", "-a", "-f", NULL};
    const char *const *steps[] = {rm, rmi};
    for (size_t i = 0; i < 2; i++) {
        struct cvb_argv a;
        podman_argv(p, NULL, NULL, steps[i], &a);
        struct cvb_cmd c = {.path = a.v[0], .argv = a.v, .quiet = true};
        uint64_t ns;
        char w[300];
        cvb_run(b, &c, &ns, w, sizeof(w));
    }
    p->ready = false;
}
