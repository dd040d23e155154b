// The kernel thread pool: `parity_parallel_for` hands the items of a loop to persistent workers.
//
// Each taking part thread starts on its own contiguous share of the items and then takes items
// left in the others' shares, so which thread runs an item depends on timing; callers make every
// item's result independent of that (each output written by exactly one item, each sum inside one
// item), which is what keeps results identical at any thread count.
#define _GNU_SOURCE
#include "CParityKernels.h"
#include "internal.h"
#include <stdint.h>
#include <time.h>
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

enum { MAX_THREADS = 256 };

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

// One job at a time (`job_lock`). The caller publishes the job's fields between two steps of
// `generation` (odd while they change, the job's even number once set: a seqlock); workers spin on
// `generation` for up to SPIN_NS, then sleep on `wake`, so an idle pool burns no core for longer than
// that. The caller and helpers 0..helpers-1 take part: participant p (the caller is 0, worker w is
// w + 1) owns units [p·units/P, (p+1)·units/P) of the job, a unit being `per` consecutive items (1
// unless the count is huge), so a loop's items go to the same threads call after call while none
// is late (each core keeps its part of the data in its own cache).
//
// Each participant's share lives in its own cache line as one 64-bit word: the generation it belongs
// to (high 32 bits), the next unit and the end (16 bits each, relative to the share's start). Its
// owner takes a quarter of what is left (at least one unit) from the front; a participant done with
// its own share takes one unit at a time from the back of another's; each by a compare-and-swap of
// the whole word. A word whose generation is older than the job's is a share nobody touched yet (its
// range follows from the job), so publishing a job never writes the workers' lines. A word of a newer
// generation tells a late worker that its job is over. A job ends only once every unit ran, so a
// share of an unfinished job is tagged with that job (or older) until then: a worker that read the
// fields of job g and checked that `generation` was still g can never take an item of another job.
// Each participant adds the items it ran to `finished` once, at the end; the caller waits for
// `finished` to reach the count (spinning up to SPIN_NS, then yielding the core between checks).
//
// Tags compare modulo 2^32, so a tag 2^31 generations (2^30 jobs) behind would read as newer and its
// share's units would never run: a slot unused that long (a server whose loops mostly have fewer
// items than threads, or a thread count lowered and raised again) would hang the caller. So every
// RETAG generations the caller tags every share as the previous job's and empty before publishing:
// every earlier job has ended (job_lock), its shares are spent, so a late worker of the previous
// job finds nothing to take and one of an older job sees a newer tag; no tag is then ever more than
// RETAG + 2 behind.
enum { LINE = 64, UNIT_LIMIT = 0xffff };
static const unsigned RETAG = 1u << 28;
static const long SPIN_NS = 100000;      // a worker's spin before it sleeps, and the caller's before it yields

struct job {
    _Atomic(parity_task) task;
    _Atomic(void *) context;
    atomic_long count;
    atomic_long per;                      // items per unit
    atomic_int participants;              // the caller and helpers
    atomic_int isa;                       // the caller's forced instruction-set level, or -1
};
static _Alignas(LINE) struct job job;
static _Alignas(LINE) atomic_uint generation;
static _Alignas(LINE) atomic_long finished;
static _Alignas(LINE) atomic_int sleepers;
static struct { _Alignas(LINE) _Atomic(uint64_t) word; } shares[MAX_THREADS];

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;   // one job at a time
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int workers;                     // started so far (under job_lock)
static _Thread_local int inside_pool;

static long elapsed_ns(const struct timespec *since) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)(t.tv_sec - since->tv_sec) * 1000000000L + (t.tv_nsec - since->tv_nsec);
}

static inline uint64_t share_word(uint32_t gen, long next, long end) {
    return (uint64_t)gen << 32 | (uint64_t)next << 16 | (uint64_t)end;
}

// Takes units of participant `owner`'s share for job `gen`: its owner a quarter of what is left
// (at least one) from the front, others one from the back. Returns the first unit and sets `taken`,
// or returns -1 when the share is empty, -2 when it belongs to a newer job.
static long take_units(int owner, uint32_t gen, long units, int participants, int own, long *taken) {
    _Atomic(uint64_t) *word = &shares[owner].word;
    long start = (long)owner * units / participants;
    uint64_t current = atomic_load_explicit(word, memory_order_acquire);
    for (;;) {
        long next, end;
        int32_t age = (int32_t)(gen - (uint32_t)(current >> 32));
        if (age < 0) return -2;
        if (age > 0) {
            next = 0;
            end = (long)(owner + 1) * units / participants - start;
        } else {
            next = (long)(current >> 16 & 0xffff);
            end = (long)(current & 0xffff);
        }
        if (next >= end) return -1;
        long n = own ? (end - next + 3) / 4 : 1;
        uint64_t after = own ? share_word(gen, next + n, end) : share_word(gen, next, end - 1);
        if (atomic_compare_exchange_weak_explicit(word, &current, after, memory_order_acq_rel, memory_order_acquire)) {
            *taken = n;
            return start + (own ? next : end - 1);
        }
    }
}

// Runs the units participant `self` can take in job `gen`: its own share, then the others'.
static void run_job(int self, uint32_t gen, parity_task task, void *context, long count, long per, int participants) {
    long units = (count + per - 1) / per, done = 0;
    for (int k = 0; k < participants; k++) {
        int owner = (self + k) % participants;
        for (;;) {
            long taken;
            long unit = take_units(owner, gen, units, participants, owner == self, &taken);
            if (unit == -2) goto out;
            if (unit < 0) break;
            long first = unit * per, last = (unit + taken) * per < count ? (unit + taken) * per : count;
            for (long i = first; i < last; i++) task(context, i);
            done += last - first;
        }
    }
out:
    if (done) atomic_fetch_add_explicit(&finished, done, memory_order_release);
}

static void *worker_main(void *argument) {
    int id = (int)(intptr_t)argument;
    inside_pool = 1;
    unsigned seen = atomic_load_explicit(&generation, memory_order_acquire) & ~1u;
    for (int publishing = 0;;) {
        unsigned gen = atomic_load_explicit(&generation, memory_order_acquire);
        if (gen == seen) {
            struct timespec start;
            clock_gettime(CLOCK_MONOTONIC, &start);
            for (int spin = 1; (gen = atomic_load_explicit(&generation, memory_order_acquire)) == seen; spin++) {
                cpu_relax();
                if (spin % 64 == 0 && elapsed_ns(&start) > SPIN_NS) break;
            }
        }
        if (gen == seen) {
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while ((gen = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
        }
        if (gen & 1) {   // the caller is writing the job's fields
            if (++publishing % 64 == 0) sched_yield(); else cpu_relax();
            continue;
        }
        publishing = 0;
        parity_task task = atomic_load_explicit(&job.task, memory_order_relaxed);
        void *context = atomic_load_explicit(&job.context, memory_order_relaxed);
        long count = atomic_load_explicit(&job.count, memory_order_relaxed);
        long per = atomic_load_explicit(&job.per, memory_order_relaxed);
        int participants = atomic_load_explicit(&job.participants, memory_order_relaxed);
        int isa = atomic_load_explicit(&job.isa, memory_order_relaxed);
        // The fields are job `gen`'s only if no newer job began to be published while they were read.
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&generation, memory_order_relaxed) != gen) continue;
        seen = gen;
        if (id + 1 >= participants) continue;
        parity_isa_force(isa);
        run_job(id + 1, gen, task, context, count, per, participants);
        parity_isa_force(-1);
    }
    return NULL;
}

void parity_parallel_for(long count, parity_task task, void *context) {
    int threads = parity_num_threads();
    if (count <= 0) return;
    if (count == 1 || threads <= 1 || inside_pool || pthread_mutex_trylock(&job_lock) != 0) {
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
    if (helpers < 1) {
        pthread_mutex_unlock(&job_lock);
        for (long i = 0; i < count; i++) task(context, i);
        return;
    }
    int participants = helpers + 1;
    long per = 1 + (count - 1) / ((long)UNIT_LIMIT * participants);   // at most UNIT_LIMIT units a share
    // A seqlock: generation odd while the fields change, even (the job's number) once they are set.
    unsigned gen = atomic_load_explicit(&generation, memory_order_relaxed) + 2;
    if (gen % RETAG == 0) {
        for (int p = 0; p < MAX_THREADS; p++) atomic_store_explicit(&shares[p].word, share_word(gen - 2, 0, 0), memory_order_relaxed);
    }
    atomic_store_explicit(&generation, gen - 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&job.task, task, memory_order_relaxed);
    atomic_store_explicit(&job.context, context, memory_order_relaxed);
    atomic_store_explicit(&job.count, count, memory_order_relaxed);
    atomic_store_explicit(&job.per, per, memory_order_relaxed);
    atomic_store_explicit(&job.participants, participants, memory_order_relaxed);
    atomic_store_explicit(&job.isa, parity_isa_forced(), memory_order_relaxed);
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    atomic_store(&generation, gen);
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    inside_pool = 1;
    run_job(0, gen, task, context, count, per, participants);
    inside_pool = 0;
    if (atomic_load_explicit(&finished, memory_order_acquire) < count) {
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        int patient = 1;
        for (int spin = 1; atomic_load_explicit(&finished, memory_order_acquire) < count; spin++) {
            if (patient) {
                cpu_relax();
                if (spin % 64 == 0 && elapsed_ns(&start) > SPIN_NS) patient = 0;
            } else {
                sched_yield();
            }
        }
    }
    pthread_mutex_unlock(&job_lock);
}

unsigned parity_pool_skip_jobs(unsigned jobs, int participants) {
    pthread_mutex_lock(&job_lock);
    // An empty job (no participants) that workers who see it take nothing from, numbered so that the
    // next job is the first retagging one at least `jobs` jobs on: whichever thread runs that job, it
    // retags every share before publishing, so no job, this test's or a concurrent one's, ever meets a
    // share whose tag the skip left 2^31 generations behind. The first `participants` shares are
    // tagged with the empty job, spent, as the skipped jobs would have left them.
    uint64_t now = atomic_load_explicit(&generation, memory_order_relaxed);
    uint64_t next = (now + 2 * (uint64_t)jobs + 2 + RETAG - 1) / RETAG * RETAG;   // RETAG divides 2^32
    unsigned gen = (unsigned)(next - 2);
    atomic_store_explicit(&generation, gen - 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&job.participants, 0, memory_order_relaxed);
    for (int p = 0; p < participants && p < MAX_THREADS; p++) atomic_store_explicit(&shares[p].word, share_word(gen, 0, 0), memory_order_relaxed);
    atomic_store(&generation, gen);
    pthread_mutex_unlock(&job_lock);
    return gen + 2;
}
