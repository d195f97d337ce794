/* An OCI bundle's config.json (src/oci/spec.c), and its linux.seccomp
 * compiled with libseccomp (src/oci/seccomp.c): the input is the file. The
 * same input as an update's LinuxResources (oci_resources_parse: what
 * `update --resources` reads from containerd's shim or podman). */
#include "fuzz.h"

#include "../../src/oci/seccomp.h"
#include "../../src/oci/spec.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oci_spec s;
    char err[512];
    if (size > (1 << 20))
        return 0;
    if (oci_spec_parse((const char *)data, size, &s, err, sizeof(err)) == 0) {
        if (!s.root_path || (s.has_process && (!s.args || !s.args[0] || !s.cwd)))
            abort(); /* accepted, it must hold what the runtime reads */
        if (s.n_mounts > OCI_MAX_MOUNTS || s.n_rlimits > 16 || s.n_groups > 64)
            abort();
        if (s.seccomp) {
            struct sock_filter *prog = NULL;
            size_t len = 0;
            if (oci_seccomp_compile(s.seccomp, &prog, &len, err, sizeof(err)) == 0 && (!prog || !len || len > 4096))
                abort();
            free(prog);
        }
    } else if (!err[0]) {
        abort(); /* a refusal names what was wrong */
    }
    oci_spec_free(&s);
    if (oci_resources_parse((const char *)data, size, &s, err, sizeof(err)) == 0) {
        if (s.swappiness > 100 || s.cpu_shares > 262144 || s.cpu_period > 1000000 || s.memory_limit < -1 ||
            s.pids_limit < -1)
            abort(); /* accepted, the values are in their ranges */
    } else if (!err[0]) {
        abort();
    }
    oci_spec_free(&s);
    return 0;
}
