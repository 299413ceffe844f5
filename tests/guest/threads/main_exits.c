/* The main thread leaves with pthread_exit while a worker still runs: the process lives on
 * until the last thread is gone, and then exits with status 0. Also pthread_exit's value. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_t main_thread;

static void *inner(void *arg)
{
    pthread_exit((void *)((long)arg + 1));
}

static void *worker(void *arg)
{
    void *r;
    pthread_t t;
    usleep(50000);
    pthread_create(&t, NULL, inner, (void *)41L);
    pthread_join(t, &r);
    printf("worker: inner thread returned %ld\n", (long)r);
    fflush(stdout);
    return arg;
}

int main(void)
{
    pthread_t t;
    main_thread = pthread_self();
    pthread_create(&t, NULL, worker, NULL);
    printf("main: leaving early\n");
    fflush(stdout);
    pthread_exit(NULL);
}
