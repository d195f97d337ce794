/* The JSON template loader (src/pool/template.c): the input is the file. */
#include "fuzz.h"

#include <containerv/containerv.h>
#include <containerv/pool.h>

#include <stdio.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char dir[128], file[192];
    struct containerv_options *opts = NULL;
    struct containerv_error err;

    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "%s/state", fuzz_scratch_dir());
        mkdir(dir, 0700);
        snprintf(file, sizeof(file), "%s/templates", dir);
        mkdir(file, 0700);
        snprintf(file, sizeof(file), "%s/templates/t.json", dir);
    }
    fuzz_write_file(file, data, size);
    if (containerv_template_load(dir, "t", &opts, &err) == 0)
        containerv_options_free(opts);
    return 0;
}
