/* 4 threads x 100000 increments of one counter under a pthread mutex: lost updates would show
 * as a short count. Contended mutexes sleep in FUTEX_WAIT and are woken by FUTEX_WAKE. */
#include <pthread.h>
#include <stdio.h>

#define NTHREADS 4
#define ITERS 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long per_thread[NTHREADS];

static void *work(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        per_thread[id]++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t th[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, work, (void *)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    long sum = 0;
    for (int i = 0; i < NTHREADS; i++)
        sum += per_thread[i];
    printf("counter %ld (expected %d), per-thread sum %ld\n", counter, NTHREADS * ITERS, sum);
    return counter == NTHREADS * ITERS ? 0 : 1;
}
