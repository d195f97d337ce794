/* Files a verb writes its results to (--json, --svg, --metrics-json): opened
 * before the work starts, so that a path that cannot be written fails the
 * command at once instead of after the work; a file the open created is
 * removed again when the work never got to fill it. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int cli_outfile_open(struct cli_outfile *of, const char *opt, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

    of->opt = opt;
    of->path = path;
    of->created = fd >= 0;
    if (fd < 0 && errno == EEXIST)
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    of->f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!of->f) {
        cli_error("%s: cannot open '%s': %s", opt, path, strerror(errno));
        if (fd >= 0)
            close(fd);
        if (of->created)
            unlink(path);
        return -1;
    }
    return 0;
}

void cli_outfile_abandon(struct cli_outfile *of)
{
    if (!of->f)
        return;
    fclose(of->f);
    of->f = NULL;
    if (of->created)
        unlink(of->path);
}

int cli_outfile_close(struct cli_outfile *of, bool write_failed)
{
    int rc = write_failed ? -1 : 0;

    if (!of->f)
        return 0;
    if (fclose(of->f) != 0)
        rc = -1;
    of->f = NULL;
    if (rc < 0)
        cli_error("%s: cannot write '%s': %s", of->opt, of->path, strerror(errno));
    return rc;
}
