// edge_pool.c — see edge_pool.h.
#define _GNU_SOURCE
#include "edge_pool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <limits.h>

// How long an idle worker spins before parking. 200 us covers the gap between the ops of one
// token (a few us) and between tokens when sampling is quick, without burning a core when idle.
#define EDGE_POOL_SPIN_NS 200000ull

typedef struct {
    _Alignas(64) _Atomic uint64_t busy_ns;
    _Atomic uint64_t items;
    char pad[48];
} edge_thread_stats;

typedef struct {
    edge_pool *pool;
    int tid;
    int cpu;
    pthread_t thread;
} edge_worker;

struct edge_pool {
    int n;
    edge_worker *workers;          // n-1 entries (threads 1..n-1)
    edge_thread_stats *stats;      // n entries

    // The current region, published by bumping `generation`.
    _Alignas(64) _Atomic uint32_t generation;   // futex word
    _Atomic int sleepers;
    _Atomic int stop;
    edge_range_fn fn;
    void *ctx;
    int64_t total, chunk;
    _Alignas(64) _Atomic int64_t next;          // next item to hand out
    _Alignas(64) _Atomic int pending;           // workers still inside the region
};

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t expected) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr) {
    syscall(SYS_futex, (uint32_t *)addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void run_chunks(edge_pool *p, int tid) {
    const int64_t total = p->total, chunk = p->chunk;
    uint64_t t0 = now_ns();
    int64_t done = 0;
    for (;;) {
        int64_t b = atomic_fetch_add_explicit(&p->next, chunk, memory_order_relaxed);
        if (b >= total) break;
        int64_t e = b + chunk < total ? b + chunk : total;
        p->fn(p->ctx, b, e, tid);
        done += e - b;
    }
    edge_thread_stats *s = &p->stats[tid];
    atomic_fetch_add_explicit(&s->busy_ns, now_ns() - t0, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->items, (uint64_t)done, memory_order_relaxed);
}

static void *worker_main(void *arg) {
    edge_worker *w = arg;
    edge_pool *p = w->pool;
    // Pinned, or free to run on every CPU of the process (not only on its creator's).
    if (w->cpu >= 0) edge_pin_current_thread(w->cpu); else edge_unpin_current_thread();
    // The pool is created with generation 0. Reading the current value here instead would miss a
    // region published before this thread first ran, and the caller would wait for it forever.
    uint32_t seen = 0;
    for (;;) {
        uint64_t spin_start = now_ns();
        uint32_t g;
        unsigned spins = 0;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
            cpu_relax();
            if ((++spins & 1023) == 0 && now_ns() - spin_start > EDGE_POOL_SPIN_NS) {
                atomic_fetch_add(&p->sleepers, 1);
                // Re-check after announcing ourselves so a wake between check and wait is not lost.
                if (atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
                    !atomic_load_explicit(&p->stop, memory_order_relaxed))
                    futex_wait(&p->generation, seen);
                atomic_fetch_sub(&p->sleepers, 1);
                spin_start = now_ns();
            }
        }
        seen = g;
        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) return NULL;
        run_chunks(p, w->tid);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_release);
    }
}

edge_pool *edge_pool_create(int n_threads, const int *cpus) {
    if (n_threads < 1) n_threads = 1;
    edge_pool *p = aligned_alloc(64, (sizeof(edge_pool) + 63) / 64 * 64);
    if (!p) return NULL;
    memset(p, 0, sizeof(*p));
    p->n = n_threads;
    p->stats = aligned_alloc(64, sizeof(edge_thread_stats) * (size_t)n_threads);
    p->workers = calloc((size_t)(n_threads > 1 ? n_threads - 1 : 1), sizeof(edge_worker));
    if (!p->stats || !p->workers) { free(p->stats); free(p->workers); free(p); return NULL; }
    memset(p->stats, 0, sizeof(edge_thread_stats) * (size_t)n_threads);
    for (int i = 1; i < n_threads; i++) {
        edge_worker *w = &p->workers[i - 1];
        w->pool = p;
        w->tid = i;
        w->cpu = cpus ? cpus[i] : -1;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            p->n = i;  // destroy the ones started
            edge_pool_destroy(p);
            return NULL;
        }
    }
    return p;
}

void edge_pool_destroy(edge_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, 1);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    futex_wake_all(&p->generation);
    for (int i = 1; i < p->n; i++) pthread_join(p->workers[i - 1].thread, NULL);
    free(p->workers);
    free(p->stats);
    free(p);
}

int edge_pool_threads(const edge_pool *p) { return p->n; }

void edge_pool_for(edge_pool *p, int64_t total, int64_t chunk, edge_range_fn fn, void *ctx) {
    if (total <= 0) return;
    if (chunk < 1) chunk = 1;
    if (p->n == 1 || total <= chunk) {
        // Not worth waking anyone.
        uint64_t t0 = now_ns();
        fn(ctx, 0, total, 0);
        atomic_fetch_add_explicit(&p->stats[0].busy_ns, now_ns() - t0, memory_order_relaxed);
        atomic_fetch_add_explicit(&p->stats[0].items, (uint64_t)total, memory_order_relaxed);
        return;
    }
    p->fn = fn;
    p->ctx = ctx;
    p->total = total;
    p->chunk = chunk;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    atomic_store_explicit(&p->pending, p->n - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&p->generation, 1, memory_order_release);
    if (atomic_load(&p->sleepers) > 0) futex_wake_all(&p->generation);
    run_chunks(p, 0);
    while (atomic_load_explicit(&p->pending, memory_order_acquire) > 0) cpu_relax();
}

void edge_pool_stats(const edge_pool *p, uint64_t *busy_ns, uint64_t *items) {
    for (int i = 0; i < p->n; i++) {
        busy_ns[i] = atomic_load(&((edge_thread_stats *)p->stats)[i].busy_ns);
        items[i] = atomic_load(&((edge_thread_stats *)p->stats)[i].items);
    }
}

void edge_pool_reset_stats(edge_pool *p) {
    for (int i = 0; i < p->n; i++) {
        atomic_store(&p->stats[i].busy_ns, 0);
        atomic_store(&p->stats[i].items, 0);
    }
}

int edge_pin_current_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// The CPUs the process may use: the main thread's mask (pid = the main thread's id), which is what
// taskset and cpusets set. Not the calling thread's: a thread inherits the affinity of the thread
// that created it, so one created by a pinned thread (a pool's driver resuming a Swift
// continuation can make the runtime start a worker thread) would report that one CPU.
static int process_cpu_set(cpu_set_t *set) {
    CPU_ZERO(set);
    if (sched_getaffinity(getpid(), sizeof(*set), set) == 0) return 0;
    return sched_getaffinity(0, sizeof(*set), set);
}

int edge_unpin_current_thread(void) {
    cpu_set_t set;
    if (process_cpu_set(&set) != 0) return -1;
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

int edge_allowed_cpus(int *cpus, int max) {
    cpu_set_t set;
    if (process_cpu_set(&set) != 0) return 0;
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < max; c++)
        if (CPU_ISSET(c, &set)) cpus[n++] = c;
    return n;
}
