/* The container options shared by run and create (and template create). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    OPT_ROOTFS = 0x100,
    OPT_LOWER,
    OPT_MEMORY_SWAP,
    OPT_PIDS,
    OPT_CPUS,
    OPT_CPU_SHARES,
    OPT_CPU_WEIGHT,
    OPT_HOSTNAME,
    OPT_READ_ONLY,
    OPT_NETWORK,
    OPT_IPC,
    OPT_UTS,
    OPT_PID,
    OPT_UIDMAP,
    OPT_GIDMAP,
    OPT_SECURITY_OPT,
    OPT_CAP_ADD,
    OPT_PRIVILEGED,
    OPT_NAME,
    OPT_MEMORY_RESERVATION,
    OPT_MEMORY_SWAPPINESS,
    OPT_OOM_KILL_DISABLE,
    OPT_CPUSET_CPUS,
    OPT_CPUSET_MEMS,
    OPT_DEVICE_CGROUP_RULE,
};

static const struct option copts_longopts[] = {
    {"rootfs", required_argument, NULL, OPT_ROOTFS},
    {"lower", required_argument, NULL, OPT_LOWER},
    {"memory", required_argument, NULL, 'm'},
    {"memory-swap", required_argument, NULL, OPT_MEMORY_SWAP},
    {"memory-reservation", required_argument, NULL, OPT_MEMORY_RESERVATION},
    {"memory-swappiness", required_argument, NULL, OPT_MEMORY_SWAPPINESS},
    {"oom-kill-disable", no_argument, NULL, OPT_OOM_KILL_DISABLE},
    {"pids-limit", required_argument, NULL, OPT_PIDS},
    {"pids", required_argument, NULL, OPT_PIDS},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"cpu-shares", required_argument, NULL, OPT_CPU_SHARES},
    {"cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT},
    {"cpuset-cpus", required_argument, NULL, OPT_CPUSET_CPUS},
    {"cpuset-mems", required_argument, NULL, OPT_CPUSET_MEMS},
    {"device-cgroup-rule", required_argument, NULL, OPT_DEVICE_CGROUP_RULE},
    {"hostname", required_argument, NULL, OPT_HOSTNAME},
    {"env", required_argument, NULL, 'e'},
    {"workdir", required_argument, NULL, 'w'},
    {"user", required_argument, NULL, 'u'},
    {"read-only", no_argument, NULL, OPT_READ_ONLY},
    {"volume", required_argument, NULL, 'v'},
    {"network", required_argument, NULL, OPT_NETWORK},
    {"net", required_argument, NULL, OPT_NETWORK},
    {"ipc", required_argument, NULL, OPT_IPC},
    {"uts", required_argument, NULL, OPT_UTS},
    {"pid", required_argument, NULL, OPT_PID},
    {"uidmap", required_argument, NULL, OPT_UIDMAP},
    {"gidmap", required_argument, NULL, OPT_GIDMAP},
    {"security-opt", required_argument, NULL, OPT_SECURITY_OPT},
    {"cap-add", required_argument, NULL, OPT_CAP_ADD},
    {"privileged", no_argument, NULL, OPT_PRIVILEGED},
    {"name", required_argument, NULL, OPT_NAME},
};

#define N_COPTS (sizeof(copts_longopts) / sizeof(copts_longopts[0]))

const char cli_copts_usage[] =
    "Container options:\n"
    "      --name ID              the container's id (default: generated)\n"
    "      --rootfs DIR           use DIR, read-only, as the root filesystem\n"
    "      --lower DIR            an overlay lower layer (repeatable; the first is the top);\n"
    "                             a fresh writable layer goes on top\n"
    "  -m, --memory SIZE          memory limit (e.g. 64M, 1g)\n"
    "      --memory-swap SIZE     memory + swap limit (-1: unlimited)\n"
    "      --memory-reservation SIZE  soft limit: reclaimed down to it under pressure\n"
    "      --memory-swappiness N  0..100 (-1: the kernel's; cgroup v1 only)\n"
    "      --oom-kill-disable     no OOM kill: tasks over the limit wait (cgroup v1 only)\n"
    "      --pids, --pids-limit N at most N processes\n"
    "      --cpus FLOAT           CPU quota in CPUs (e.g. 0.5)\n"
    "      --cpu-shares N         relative CPU weight, docker's scale (2..262144)\n"
    "      --cpu-weight N         relative CPU weight, cgroup v2's scale (1..10000)\n"
    "      --cpuset-cpus LIST     the CPUs it may run on (0-3,8)\n"
    "      --cpuset-mems LIST     the memory nodes it may allocate from (0,1)\n"
    "      --device-cgroup-rule 'TYPE MAJOR:MINOR ACCESS'  allow device access (c 10:200 rwm,\n"
    "                             b 8:* r; repeatable): the first puts the container under\n"
    "                             the device controller, everything else denied but the\n"
    "                             devices every container has (podman's rule)\n"
    "      --hostname NAME        the container's hostname\n"
    "  -e, --env K=V              set an environment variable (repeatable);\n"
    "                             -e K takes K's value from this environment\n"
    "  -w, --workdir DIR          the working directory inside the container\n"
    "  -u, --user UID[:GID]       numeric user (and group, default 0) to run as\n"
    "      --read-only            make the root filesystem read-only\n"
    "  -v, --volume SRC:DST[:ro|rw]  bind mount host SRC at DST (repeatable)\n"
    "      --network none|host|ns:PATH  none: own network namespace with loopback\n"
    "                             (default); host: share the host's network;\n"
    "                             ns:PATH: join that namespace (/proc/PID/ns/net, /run/netns/N)\n"
    "      --ipc private|host|ns:PATH  System V IPC and POSIX queues (default private)\n"
    "      --uts private|host|ns:PATH  hostname and domain name (default private)\n"
    "      --pid private|host|ns:PATH  process ids (default private; host or a joined\n"
    "                             one: the init is not pid 1, no pool reuse)\n"
    "      --uidmap IN:OUT:COUNT  map container uids IN.. to host uids OUT.. (user namespace)\n"
    "      --gidmap IN:OUT:COUNT  the same for group ids\n"
    "      --security-opt OPT     seccomp=unconfined, no-new-privileges=false, mask=off,\n"
    "                             readonly-paths=off\n"
    "      --cap-add ALL          keep every capability (only ALL is supported)\n"
    "      --privileged           switch off every part of the security baseline\n";

int cli_copts_init(struct cli_copts *co)
{
    memset(co, 0, sizeof(*co));
    co->ns_mask = CONTAINERV_NS_DEFAULT;
    co->opts = containerv_options_new();
    if (!co->opts) {
        cli_error("out of memory");
        return -1;
    }
    return 0;
}

void cli_copts_free(struct cli_copts *co)
{
    containerv_options_free(co->opts);
    co->opts = NULL;
}

struct option *cli_copts_longopts(const struct option *extra)
{
    size_t n_extra = 0;
    struct option *all;

    while (extra && extra[n_extra].name)
        n_extra++;
    all = calloc(N_COPTS + n_extra + 1, sizeof(*all));
    if (!all)
        return NULL;
    memcpy(all, copts_longopts, sizeof(copts_longopts));
    if (n_extra)
        memcpy(all + N_COPTS, extra, n_extra * sizeof(*extra));
    return all;
}

/* Report the result of an options setter; returns 1 or -1. */
static int setter(const char *opt, const char *arg, int rc)
{
    if (rc == 0)
        return 1;
    cli_error("%s: invalid value '%s': %s", opt, arg, strerror(-rc));
    return -1;
}

static int bad(const char *opt, const char *what, const char *arg)
{
    cli_error("%s: %s '%s'", opt, what, arg);
    return -1;
}

static int bad_hint(const char *opt, const char *what, const char *arg, const char *hint)
{
    cli_error("%s: %s '%s' (%s)", opt, what, arg, hint);
    return -1;
}

static int opt_size(struct cli_copts *co, int opt, const char *arg)
{
    const char *name = opt == 'm' ? "--memory" : "--memory-swap";
    uint64_t bytes;

    if (opt == OPT_MEMORY_SWAP && strcmp(arg, "-1") == 0)
        bytes = 0; /* docker's "unlimited" */
    else if (containerv_parse_size(arg, &bytes) < 0 || bytes == 0)
        return bad(name, "invalid size", arg);
    if (opt == 'm')
        return setter(name, arg, containerv_options_set_memory_limit(co->opts, bytes));
    return setter(name, arg, containerv_options_set_memory_swap_limit(co->opts, bytes));
}

static int opt_memory_extra(struct cli_copts *co, int opt, const char *arg)
{
    if (opt == OPT_OOM_KILL_DISABLE)
        return setter("--oom-kill-disable", "", containerv_options_set_oom_kill_disable(co->opts, true));
    if (opt == OPT_MEMORY_SWAPPINESS) {
        uint64_t n;
        if (strcmp(arg, "-1") == 0)
            return setter("--memory-swappiness", arg, containerv_options_set_memory_swappiness(co->opts, -1));
        if (!cli_parse_u64(arg, &n) || n > 100)
            return bad("--memory-swappiness", "not a number from 0 to 100 (or -1)", arg);
        return setter("--memory-swappiness", arg, containerv_options_set_memory_swappiness(co->opts, (int)n));
    }
    uint64_t bytes;
    if (containerv_parse_size(arg, &bytes) < 0 || bytes == 0)
        return bad("--memory-reservation", "invalid size", arg);
    return setter("--memory-reservation", arg, containerv_options_set_memory_reservation(co->opts, bytes));
}

static int opt_cpuset(struct cli_copts *co, int opt, const char *arg)
{
    const char *name = opt == OPT_CPUSET_CPUS ? "--cpuset-cpus" : "--cpuset-mems";
    int rc = opt == OPT_CPUSET_CPUS ? containerv_options_set_cpuset_cpus(co->opts, arg)
                                    : containerv_options_set_cpuset_mems(co->opts, arg);
    if (rc == -EINVAL || !*arg)
        return bad(name, "not a list like 0-3,8", arg);
    return setter(name, arg, rc);
}

/* "c 1:3 rwm", "b 8:* r", "a *:* rwm" (podman's --device-cgroup-rule) */
static int opt_device_rule(struct cli_copts *co, const char *arg)
{
    const char *name = "--device-cgroup-rule";
    char type, maj[16], min[16], acc[8];
    int n = 0;
    if (sscanf(arg, " %c %15[0-9*]:%15[0-9*] %7[rwm]%n", &type, maj, min, acc, &n) != 4 || arg[n] != '\0')
        return bad_hint(name, "not a rule", arg, "TYPE MAJOR:MINOR ACCESS, like c 10:200 rwm");
    int64_t major = strcmp(maj, "*") ? strtoll(maj, NULL, 10) : -1, minor = strcmp(min, "*") ? strtoll(min, NULL, 10) : -1;
    if ((strchr(maj, '*') && strcmp(maj, "*")) || (strchr(min, '*') && strcmp(min, "*")))
        return bad_hint(name, "not a rule", arg, "a number or * for MAJOR and MINOR");
    int rc = 0;
    if (!co->have_device_rules) { /* deny everything but what each container has, then the rules */
        rc = containerv_options_add_device_rule(co->opts, false, 'a', -1, -1, "rwm");
        if (rc == 0)
            rc = containerv_options_add_default_device_rules(co->opts);
        co->have_device_rules = true;
    }
    if (rc == 0)
        rc = containerv_options_add_device_rule(co->opts, true, type, major, minor, acc);
    if (rc == -EINVAL)
        return bad_hint(name, "not a rule", arg, "TYPE is a, c or b; ACCESS a subset of rwm");
    return setter(name, arg, rc);
}

static int opt_pids(struct cli_copts *co, const char *arg)
{
    uint64_t n;

    if (!cli_parse_u64(arg, &n))
        return bad("--pids", "invalid number", arg);
    if (n < 1) {
        cli_error("--pids: must be at least 1, not '%s'", arg);
        return -1;
    }
    return setter("--pids", arg, containerv_options_set_pids_limit(co->opts, n));
}

static int opt_cpus(struct cli_copts *co, const char *arg)
{
    const uint64_t period = 100000;
    char *end;
    double cpus;

    errno = 0;
    cpus = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(cpus) || cpus <= 0 || cpus > 1e6)
        return bad("--cpus", "invalid number", arg);
    if (cpus < 0.01) {
        cli_error("--cpus: must be at least 0.01");
        return -1;
    }
    return setter("--cpus", arg,
                  containerv_options_set_cpu_quota(co->opts, (uint64_t)llround(cpus * (double)period),
                                                   period));
}

/* --cpu-shares uses docker's 2..262144 scale, --cpu-weight cgroup v2's 1..10000. */
static int opt_cpu_weight(struct cli_copts *co, int opt, const char *arg)
{
    const char *name = opt == OPT_CPU_SHARES ? "--cpu-shares" : "--cpu-weight";
    uint64_t v;

    if (!cli_parse_u64(arg, &v))
        return bad(name, "invalid number", arg);
    if (opt == OPT_CPU_SHARES) {
        if (v < 2 || v > 262144)
            return bad_hint(name, "out of range", arg, "2..262144");
        return setter(name, arg, containerv_options_set_cpu_shares(co->opts, v));
    } else if (v < 1 || v > 10000) {
        return bad_hint(name, "out of range", arg, "1..10000");
    }
    return setter(name, arg, containerv_options_set_cpu_weight(co->opts, v));
}

int cli_env_arg(const char *opt, const char *arg, char **out)
{
    const char *value;

    *out = NULL;
    if (!*arg || *arg == '=')
        return bad(opt, "invalid variable", arg);
    if (strchr(arg, '=')) {
        *out = strdup(arg);
    } else {
        value = getenv(arg);
        if (!value)
            return 0; /* like docker: an unset variable is left out */
        if (asprintf(out, "%s=%s", arg, value) < 0)
            *out = NULL;
    }
    if (!*out) {
        cli_error("out of memory");
        return -1;
    }
    return 0;
}

static int opt_env(struct cli_copts *co, const char *arg)
{
    char *kv;
    int rc;

    if (cli_env_arg("--env", arg, &kv) < 0)
        return -1;
    if (!kv)
        return 1;
    rc = setter("--env", arg, containerv_options_add_env(co->opts, kv));
    free(kv);
    return rc;
}

static int opt_user(struct cli_copts *co, const char *arg)
{
    int64_t uid, gid;

    if (!cli_parse_user(arg, &uid, &gid))
        return bad_hint("--user", "invalid user", arg, "want UID[:GID], numeric");
    return setter("--user", arg,
                  containerv_options_set_user(co->opts, (uid_t)uid, (gid_t)(gid < 0 ? 0 : gid)));
}

/* Split "SRC:DST[:ro|rw]" in place; false when malformed. */
static bool split_volume(char *spec, char **dst, bool *ro)
{
    char *mode;

    *dst = strchr(spec, ':');
    if (!*dst)
        return false;
    *(*dst)++ = '\0';
    mode = strchr(*dst, ':');
    if (mode)
        *mode++ = '\0';
    if (spec[0] != '/' || (*dst)[0] != '/')
        return false;
    *ro = mode && strcmp(mode, "ro") == 0;
    return !mode || *ro || strcmp(mode, "rw") == 0;
}

static int opt_volume(struct cli_copts *co, const char *arg)
{
    char *spec = strdup(arg), *dst;
    bool ro;
    int rc;

    if (!spec) {
        cli_error("out of memory");
        return -1;
    }
    if (split_volume(spec, &dst, &ro))
        rc = setter("--volume", arg, containerv_options_add_bind(co->opts, spec, dst, ro));
    else
        rc = bad_hint("--volume", "invalid volume", arg, "want SRC:DST[:ro|rw], absolute paths");
    free(spec);
    return rc;
}

/* IN:OUT:COUNT */
static int opt_idmap(struct cli_copts *co, int opt, const char *arg)
{
    const char *name = opt == OPT_UIDMAP ? "--uidmap" : "--gidmap";
    char buf[3][16];
    uint32_t v[3];
    const char *p = arg;

    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(p, ":");
        if (n == 0 || n >= sizeof(buf[i]) || (i < 2 && p[n] != ':') || (i == 2 && p[n]))
            return bad_hint(name, "invalid map", arg, "want IN:OUT:COUNT");
        memcpy(buf[i], p, n);
        buf[i][n] = '\0';
        if (!cli_parse_u32(buf[i], &v[i]))
            return bad_hint(name, "invalid map", arg, "want IN:OUT:COUNT");
        p += n + 1;
    }
    if (v[2] == 0)
        return bad_hint(name, "invalid map", arg, "COUNT must be at least 1");
    co->have_idmap = true;
    if (opt == OPT_UIDMAP)
        return setter(name, arg, containerv_options_add_uid_map(co->opts, v[0], v[1], v[2]));
    return setter(name, arg, containerv_options_add_gid_map(co->opts, v[0], v[1], v[2]));
}

/* --network, --ipc, --uts, --pid: the container's own namespace, the
 * host's, or one to join ("ns:PATH", podman's form) */
static int opt_ns(struct cli_copts *co, int opt, const char *arg)
{
    unsigned ns = opt == OPT_NETWORK ? CONTAINERV_NS_NET
                  : opt == OPT_IPC   ? CONTAINERV_NS_IPC
                  : opt == OPT_PID   ? CONTAINERV_NS_PID
                                     : CONTAINERV_NS_UTS;
    const char *name = opt == OPT_NETWORK ? "--network" : opt == OPT_IPC ? "--ipc" : opt == OPT_PID ? "--pid" : "--uts";
    const char *own = opt == OPT_NETWORK ? "none" : "private";
    const char *path = NULL;

    if (strcmp(arg, own) == 0) {
        co->ns_mask |= ns;
    } else if (strcmp(arg, "host") == 0) {
        co->ns_mask &= ~ns;
    } else if (strncmp(arg, "ns:", 3) == 0) {
        path = arg + 3;
        if (path[0] != '/')
            return bad_hint(name, "not an absolute path", path, "ns:/proc/PID/ns/..., ns:/run/netns/NAME");
        co->ns_mask |= ns;
    } else {
        return bad_hint(name, "unsupported value", arg,
                        opt == OPT_NETWORK ? "none, host or ns:PATH" : "private, host or ns:PATH");
    }
    return setter(name, arg, containerv_options_join_namespace(co->opts, ns, path));
}

static const struct {
    const char *text;
    unsigned set, clear;
} security_opts[] = {
    {"seccomp=unconfined", CONTAINERV_RELAX_SECCOMP, 0},
    {"no-new-privileges=false", CONTAINERV_RELAX_NO_NEW_PRIVS, 0},
    {"no-new-privileges=true", 0, CONTAINERV_RELAX_NO_NEW_PRIVS},
    {"no-new-privileges", 0, CONTAINERV_RELAX_NO_NEW_PRIVS},
    {"mask=off", CONTAINERV_RELAX_MASKED_PATHS, 0},
    {"readonly-paths=off", CONTAINERV_RELAX_READONLY_PATHS, 0},
    {"devices=on", CONTAINERV_RELAX_DEVICES, 0},
};

static int opt_security(struct cli_copts *co, const char *arg)
{
    for (size_t i = 0; i < sizeof(security_opts) / sizeof(security_opts[0]); i++) {
        if (strcmp(arg, security_opts[i].text) == 0) {
            co->relax = (co->relax | security_opts[i].set) & ~security_opts[i].clear;
            return 1;
        }
    }
    return bad_hint("--security-opt", "unsupported option", arg,
                    "want seccomp=unconfined, no-new-privileges=false, mask=off or "
                    "readonly-paths=off");
}

static int opt_path(struct cli_copts *co, int opt, const char *arg)
{
    switch (opt) {
    case OPT_ROOTFS:
        co->have_rootfs = true;
        return setter("--rootfs", arg, containerv_options_set_rootfs(co->opts, arg));
    case OPT_LOWER:
        co->have_lower = true;
        return setter("--lower", arg, containerv_options_add_lower(co->opts, arg));
    case 'w':
        return setter("--workdir", arg, containerv_options_set_workdir(co->opts, arg));
    default:
        return setter("--hostname", arg, containerv_options_set_hostname(co->opts, arg));
    }
}

static int opt_flag(struct cli_copts *co, int opt, const char *arg)
{
    switch (opt) {
    case OPT_READ_ONLY:
        return setter("--read-only", "true", containerv_options_set_read_only(co->opts, true));
    case OPT_PRIVILEGED:
        co->relax = CONTAINERV_RELAX_SECCOMP | CONTAINERV_RELAX_CAPS |
                    CONTAINERV_RELAX_NO_NEW_PRIVS | CONTAINERV_RELAX_MASKED_PATHS |
                    CONTAINERV_RELAX_READONLY_PATHS | CONTAINERV_RELAX_DEVICES;
        return 1;
    case OPT_CAP_ADD:
        if (strcasecmp(arg, "ALL") != 0)
            return bad_hint("--cap-add", "unsupported capability", arg, "only ALL is supported");
        co->relax |= CONTAINERV_RELAX_CAPS;
        return 1;
    default:
        co->name = arg;
        return 1;
    }
}

int cli_copts_handle(struct cli_copts *co, int opt, const char *arg)
{
    switch (opt) {
    case 'm':
    case OPT_MEMORY_SWAP: return opt_size(co, opt, arg);
    case OPT_MEMORY_RESERVATION:
    case OPT_MEMORY_SWAPPINESS:
    case OPT_OOM_KILL_DISABLE: return opt_memory_extra(co, opt, arg);
    case OPT_PIDS: return opt_pids(co, arg);
    case OPT_CPUSET_CPUS:
    case OPT_CPUSET_MEMS: return opt_cpuset(co, opt, arg);
    case OPT_DEVICE_CGROUP_RULE: return opt_device_rule(co, arg);
    case OPT_CPUS: return opt_cpus(co, arg);
    case OPT_CPU_SHARES:
    case OPT_CPU_WEIGHT: return opt_cpu_weight(co, opt, arg);
    case 'e': return opt_env(co, arg);
    case 'u': return opt_user(co, arg);
    case 'v': return opt_volume(co, arg);
    case OPT_UIDMAP:
    case OPT_GIDMAP: return opt_idmap(co, opt, arg);
    case OPT_NETWORK:
    case OPT_IPC:
    case OPT_UTS:
    case OPT_PID: return opt_ns(co, opt, arg);
    case OPT_SECURITY_OPT: return opt_security(co, arg);
    case OPT_ROOTFS:
    case OPT_LOWER:
    case OPT_HOSTNAME:
    case 'w': return opt_path(co, opt, arg);
    case OPT_READ_ONLY:
    case OPT_PRIVILEGED:
    case OPT_CAP_ADD:
    case OPT_NAME: return opt_flag(co, opt, arg);
    default: return 0;
    }
}

int cli_copts_finish(struct cli_copts *co, const struct cli_global *g, bool die_with_parent)
{
    int rc = 0;

    if (co->have_rootfs && co->have_lower) {
        cli_error("--rootfs and --lower cannot be combined");
        return -1;
    }
    if (co->ns_mask != CONTAINERV_NS_DEFAULT)
        rc = containerv_options_set_namespaces(
            co->opts, co->ns_mask | (co->have_idmap ? (unsigned)CONTAINERV_NS_USER : 0u));
    if (rc == 0 && co->relax)
        rc = containerv_options_set_relax(co->opts, co->relax);
    if (rc == 0 && g->runtime_dir)
        rc = containerv_options_set_runtime_dir(co->opts, g->runtime_dir);
    if (rc == 0 && g->debug)
        rc = containerv_options_set_trace(co->opts, cli_trace_debug, NULL);
    if (rc == 0)
        rc = containerv_options_set_die_with_parent(co->opts, die_with_parent);
    if (rc < 0) {
        cli_error("options: %s", strerror(-rc));
        return -1;
    }
    return 0;
}
