/* N threads each sum a slice of a range; main joins them and combines the partial sums and
 * the threads' return values. Checks clone, the child's stack and x0 = 0, CLONE_CHILD_CLEARTID
 * (pthread_join waits on it) and parallel translated code. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define NTHREADS 8
#define SPAN 400000

static uint64_t partial[NTHREADS];

static void *work(void *arg)
{
    long id = (long)arg;
    uint64_t s = 0;
    for (uint64_t i = (uint64_t)id * SPAN; i < (uint64_t)(id + 1) * SPAN; i++)
        s += (i * i) % 1000003;
    partial[id] = s;
    return (void *)(id * 10 + 1);
}

int main(void)
{
    pthread_t th[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        if (pthread_create(&th[i], NULL, work, (void *)i) != 0) {
            puts("pthread_create failed");
            return 1;
        }
    uint64_t total = 0;
    long rets = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *r;
        pthread_join(th[i], &r);
        rets += (long)r;
        total += partial[i];
        printf("thread %d: %llu\n", i, (unsigned long long)partial[i]);
    }
    printf("total %llu, return values %ld\n", (unsigned long long)total, rets);
    return 0;
}
