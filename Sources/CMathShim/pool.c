// The engine's compute threads: a pool that runs `chunks` calls of one function, the caller taking
// part. Between jobs a worker spins for a while before it sleeps on a futex: in a VM, waking a
// sleeping thread (futex wake, an IPI to the other vCPU) took 20-40 us, as long as half of one of
// mlp_gan's matrix products, and a training step hands out dozens of jobs back to back.
#define _GNU_SOURCE
#include "CMathShim.h"

#include <immintrin.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { MAX_WORKERS = 255 };
/// Spin iterations (each a `pause`, ~10-140 cycles by CPU) before a worker sleeps: ~0.1-1 ms.
enum { SPIN = 20000 };

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;   // one job at a time
static pthread_mutex_t grow_lock = PTHREAD_MUTEX_INITIALIZER;
static int started;                                             // workers created so far
static _Atomic int active;                                      // workers that take part in jobs
static _Atomic unsigned generation;                             // bumped per job (the futex word)
static _Atomic int sleepers;

// The job: its function and context, and a ticket (generation << 32 | chunks << 16 | next chunk)
// that participants advance by compare-and-swap. A participant that took chunk c of generation g
// reads job_fn and job_ctx after its CAS, and they stay g's until every chunk of g is done, so a
// worker that arrives late never runs a chunk of the wrong job.
static gan_pool_fn job_fn;
static void *job_ctx;
static _Atomic unsigned long ticket;
static _Atomic long done_chunks;

static _Thread_local int inside_job;                            // nested calls run inline

static void futex_wait(_Atomic unsigned *word, unsigned value) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic unsigned *word) {
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void take_chunks(unsigned gen) {
    unsigned long t = atomic_load_explicit(&ticket, memory_order_acquire);
    for (;;) {
        if ((unsigned)(t >> 32) != gen) return;
        unsigned long c = t & 0xffff, chunks = (t >> 16) & 0xffff;
        if (c >= chunks) return;
        if (atomic_compare_exchange_weak_explicit(&ticket, &t, t + 1, memory_order_acq_rel, memory_order_acquire)) {
            job_fn(job_ctx, (long)c);
            atomic_fetch_add_explicit(&done_chunks, 1, memory_order_release);
            t = atomic_load_explicit(&ticket, memory_order_acquire);
        }
    }
}

static void *worker(void *arg) {
    long index = (long)arg;
    inside_job = 1;
    unsigned seen = atomic_load_explicit(&generation, memory_order_acquire);
    for (;;) {
        unsigned now;
        int spins = 0;
        while ((now = atomic_load_explicit(&generation, memory_order_acquire)) == seen) {
            if (index < atomic_load_explicit(&active, memory_order_relaxed) && spins < SPIN) {
                _mm_pause();
                spins++;
                continue;
            }
            atomic_fetch_add(&sleepers, 1);
            futex_wait(&generation, seen);
            atomic_fetch_sub(&sleepers, 1);
        }
        seen = now;
        if (index < atomic_load_explicit(&active, memory_order_relaxed)) take_chunks(now);
    }
    return NULL;
}

void gan_pool_set_threads(int threads) {
    int workers = threads - 1;
    if (workers < 0) workers = 0;
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    pthread_mutex_lock(&grow_lock);
    while (started < workers) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&t, &attr, worker, (void *)(long)started);
        pthread_attr_destroy(&attr);
        if (failed) break;   // fewer workers: the caller runs more of each job itself
        started++;
    }
    atomic_store(&active, workers < started ? workers : started);
    pthread_mutex_unlock(&grow_lock);
}

void gan_pool_run(long chunks, gan_pool_fn fn, void *ctx) {
    // Nested in a job, a second caller while a job runs, or no workers: every chunk here, in order.
    if (chunks <= 1 || chunks > 0xffff || inside_job || atomic_load(&active) == 0
        || pthread_mutex_trylock(&pool_lock) != 0) {
        for (long c = 0; c < chunks; c++) fn(ctx, c);
        return;
    }
    unsigned gen = atomic_load_explicit(&generation, memory_order_relaxed) + 1;
    job_fn = fn;
    job_ctx = ctx;
    atomic_store_explicit(&done_chunks, 0, memory_order_relaxed);
    atomic_store_explicit(&ticket, (unsigned long)gen << 32 | (unsigned long)chunks << 16, memory_order_release);
    atomic_store(&generation, gen);   // seq_cst: ordered before the load of sleepers
    if (atomic_load(&sleepers) > 0) futex_wake_all(&generation);
    inside_job = 1;
    take_chunks(gen);
    inside_job = 0;
    while (atomic_load_explicit(&done_chunks, memory_order_acquire) < chunks) _mm_pause();
    pthread_mutex_unlock(&pool_lock);
}
