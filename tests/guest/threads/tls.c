/* __thread variables: each thread sees its own initialized copy (TPIDR_EL0 = the tls argument
 * of clone), changes it, and the main thread's copy is untouched. errno and gettid are per
 * thread too; getpid is the process's. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define NTHREADS 4

static __thread long tl_counter = 1000;
static __thread char tl_name[16] = "main";
static __thread uint64_t tl_zero;
static pthread_barrier_t barrier;
static long seen[NTHREADS], seen_zero[NTHREADS];
static char names[NTHREADS][16];
static int distinct_tid[NTHREADS], errno_kept[NTHREADS], same_pid[NTHREADS];
static pid_t main_tid, tids[NTHREADS];

static void *work(void *arg)
{
    long id = (long)arg;
    snprintf(tl_name, sizeof tl_name, "worker%ld", id);
    errno = 100 + (int)id;
    for (long i = 0; i <= id; i++)
        tl_counter += 10;
    tl_zero += (uint64_t)id;
    pthread_barrier_wait(&barrier); /* every thread has written its copy before any reads */
    seen[id] = tl_counter;
    seen_zero[id] = (long)tl_zero;
    memcpy(names[id], tl_name, sizeof tl_name);
    tids[id] = gettid();
    distinct_tid[id] = tids[id] != main_tid;
    same_pid[id] = getpid() == main_tid;
    errno_kept[id] = errno == 100 + (int)id;
    return NULL;
}

int main(void)
{
    pthread_t th[NTHREADS];
    main_tid = gettid();
    pthread_barrier_init(&barrier, NULL, NTHREADS);
    errno = 7;
    tl_counter = 5;
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, work, (void *)i);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    int unique = 1;
    for (int i = 0; i < NTHREADS; i++)
        for (int j = 0; j < i; j++)
            unique &= tids[i] != tids[j];
    for (int i = 0; i < NTHREADS; i++)
        printf("%s: counter %ld zero %ld tid-differs %d pid-same %d errno-kept %d\n", names[i],
               seen[i], seen_zero[i], distinct_tid[i], same_pid[i], errno_kept[i]);
    printf("main: %s counter %ld zero %llu errno %d getpid==gettid %d unique tids %d\n",
           tl_name, tl_counter, (unsigned long long)tl_zero, errno, getpid() == gettid(),
           unique);
    return 0;
}
