/* Smallest useful guest: startup, stdio to a pipe, one stderr line, exit 0. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    fprintf(stderr, "hello on stderr\n");
    puts("second line via puts");
    return 0;
}
