/* The cgroup probe's parse of /proc/self/mountinfo (src/linux/cgroup/cgroup.c
 * cv_cgroup_parse_mountinfo_line, on hosts without a unified hierarchy): a
 * user can add lines of their own (a FUSE mount: its mount point and source
 * are theirs). The input is the file: each line, as getline gives it, goes to
 * the parser, which fills the v1 mount points. */
#include "fuzz.h"

#include "../../src/linux/cgroup/cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char mnts[CV_V1_COUNT][PATH_MAX];
    if (size > 65536)
        return 0;
    memset(mnts, 0, sizeof(mnts));
    const uint8_t *p = data, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char *line = fuzz_str(p, len); /* as getline: the '\n' kept */
        cv_cgroup_parse_mountinfo_line(line, mnts);
        free(line);
        p += len;
    }
    for (int c = 0; c < CV_V1_COUNT; c++)
        if (strnlen(mnts[c], PATH_MAX) >= PATH_MAX)
            abort();
    return 0;
}
