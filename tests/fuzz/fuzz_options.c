/* Size, id, uid:gid and number parsing, and every container option of run and
 * create (src/cli/options.c) on one argument: input "<selector byte><text>". */
#include "fuzz.h"

#include "../../src/cli/cli.h"
#include "../../src/common/internal.h"

#include <getopt.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct option *opts;
    static int n_opts;

    if (!opts) {
        opts = cli_copts_longopts(NULL);
        while (opts && opts[n_opts].name)
            n_opts++;
    }
    if (size < 1)
        return 0;
    char *s = fuzz_str(data + 1, size - 1);
    uint64_t u64;
    uint32_t u32;
    int64_t uid, gid;

    (void)containerv_parse_size(s, &u64);
    (void)cv_valid_id(s);
    (void)cli_parse_u64(s, &u64);
    (void)cli_parse_u32(s, &u32);
    (void)cli_parse_user(s, &uid, &gid);

    if (opts && n_opts > 0) {
        const struct option *o = &opts[data[0] % n_opts];
        struct cli_copts co;
        if (cli_copts_init(&co) == 0) {
            (void)cli_copts_handle(&co, o->val, o->has_arg ? s : NULL);
            cli_copts_free(&co);
        }
    }
    free(s);
    return 0;
}
