/* Start-up workload: a static "hello world" that does almost nothing after main().
 * What it measures is getting a process going: exec, the ELF loader, libc's static
 * initialisation (TLS, IRELATIVE relocations, stdio) and exit. Any argument is ignored. */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    puts("start-up workload done");
    return 0;
}
