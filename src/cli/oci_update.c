/* runc's update: change the resource limits of a running (or created or
 * paused) container. The limits come from --resources FILE ('-': stdin), a
 * LinuxResources JSON object as containerd's shim and podman send it, and
 * from runc's flags, which win over the file. They are written to the
 * container's cgroup by containerv_update; what is not given stays. */
#include "oci.h"
#include "../linux/cgroup/cgroup.h"
#include "../linux/linux.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UPDATE_MAX_JSON (1 << 20)

static const char update_usage[] =
    "Usage: containerv update [OPTIONS] ID\n"
    "\n"
    "Change the resource limits of a container (runc's update). What is not\n"
    "given stays as it is. SIZE is bytes or 64m, 1g ...; -1 lifts a limit.\n"
    "\n"
    "  -r, --resources FILE         a LinuxResources JSON object ('-': stdin)\n"
    "      --memory SIZE            memory limit\n"
    "      --memory-swap SIZE       memory + swap limit\n"
    "      --memory-reservation SIZE  soft memory limit\n"
    "      --cpu-share N            CPU shares (2..262144)\n"
    "      --cpu-period US          CFS period\n"
    "      --cpu-quota US           CFS quota per period (-1: none)\n"
    "      --cpu-rt-period US       realtime period (cgroup v1)\n"
    "      --cpu-rt-runtime US      realtime runtime (cgroup v1)\n"
    "      --cpuset-cpus LIST       CPUs (0-3,8)\n"
    "      --cpuset-mems LIST       memory nodes\n"
    "      --pids-limit N           process limit (-1: none)\n"
    "      --kernel-memory SIZE     ignored (deprecated, as runc)\n"
    "      --kernel-memory-tcp SIZE ignored (deprecated, as runc)\n"
    "      --blkio-weight N         refused: block I/O limits are not supported yet\n"
    "  -h, --help                   show this help\n";

enum {
    U_MEMORY = 0x400,
    U_SWAP,
    U_RESERVATION,
    U_SHARES,
    U_PERIOD,
    U_QUOTA,
    U_RT_PERIOD,
    U_RT_RUNTIME,
    U_CPUS,
    U_MEMS,
    U_PIDS,
    U_KMEM,
    U_BLKIO,
    U_L3,
};

static int load_resources(const struct oci_ctx *x, const char *file, struct oci_spec *s)
{
    int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
    if (fd < 0) {
        oci_error(x, "update: --resources '%s': %s", file, strerror(errno));
        return -1;
    }
    size_t len = 0;
    char *text = cv_read_fd_all(fd, UPDATE_MAX_JSON, &len);
    int e = errno;
    if (fd != STDIN_FILENO)
        close(fd);
    if (!text) {
        oci_error(x, "update: --resources '%s': %s", file, e == EFBIG ? "longer than 1 MiB" : strerror(e));
        return -1;
    }
    char err[512];
    int r = oci_resources_parse(text, len, s, err, sizeof(err));
    free(text);
    if (r < 0)
        oci_error(x, "update: --resources '%s': %s", file, err);
    return r;
}

/* "-1" or a size ("64m", "1g", bytes) */
static int flag_size(const struct oci_ctx *x, const char *name, const char *arg, int64_t *out)
{
    uint64_t v;
    if (!strcmp(arg, "-1")) {
        *out = -1;
        return 0;
    }
    if (containerv_parse_size(arg, &v) < 0 || v > INT64_MAX) {
        oci_error(x, "update: --%s: invalid size '%s'", name, arg);
        return -1;
    }
    *out = (int64_t)v;
    return 0;
}

static int flag_int(const struct oci_ctx *x, const char *name, const char *arg, int64_t min, int64_t max,
                    int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        oci_error(x, "update: --%s: '%s' is not a number from %lld to %lld", name, arg, (long long)min,
                  (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

/* The flags over the file's values. 0, 1 (help printed) or -1 after an error line. */
static int parse_flags(const struct oci_ctx *x, int argc, char **argv, struct oci_spec *s, bool *any)
{
    static const struct option opts[] = {
        {"resources", required_argument, NULL, 'r'},
        {"memory", required_argument, NULL, U_MEMORY},
        {"memory-swap", required_argument, NULL, U_SWAP},
        {"memory-reservation", required_argument, NULL, U_RESERVATION},
        {"cpu-share", required_argument, NULL, U_SHARES},
        {"cpu-shares", required_argument, NULL, U_SHARES},
        {"cpu-period", required_argument, NULL, U_PERIOD},
        {"cpu-quota", required_argument, NULL, U_QUOTA},
        {"cpu-rt-period", required_argument, NULL, U_RT_PERIOD},
        {"cpu-rt-runtime", required_argument, NULL, U_RT_RUNTIME},
        {"cpuset-cpus", required_argument, NULL, U_CPUS},
        {"cpuset-mems", required_argument, NULL, U_MEMS},
        {"pids-limit", required_argument, NULL, U_PIDS},
        {"kernel-memory", required_argument, NULL, U_KMEM},
        {"kernel-memory-tcp", required_argument, NULL, U_KMEM},
        {"blkio-weight", required_argument, NULL, U_BLKIO},
        {"l3-cache-schema", required_argument, NULL, U_L3},
        {"mem-bw-schema", required_argument, NULL, U_L3},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* the file first, wherever it stands: the flags override it */
    const char *file = NULL;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+:r:h", opts, NULL)) != -1) {
        if (opt == 'h') {
            cli_usage(update_usage);
            return 1;
        }
        if (opt == '?' || opt == ':') {
            cli_getopt_error("update", opt, argv);
            return -1;
        }
        if (opt == 'r')
            file = optarg;
    }
    if (file && load_resources(x, file, s) < 0)
        return -1;
    *any = file != NULL;
    optind = 1;
    int li = 0;
    while ((opt = getopt_long(argc, argv, "+:r:h", opts, &li)) != -1) {
        int64_t v = 0;
        int r = 0;
        const char *name = opts[li].name;
        switch (opt) {
        case U_MEMORY:
            r = flag_size(x, "memory", optarg, &s->memory_limit);
            break;
        case U_SWAP:
            r = flag_size(x, "memory-swap", optarg, &s->memory_swap);
            break;
        case U_RESERVATION:
            r = flag_size(x, "memory-reservation", optarg, &s->memory_reservation);
            break;
        case U_SHARES:
            if ((r = flag_int(x, "cpu-share", optarg, 2, 262144, &v)) == 0)
                s->cpu_shares = (uint64_t)v;
            break;
        case U_PERIOD:
            if ((r = flag_int(x, "cpu-period", optarg, 1000, 1000000, &v)) == 0)
                s->cpu_period = (uint64_t)v;
            break;
        case U_QUOTA:
            if ((r = flag_int(x, "cpu-quota", optarg, -1, INT64_MAX, &v)) == 0) {
                s->cpu_quota = v;
                s->cpu_quota_set = true;
            }
            break;
        case U_RT_PERIOD:
            if ((r = flag_int(x, "cpu-rt-period", optarg, 1000, 1000000, &v)) == 0) {
                s->rt_period = (uint64_t)v;
                if (!s->rt_set)
                    s->rt_runtime = CONTAINERV_RT_RUNTIME_KEEP; /* the period alone */
                s->rt_set = true;
            }
            break;
        case U_RT_RUNTIME:
            if ((r = flag_int(x, "cpu-rt-runtime", optarg, -1, INT64_MAX, &v)) == 0) {
                s->rt_runtime = v;
                s->rt_set = true;
            }
            break;
        case U_CPUS:
            s->cpus = optarg;
            break;
        case U_MEMS:
            s->mems = optarg;
            break;
        case U_PIDS:
            r = flag_int(x, "pids-limit", optarg, -1, INT32_MAX, &s->pids_limit);
            break;
        case U_KMEM:
            oci_warn(x, "update: --%s: deprecated; ignored", name);
            break;
        case U_BLKIO:
        case U_L3:
            oci_error(x, "update: --%s: not supported by this runtime", name);
            return -1;
        default:
            continue;
        }
        if (r < 0)
            return -1;
        *any = true;
    }
    if (optind >= argc) {
        oci_error(x, "update: requires a container id");
        return -1;
    }
    if (optind + 1 < argc) {
        oci_error(x, "update: one container id expected, got '%s' and '%s'", argv[optind], argv[optind + 1]);
        return -1;
    }
    return 0;
}

/* The resources as the library's options (-1 lifts a limit, runc's meaning;
 * 0 or absent leaves it), and what an update cannot do. 0, or -1 after an
 * error line. */
static int to_options(const struct oci_ctx *x, const struct oci_spec *s, struct containerv_options *o)
{
    if (oci_limit_options(x, s, o, true) < 0)
        return -1;
    if (s->unsupported) {
        oci_error(x, "update: linux.resources.%s is not supported by this runtime", s->unsupported);
        return -1;
    }
    if (s->kernel_memory)
        oci_warn(x, "update: memory.kernel: deprecated; ignored");
    /* devices and disableOOMKiller are not updated (runc leaves them too) */
    return 0;
}

int cmd_oci_update(const struct oci_ctx *x, int argc, char **argv)
{
    struct oci_spec s;
    memset(&s, 0, sizeof(s));
    s.cpu_quota = -1;
    s.swappiness = -1;
    bool any = false;
    int r = parse_flags(x, argc, argv, &s, &any);
    if (r != 0) {
        oci_spec_free(&s);
        return r > 0 ? 0 : 1;
    }
    const char *id = argv[optind];
    const char *status = oci_status(x, id);
    int rc = 1;
    struct containerv_options *o = NULL;
    struct containerv_error e;
    if (!status)
        oci_error(x, "container does not exist: %s", id);
    else if (!strcmp(status, "stopped") || !strcmp(status, "creating"))
        oci_error(x, "container %s is %s: cannot update it", id, status);
    else if (!any)
        oci_error(x, "update: nothing to change (give --resources or a limit)");
    else if (!(o = containerv_options_new()))
        oci_error(x, "update: out of memory");
    else if (to_options(x, &s, o) == 0) {
        /* the cgroup through the state, as pause does: a started
         * container's init has become its process and answers no attach */
        struct cv_cgroup cg = {.mode = CV_CGROUP_NONE, .v2_fd = -1};
        if (cv_state_open_cgroup(x->lib_dir, id, &cg, &e) < 0 || cv_cgroup_update(&cg, &o->limits, &e) < 0)
            oci_error(x, "update %s: %s", id, e.message);
        else
            rc = 0;
        cv_cgroup_close(&cg);
    }
    containerv_options_free(o);
    oci_spec_free(&s);
    return rc;
}
