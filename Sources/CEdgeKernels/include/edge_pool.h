// edge_pool.h — a persistent, pinned, spin-then-park worker pool with a hybrid-core balancer.
//
// The thread that calls edge_pool_for takes part as thread 0; the pool owns threads 1..n-1.
// A parallel region costs about 0.1 us while the workers spin; after EDGE_POOL_SPIN_NS without
// work they park on a futex and the next region wakes them (tens of microseconds).
//
// Balancing. Each region's range is cut into chunks, and the chunks into one contiguous share
// per thread. In the dynamic mode (the default) the shares follow each thread's measured speed:
// after every region the caller turns each thread's items per busy nanosecond into a speed
// relative to the others and smooths it (an exponential moving average), so a slower core (an
// efficiency core, one shared with another process) gets a smaller share of the next region.
// A thread that has finished its share takes unstarted chunks from the others' shares, and a
// region is over when all its items are done, not when every thread has checked in: a thread that
// is descheduled between chunks (by another process, or a stalled vCPU) holds nothing up; only a
// chunk it has already started waits for it. In the static mode every thread gets an equal share
// and computes exactly that share (no taking), for comparison. The dynamic mode also leaves out, for
// a back-off period, a worker whose late chunks cost the caller more waiting than its work saves
// (a worker on a core shared with another busy process is preempted inside its chunks), unless
// the worker has learnt the scheduler ticks it is preempted at: then it claims no chunk a tick
// could catch and stays in (see edge_pool.c, EDGE_POOL_GAP_NS).
//
// Which thread computes a chunk never changes the result: the chunk grid ([k*chunk, (k+1)*chunk))
// is the same in both modes and for any shares, and fn must make each item's result independent
// of the thread (the `tid` argument is for per-thread scratch only).
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edge_pool edge_pool;

// fn(ctx, begin, end, tid) processes items [begin, end).
typedef void (*edge_range_fn)(void *ctx, int64_t begin, int64_t end, int tid);

// How a region's chunks are split between the threads.
typedef enum {
    // Shares follow the measured (smoothed) speed of each thread; finished threads take unstarted
    // chunks of the others' shares.
    EDGE_BALANCE_DYNAMIC = 0,
    // Equal shares, each computed by its own thread only.
    EDGE_BALANCE_STATIC = 1,
} edge_balance_mode;

// Creates a pool of n_threads (>= 1) threads counting the caller. `cpus`, if not NULL, holds
// n_threads CPU ids: worker i is pinned to cpus[i] (cpus[0] is for the caller, who pins itself with
// edge_pin_current_thread). Returns NULL if a thread could not be created.
edge_pool *edge_pool_create(int n_threads, const int *cpus);
void edge_pool_destroy(edge_pool *pool);
int edge_pool_threads(const edge_pool *pool);

// Runs fn over [0, total) in chunks of `chunk` items, split between the threads as the balance
// mode says. Returns when all are done. Must not be called concurrently on the same pool, nor from
// inside fn.
void edge_pool_for(edge_pool *pool, int64_t total, int64_t chunk, edge_range_fn fn, void *ctx);

// The balance mode (EDGE_BALANCE_DYNAMIC or EDGE_BALANCE_STATIC; other values are ignored).
// Call between regions, from the thread that calls edge_pool_for (or before the first region).
void edge_pool_set_balance(edge_pool *pool, int mode);
int edge_pool_balance(const edge_pool *pool);

// Sets every thread's relative speed (edge_pool_threads entries, each > 0; NULL: all equal), e.g.
// from a host profile or the cores' types; the measurements then move them. Values are normalised
// to a mean of 1; non-positive or non-finite entries count as 1. Call between regions.
void edge_pool_set_speeds(edge_pool *pool, const double *speeds);

// The balancer's state: each thread's smoothed relative speed (mean 1) and the fraction of the
// next region's chunks its share will hold (sums to 1; equal in the static mode). Arrays of
// edge_pool_threads entries. May be called from any thread (values are read without tearing, but
// a region that ends meanwhile may show some threads' old and some threads' new values).
void edge_pool_balance_state(const edge_pool *pool, double *speeds, double *shares);

// Per thread since the last reset: nanoseconds spent inside fn, items processed, and how many of
// those items came from another thread's share. Arrays of edge_pool_threads entries. Exact once
// the region that did the work has returned.
void edge_pool_stats(const edge_pool *pool, uint64_t *busy_ns, uint64_t *items);
void edge_pool_steal_stats(const edge_pool *pool, uint64_t *taken_items);
// Per thread: whether the dynamic balancer leaves it out now (1) because waiting for its chunks
// cost more than its work saved (its core is shared with another busy thread; see edge_pool.c), and
// how many times it was left out since the last reset. Thread 0, the caller, is never left out.
void edge_pool_exclusion_stats(const edge_pool *pool, int *excluded, uint64_t *exclusions);
// Per thread: how many times a back-off ended with the worker's core still shared (the worker, left
// out, measured that it got under 80% of its core), so that it stayed out for another back-off
// instead of coming back (see edge_pool.c).
void edge_pool_kept_out_stats(const edge_pool *pool, uint64_t *kept_out);
// Per thread: the period (ns) of the scheduler ticks that the worker has found preempt it, on a core
// shared with another busy thread (0 when it knows of none); how many times it paused before a
// tick instead of claiming a chunk that could be caught by it (see edge_pool.c, EDGE_POOL_GAP_NS);
// and how many regions' ends waited 1 ms or more for one of its chunks (it was preempted inside
// it). Thread 0, the caller, keeps no such figures.
void edge_pool_tick_stats(const edge_pool *pool, uint64_t *tick_ns, uint64_t *pauses, uint64_t *stalls);
void edge_pool_reset_stats(edge_pool *pool);

// The scheduler tick period that a thread's resumption times (ns, any order) fit: the longest of
// the usual periods (CONFIG_HZ 100, 250, 300, 1000: 10, 4, 3.33, 1 ms) for which at least `need` of
// the n times (n <= 64) fall within tolerance_ns of one phase, or 0. *tick_ref (if not NULL) gets
// a tick: the earliest phase of that group, placed at or before the newest time. (A thread that
// shares its core with a CPU-bound one is preempted and resumed at ticks; the pool's workers use
// this to stop claiming work just before one. Exposed for tests.)
uint64_t edge_fit_tick(const uint64_t *times, int n, int need, uint64_t tolerance_ns, uint64_t *tick_ref);

// Runs `regions` parallel regions whose work is empty (one one-item chunk per thread) and
// returns the mean nanoseconds of one: the pool's own cost per region (a benchmark helper; the
// regions are too short to change the balancer's speeds).
double edge_pool_region_ns(edge_pool *pool, int regions);

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
