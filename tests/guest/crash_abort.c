/* abort(): the guest kills itself with SIGABRT, so elfjit must exit with 128 + 6 = 134.
 *
 * Used by tests/test_cli_errors.py only. Output written before the signal is flushed first.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    printf("about to abort\n");
    fflush(stdout);
    abort();
}
