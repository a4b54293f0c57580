// edge_pool.h — a persistent, pinned, spin-then-park worker pool.
//
// The thread that calls edge_pool_for takes part as thread 0; the pool owns threads 1..n-1.
// A parallel region costs about 0.1 us while the workers spin; after EDGE_POOL_SPIN_NS without
// work they park on a futex and the next region wakes them (tens of microseconds).
// Work is handed out in chunks through an atomic counter, so a slow or stalled core simply takes
// fewer chunks; which thread computes a chunk never changes the result.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edge_pool edge_pool;

// fn(ctx, begin, end, tid) processes items [begin, end).
typedef void (*edge_range_fn)(void *ctx, int64_t begin, int64_t end, int tid);

// Creates a pool of n_threads (>= 1) threads counting the caller. `cpus`, if not NULL, holds
// n_threads CPU ids: worker i is pinned to cpus[i] (cpus[0] is for the caller, who pins itself with
// edge_pin_current_thread). Returns NULL if a thread could not be created.
edge_pool *edge_pool_create(int n_threads, const int *cpus);
void edge_pool_destroy(edge_pool *pool);
int edge_pool_threads(const edge_pool *pool);

// Runs fn over [0, total) in chunks of `chunk` items, handed out dynamically. Returns when all are
// done. Must not be called concurrently on the same pool, nor from inside fn.
void edge_pool_for(edge_pool *pool, int64_t total, int64_t chunk, edge_range_fn fn, void *ctx);

// Nanoseconds each thread spent inside fn and the number of items it processed since the last
// reset (arrays of edge_pool_threads entries). For the balancer and verbose output.
void edge_pool_stats(const edge_pool *pool, uint64_t *busy_ns, uint64_t *items);
void edge_pool_reset_stats(edge_pool *pool);

// Pins the calling thread to one CPU. Returns 0 on success.
int edge_pin_current_thread(int cpu);
// Lets the calling thread run on every CPU the process may use (undoing an affinity it inherited
// from a pinned creator). Returns 0 on success.
int edge_unpin_current_thread(void);
// Number of CPUs the process may run on, and their ids (up to max). Returns the count. The
// process's mask is the main thread's, whichever thread asks.
int edge_allowed_cpus(int *cpus, int max);

#ifdef __cplusplus
}
#endif
