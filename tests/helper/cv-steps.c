/* Print the names of containerv_create's steps, one a line (for the
 * fault-injection tests that drive the CLI). */
#include <containerv/containerv.h>
#include <stdio.h>

int main(void)
{
    const char *const *steps = containerv_create_steps();
    if (!steps || !steps[0]) {
        fprintf(stderr, "cv-steps: containerv_create_steps() returned no step\n");
        return 1;
    }
    for (size_t i = 0; steps[i]; i++)
        printf("%s\n", steps[i]);
    return 0;
}
