/* Dereference a field of a NULL struct pointer: the guest must die of SIGSEGV at address 0x10.
 *
 * Used by tests/test_cli_errors.py only (not compared with a native run). stdout is flushed
 * first so the test can check that output written before the fault is not lost.
 */
#include <stdio.h>

struct node {
    long a, b, c;
};

int main(void)
{
    printf("before the crash\n");
    fflush(stdout);
    struct node *volatile p = NULL;
    return (int)p->c; /* offsetof(struct node, c) == 0x10 */
}
