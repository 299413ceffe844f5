/* C11 atomics from 4 threads: fetch_add, a compare-exchange loop and an atomic_flag spinlock
 * around a plain counter. Built without LSE these are LDXR/STXR loops (the exclusive monitor);
 * with -march=armv8.1-a they are LDADD/CAS/SWP. Either way no update may be lost. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#define NTHREADS 4
#define ITERS 200000

static atomic_long added;
static atomic_ullong maxed;
static _Atomic uint32_t cas_count;
static atomic_flag spin = ATOMIC_FLAG_INIT;
static long guarded;

static void *work(void *arg)
{
    long id = (long)arg;
    for (long i = 0; i < ITERS; i++) {
        atomic_fetch_add(&added, 1);
        uint32_t old = atomic_load_explicit(&cas_count, memory_order_relaxed);
        while (!atomic_compare_exchange_weak(&cas_count, &old, old + 2))
            ;
        unsigned long long v = (unsigned long long)(id * ITERS + i), cur = atomic_load(&maxed);
        while (v > cur && !atomic_compare_exchange_weak(&maxed, &cur, v))
            ;
        if ((i & 15) == 0) {
            while (atomic_flag_test_and_set_explicit(&spin, memory_order_acquire))
                ;
            guarded++;
            atomic_flag_clear_explicit(&spin, memory_order_release);
        }
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
    printf("fetch_add %ld\n", atomic_load(&added));
    printf("cas %u\n", (unsigned)atomic_load(&cas_count));
    printf("max %llu\n", atomic_load(&maxed));
    printf("spinlocked %ld\n", guarded);
    return 0;
}
