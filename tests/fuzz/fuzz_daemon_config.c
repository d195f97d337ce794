/* The daemon's configuration file (src/daemon/config.c). */
#include "fuzz.h"

#include "../../src/daemon/daemon.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char file[128];
    struct cvd_config c;

    if (!file[0]) {
        snprintf(file, sizeof(file), "%s/daemon.conf", fuzz_scratch_dir());
    }
    fuzz_write_file(file, data, size);
    memset(&c, 0, sizeof(c));
    c.ready_fd = -1;
    (void)cvd_config_load(file, &c);
    cvd_config_free(&c);
    return 0;
}
