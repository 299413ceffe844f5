/* Producer/consumer over a bounded ring with a mutex and two condition variables: 2 producers,
 * 3 consumers. Consumers block in pthread_cond_wait (futex waits on the condvar's sequence
 * words); the order items are taken in varies, so only order-free results are printed. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#define CAP 16
#define PRODUCERS 2
#define CONSUMERS 3
#define PER_PRODUCER 20000
#define DONE UINT64_MAX

static uint64_t ring[CAP];
static int head, count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;

static void put(uint64_t v)
{
    pthread_mutex_lock(&lock);
    while (count == CAP)
        pthread_cond_wait(&not_full, &lock);
    ring[(head + count) % CAP] = v;
    count++;
    pthread_cond_signal(&not_empty);
    pthread_mutex_unlock(&lock);
}

static uint64_t get(void)
{
    pthread_mutex_lock(&lock);
    while (count == 0)
        pthread_cond_wait(&not_empty, &lock);
    uint64_t v = ring[head];
    head = (head + 1) % CAP;
    count--;
    pthread_cond_signal(&not_full);
    pthread_mutex_unlock(&lock);
    return v;
}

struct tally { uint64_t n, sum, xsq; };

static void *producer(void *arg)
{
    uint64_t base = (uint64_t)(long)arg * 1000000;
    for (uint64_t i = 1; i <= PER_PRODUCER; i++)
        put(base + i);
    return NULL;
}

static void *consumer(void *arg)
{
    struct tally *t = arg;
    for (;;) {
        uint64_t v = get();
        if (v == DONE)
            return NULL;
        t->n++;
        t->sum += v;
        t->xsq ^= v * v;
    }
}

int main(void)
{
    pthread_t p[PRODUCERS], c[CONSUMERS];
    struct tally t[CONSUMERS] = {{0}};
    for (long i = 0; i < CONSUMERS; i++)
        pthread_create(&c[i], NULL, consumer, &t[i]);
    for (long i = 0; i < PRODUCERS; i++)
        pthread_create(&p[i], NULL, producer, (void *)(i + 1));
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(p[i], NULL);
    for (int i = 0; i < CONSUMERS; i++)
        put(DONE);
    struct tally all = {0, 0, 0};
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_join(c[i], NULL);
        all.n += t[i].n;
        all.sum += t[i].sum;
        all.xsq ^= t[i].xsq;
    }
    printf("items %llu sum %llu xor-of-squares %llx\n", (unsigned long long)all.n,
           (unsigned long long)all.sum, (unsigned long long)all.xsq);
    return 0;
}
