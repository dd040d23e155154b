// The kernel thread pool: `parity_parallel_for` hands the items of a loop to persistent workers.
//
// Items are claimed one at a time from a shared counter, so which thread runs an item depends on
// timing; callers make every item's result independent of that (each output written by exactly one
// item, each sum inside one item), which is what keeps results identical at any thread count.
#define _GNU_SOURCE
#include "CParityKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
static inline void cpu_relax(void) { _mm_pause(); }
#elif defined(__aarch64__)
static inline void cpu_relax(void) { __asm__ volatile("yield"); }
#else
static inline void cpu_relax(void) {}
#endif

enum { MAX_THREADS = 256, SPIN_ROUNDS = 4000 };

// MARK: Thread count

static atomic_int configured = 0;
static _Thread_local int forced_threads = 0;   // parity_force_threads, this thread only

static int default_threads(void) {
    const char *env = getenv("PARITY_NUM_THREADS");
    if (env && *env) {
        char *end;
        long value = strtol(env, &end, 10);
        if (*end == 0 && value >= 1) return value > MAX_THREADS ? MAX_THREADS : (int)value;
    }
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n >= 1) return n > MAX_THREADS ? MAX_THREADS : n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > MAX_THREADS ? MAX_THREADS : (int)n);
}

int parity_num_threads(void) {
    if (forced_threads > 0) return forced_threads;
    int n = atomic_load_explicit(&configured, memory_order_relaxed);
    if (n < 1) {
        n = default_threads();
        atomic_store_explicit(&configured, n, memory_order_relaxed);
    }
    return n;
}

void parity_set_num_threads(int threads) {
    atomic_store_explicit(&configured, threads < 1 ? default_threads() : (threads > MAX_THREADS ? MAX_THREADS : threads),
                          memory_order_relaxed);
}

void parity_force_threads(int threads) {
    forced_threads = threads < 1 ? 0 : (threads > MAX_THREADS ? MAX_THREADS : threads);
}

// MARK: Allocator

// Every op's output is a fresh array, and a model's forward frees and allocates the same sizes again
// and again. glibc's defaults give blocks from 128 KB on their own mapping and return the heap's free
// top above 128 KB to the kernel, raising both limits only as it sees larger blocks freed; the forward
// then faults in and zeroes fresh pages on every call (page faults were 12 % of a transformer encoder
// layer's forward). `parity_heap_keep_freed_blocks` fixes both limits at glibc's own dynamic ceilings
// (32 MB per mapped block, twice that kept at the heap's top) unless the user set them (GLIBC_TUNABLES,
// MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_). It changes the whole process's allocator, so the
// library never calls it on its own: the `parity` command does, at start.
void parity_heap_keep_freed_blocks(void) {
#if defined(__GLIBC__)
    if (getenv("GLIBC_TUNABLES") || getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_")) return;
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
}

void parity_heap_return_freed_pages(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

// MARK: Pool

// The current job. `claim` packs the job's generation (high 32 bits) with the next unclaimed item
// (low 32 bits), so a worker that wakes late for an old job can never claim an item of a new one.
static _Atomic(parity_task) job_task;
static _Atomic(void *) job_context;
static atomic_long job_count;
static atomic_int job_helpers;          // workers (ids below this) taking part
static atomic_uint_fast64_t claim;
static atomic_long finished;
static atomic_uint generation;

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;   // one job at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static atomic_int sleepers;
static int workers;                     // started so far (under job_lock)
static _Thread_local int inside_pool;

static void run_items(uint32_t gen) {
    parity_task task = atomic_load_explicit(&job_task, memory_order_acquire);
    void *context = atomic_load_explicit(&job_context, memory_order_acquire);
    long count = atomic_load_explicit(&job_count, memory_order_acquire);
    uint_fast64_t current = atomic_load_explicit(&claim, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(current >> 32) != gen || (long)(current & 0xffffffffu) >= count) return;
        if (!atomic_compare_exchange_weak_explicit(&claim, &current, current + 1, memory_order_acq_rel, memory_order_acquire)) continue;
        task(context, (long)(current & 0xffffffffu));
        atomic_fetch_add_explicit(&finished, 1, memory_order_acq_rel);
        current = atomic_load_explicit(&claim, memory_order_acquire);
    }
}

static void *worker_main(void *argument) {
    int id = (int)(intptr_t)argument;
    inside_pool = 1;
    unsigned seen = atomic_load_explicit(&generation, memory_order_acquire);
    for (;;) {
        unsigned gen = seen;
        for (int spin = 0; spin < SPIN_ROUNDS && (gen = atomic_load_explicit(&generation, memory_order_acquire)) == seen; spin++) cpu_relax();
        if (gen == seen) {
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while ((gen = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = gen;
        if (id < atomic_load_explicit(&job_helpers, memory_order_acquire)) run_items(gen);
    }
    return NULL;
}

void parity_parallel_for(long count, parity_task task, void *context) {
    int threads = parity_num_threads();
    if (count <= 0) return;
    if (count == 1 || threads <= 1 || inside_pool || count > 0x7fffffffL || pthread_mutex_trylock(&job_lock) != 0) {
        for (long i = 0; i < count; i++) task(context, i);
        return;
    }
    int helpers = threads - 1;
    if (helpers > count - 1) helpers = (int)(count - 1);
    while (workers < helpers) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, (void *)(intptr_t)workers);
        pthread_attr_destroy(&attributes);
        if (failed) break;
        workers++;
    }
    if (helpers > workers) helpers = workers;
    unsigned gen = atomic_load(&generation) + 1;
    atomic_store_explicit(&job_task, task, memory_order_release);
    atomic_store_explicit(&job_context, context, memory_order_release);
    atomic_store_explicit(&job_count, count, memory_order_release);
    atomic_store_explicit(&job_helpers, helpers, memory_order_release);
    atomic_store_explicit(&finished, 0, memory_order_release);
    atomic_store_explicit(&claim, (uint_fast64_t)gen << 32, memory_order_release);
    atomic_store(&generation, gen);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    inside_pool = 1;
    run_items(gen);
    inside_pool = 0;
    for (long spin = 0; atomic_load_explicit(&finished, memory_order_acquire) < count; spin++) {
        if (spin < SPIN_ROUNDS * 16) cpu_relax(); else sched_yield();
    }
    pthread_mutex_unlock(&job_lock);
}
