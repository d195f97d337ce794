/* The init program's command line (args.h). */
#include "args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* n comma-separated decimals in [lo, hi] from s, and nothing else */
static bool numbers(const char *s, long long lo, long long hi, long long *out, int n, int *got)
{
    int i = 0;
    while (*s && i < n) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno || v < lo || v > hi || (*end && *end != ','))
            return false;
        out[i++] = v;
        s = *end ? end + 1 : end;
    }
    *got = i;
    return !*s && i > 0;
}

bool cv_init_parse_args(int argc, char **argv, struct cv_init_args *a)
{
    bool have_fds = false, have_t0 = false, have_flags = false;
    long long v[4];
    int got;
    a->enter_fd = -1;
    if (argc == 2 && !strncmp(argv[1], "--enter=", 8)) {
        if (!numbers(argv[1] + 8, 3, INT32_MAX, v, 1, &got))
            return false;
        a->enter_fd = (int)v[0];
        return true;
    }
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (!strncmp(s, "--fds=", 6)) {
            if (!numbers(s + 6, -1, INT32_MAX, v, 4, &got) || got != 4 || v[0] < 3 || v[1] < 3 || v[2] < 3)
                return false;
            for (int k = 0; k < 4; k++)
                a->fds[k] = (int)v[k];
            have_fds = true;
        } else if (!strncmp(s, "--t0=", 5)) {
            if (!numbers(s + 5, 0, INT64_MAX, v, 1, &got))
                return false;
            a->t0 = (uint64_t)v[0];
            have_t0 = true;
        } else if (!strncmp(s, "--fault=", 8)) {
            a->fault = s[8] ? s + 8 : NULL;
        } else if (!strncmp(s, "--peers=", 8)) {
            if (!numbers(s + 8, 0, UINT32_MAX, v, 3, &got))
                return false;
            for (int k = 0; k < got; k++)
                a->peers[k] = (uid_t)v[k];
            a->n_peers = got;
        } else if (s[0] == '-' && s[1] == '-' && strspn(s + 2, "ud") == strlen(s + 2)) {
            a->userns = strchr(s + 2, 'u') != NULL;
            a->die = strchr(s + 2, 'd') != NULL;
            have_flags = true;
        } else {
            return false;
        }
    }
    return have_fds && have_t0 && have_flags;
}
