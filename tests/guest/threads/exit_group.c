/* exit() from a worker while other threads run: one spins in pure computation (translated code
 * that never makes a syscall), one sleeps in pthread_cond_wait, and main waits in pthread_join.
 * The whole process must end at once with the worker's status, output flushed by exit(). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;
static volatile int spinner_started, sleeper_started;

static void *spinner(void *arg)
{
    volatile unsigned long x = 1;
    spinner_started = 1;
    for (;;)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return arg;
}

static void *sleeper(void *arg)
{
    pthread_mutex_lock(&lock);
    sleeper_started = 1;
    for (;;)
        pthread_cond_wait(&never, &lock);
    return arg;
}

static void *quitter(void *arg)
{
    while (!spinner_started || !sleeper_started)
        sched_yield();
    usleep(20000);
    printf("quitter: exiting the process with status 3\n");
    exit(3); /* flushes stdio, then exit_group */
    return arg;
}

int main(void)
{
    pthread_t a, b, c;
    printf("main: starting\n");
    pthread_create(&a, NULL, spinner, NULL);
    pthread_create(&b, NULL, sleeper, NULL);
    pthread_create(&c, NULL, quitter, NULL);
    pthread_join(a, NULL);
    printf("main: not reached\n");
    return 0;
}
