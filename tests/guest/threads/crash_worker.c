/* A worker dereferences a bad pointer while another thread spins and main waits in
 * pthread_join: the whole process dies of SIGSEGV (status 139), as natively. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *spin(void *arg)
{
    for (volatile unsigned long x = 0;; x++)
        ;
    return arg;
}

static void *bad(void *arg)
{
    usleep(10000);
    *(volatile int *)arg = 1;
    return NULL;
}

int main(void)
{
    pthread_t s, b;
    printf("main: starting\n");
    fflush(stdout);
    pthread_create(&s, NULL, spin, NULL);
    pthread_create(&b, NULL, bad, (void *)16);
    pthread_join(b, NULL);
    printf("main: not reached\n");
    return 0;
}
