/* The error convention (docs/errors.md): return -code, fill the caller's object. */
#include "internal.h"

#include <limits.h>
#include <stdio.h>

void containerv_error_clear(struct containerv_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

static int fill(struct containerv_error *err, int code, const char *step, bool with_errno,
                const char *fmt, va_list ap)
{
    if (code < 0)
        code = code == INT_MIN ? EIO : -code;
    if (code == 0)
        code = EIO;
    if (!err)
        return -code;
    err->code = code;
    snprintf(err->step, sizeof(err->step), "%s", step);
    char what[384];
    vsnprintf(what, sizeof(what), fmt, ap);
    if (with_errno)
        snprintf(err->message, sizeof(err->message), "%s: %s: %s", step, what, strerror(code));
    else
        snprintf(err->message, sizeof(err->message), "%s: %s", step, what);
    return -code;
}

int cv_error(struct containerv_error *err, int code, const char *step, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fill(err, code, step, true, fmt, ap);
    va_end(ap);
    return r;
}

int cv_error_plain(struct containerv_error *err, int code, const char *step, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = fill(err, code, step, false, fmt, ap);
    va_end(ap);
    return r;
}
