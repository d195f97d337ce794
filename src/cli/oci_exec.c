/* runc's exec: another process in a running container (docs/oci.md). */
#include "oci.h"

int cmd_oci_exec(const struct oci_ctx *x, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    oci_error(x, "exec is not supported yet");
    return 1;
}
