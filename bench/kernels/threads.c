/* Four threads of integer work: Collatz chain lengths over interleaved ranges, with a mutex-
 * protected merge every 4096 numbers. Measures translated code running on several host cores
 * at once, plus the cost of the futex-backed lock and thread start/join.
 * Usage: threads LIMIT (numbers 1..LIMIT are split between the threads). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS 4

static long limit;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long total_steps, longest, longest_at;

static void *work(void *arg)
{
    long id = (long)arg;
    unsigned long steps = 0, best = 0, best_at = 0;
    long since_merge = 0;
    for (long n = 1 + id; n <= limit; n += NTHREADS) {
        unsigned long x = (unsigned long)n, len = 0;
        while (x != 1) {
            x = (x & 1) ? 3 * x + 1 : x >> 1;
            len++;
        }
        steps += len;
        if (len > best || (len == best && (unsigned long)n < best_at)) {
            best = len;
            best_at = (unsigned long)n;
        }
        if (++since_merge == 4096 || n + NTHREADS > limit) {
            pthread_mutex_lock(&lock);
            total_steps += steps;
            if (best > longest || (best == longest && best_at < longest_at)) {
                longest = best;
                longest_at = best_at;
            }
            pthread_mutex_unlock(&lock);
            steps = 0;
            since_merge = 0;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    limit = argc > 1 ? atol(argv[1]) : 1000000;
    pthread_t th[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, work, (void *)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    printf("threads limit=%ld steps=%lu longest=%lu at %lu\n", limit, total_steps, longest,
           longest_at);
    return 0;
}
