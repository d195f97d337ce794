/* Print the names of containerv_create's steps (with --spawn, containerv_spawn's), one a line (for the
 * fault-injection tests that drive the CLI); with --sysnr, this
 * architecture's numbers of pause, poll and ppoll (-1 where it has none),
 * which the tests read in /proc/PID/syscall to see a paused step. */
#include <containerv/containerv.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#ifndef SYS_pause
#define SYS_pause -1
#endif
#ifndef SYS_poll
#define SYS_poll -1
#endif
#ifndef SYS_ppoll
#define SYS_ppoll -1
#endif

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--sysnr") == 0) {
        printf("%ld %ld %ld\n", (long)SYS_pause, (long)SYS_poll, (long)SYS_ppoll);
        return 0;
    }
    bool spawn = argc > 1 && strcmp(argv[1], "--spawn") == 0;
    const char *const *steps = spawn ? containerv_spawn_steps() : containerv_create_steps();
    if (!steps || !steps[0]) {
        fprintf(stderr, "cv-steps: containerv_%s_steps() returned no step\n", spawn ? "spawn" : "create");
        return 1;
    }
    for (size_t i = 0; steps[i]; i++)
        printf("%s\n", steps[i]);
    return 0;
}
