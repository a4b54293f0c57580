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
#include <fcntl.h>
#include <stdio.h>

// How long an idle worker spins before parking. 200 us covers the gap between the ops of one
// token (a few us) and between tokens when sampling is quick, without burning a core when idle.
#define EDGE_POOL_SPIN_NS 200000ull
// Tried and dropped: a worker that finds it shares its core (its involuntary context switches
// rise) parking at once after each region instead of spinning, hoping that a thread using less
// than its fair share is run promptly on wake-up. On this project's KVM host (Linux 6.18, EEVDF,
// HZ 250) a woken worker did not preempt a CPU hog on its core: with the hog, the static split's
// regions took 220-240 us instead of 180-190 us spinning (a synthetic 44 us region), and the
// dynamic balancer's were no faster (65-90 us vs 78-81 us).

// Weight of the newest region's measurement in each thread's smoothed speed. A token of a small
// model runs ~200 regions (7 matmuls and ~5 small ops per layer), so 1/8 follows a change (another
// process taking a core) within a layer or two, while one region's timer noise or one preemption
// inside a chunk moves a share by at most an eighth.
#define EDGE_POOL_EMA 0.125
// No thread's relative speed goes below this: it keeps a share, so it is still measured.
#define EDGE_POOL_MIN_SPEED 0.02
// Regions in which the threads together were busy less than this do not update the speeds: a
// few hundred nanoseconds are mostly clock reads and cache misses, not the cores' speeds.
#define EDGE_POOL_MIN_SAMPLE_NS 4000ull

// Giving up a shared core. A worker whose core is shared with another busy thread is preempted at
// the end of its time slice, most often inside a chunk, and the region then waits for it until
// the other thread's slice ends (milliseconds; regions of a small model take tens of us). Per
// worker the caller weighs what the worker saves (its items at the caller's rate: the time the
// caller would have needed) against what waiting for its late chunks costs (the caller's idle
// time at a region's end until that worker's last chunk is done), both summed with a decay of
// EDGE_POOL_WEIGH_DECAY per region (a horizon of ~128 regions, half a token of a 135M model).
// When the cost exceeds the saving and EDGE_POOL_MIN_LOSS_NS, the worker is left out (no share,
// takes nothing) for a back-off that starts at EDGE_POOL_BACKOFF_NS and doubles, up to
// EDGE_POOL_MAX_BACKOFF_NS, each time it is left out again within a second of coming back.
//
// While left out, a worker still follows the regions (and parks between them as usual). In the
// last EDGE_POOL_PROBE_NS of its back-off it stops parking, so that it competes for its core as a
// working thread would, and measures how much of the core it gets: the scheduler's account of the
// thread (/proc/thread-self/schedstat: nanoseconds on the CPU, and runnable but waiting for it),
// sampled every EDGE_POOL_OUT_SAMPLE_NS. (A thread that mostly sleeps is served promptly beside a
// CPU hog; one that wants the core all the time gets its fair half. Only the second says what the
// worker would get back in.) When the back-off ends the caller looks at on-CPU / (on-CPU +
// waiting): below EDGE_POOL_SHARED_FRACTION (the core still runs another busy thread) the worker
// stays out for another back-off, doubled, at no cost to the regions; otherwise (or with less than
// EDGE_POOL_OUT_MIN_NS accounted, or no schedstat) it comes back and is weighed again. Without
// this, a worker on a core shared for good comes back after every back-off and costs the regions
// a time slice each time (on this project's KVM host, SmolLM2 Q8_0 with a CPU hog on one core:
// 73% of the idle speed before, 76-80% after). A worker that has learnt its core's ticks (below)
// comes back instead, and works between them.
#define EDGE_POOL_WEIGH_DECAY (1.0 / 128)
#define EDGE_POOL_PROBE_NS 12000000ull
#define EDGE_POOL_OUT_SAMPLE_NS 2000000ull
#define EDGE_POOL_OUT_MIN_NS 6000000ull
#define EDGE_POOL_SHARED_FRACTION 0.8
#define EDGE_POOL_MIN_LOSS_NS 500000.0
#define EDGE_POOL_BACKOFF_NS 20000000ull
#define EDGE_POOL_MAX_BACKOFF_NS 640000000ull

// Working around another busy thread's time slices. On a core shared with a CPU-bound thread the
// scheduler switches between the two at its periodic tick (on this project's KVM host, Linux 6.18
// EEVDF at CONFIG_HZ 250: runs of 3.95-3.98 ms, then ~4.04 ms off, always ending and starting on the
// same 4 ms grid; measured with a hog and a spinning thread pinned to one CPU). Only a thread waking
// on the core preempts between ticks. A worker notices that it was off the CPU from its own clock:
// two reads that should be microseconds apart (between chunks, or between spins while it waits for
// a region) are at least EDGE_POOL_GAP_NS apart. When EDGE_POOL_TICK_FIT of its last
// EDGE_POOL_TICK_RESUMES resumptions fall on one grid of a usual tick period (edge_fit_tick), it
// claims no chunk that would still run EDGE_POOL_TICK_MARGIN_NS before the next tick (its longest
// recent chunk counts as the chunk's length): it waits for the tick to pass, or to be preempted at
// it, holding nothing, while the others take the region's chunks. Without this, a worker on a
// shared core was caught inside a chunk at nearly every preemption and the region waited a whole
// time slice for it; left out instead (below), it gave up the half of its core it does get. The
// grid is in absolute time, so it holds across parking. A worker not preempted for
// EDGE_POOL_TICK_FORGET_NS forgets the grid (the other thread has gone).
//
// A worker that knows its ticks is weighed over a longer horizon (EDGE_POOL_TICK_WEIGH_DECAY,
// ~4096 regions) and left out only once waiting for it has cost EDGE_POOL_TICK_MIN_LOSS_NS (a few
// time slices): a preemption between ticks now and then (a thread waking on its core) does not
// outweigh its work, also just after it comes back, before its saving has built up. Left out, it
// probes (spins) for up to EDGE_POOL_LEARN_NS of each back-off, time to learn its ticks, and
// comes back as soon as it has learnt them.
//
// Chunks must be well under EDGE_POOL_GAP_NS for this to tell a preemption from a long chunk: the
// ops cap a matrix product's chunk at 512 KiB of weights (edge_ops.c). Preemptions that do not fall
// on a grid (a vCPU stalled by its host now and then) never fit one and change nothing.
#define EDGE_POOL_GAP_NS 1000000ull
#define EDGE_POOL_TICK_MARGIN_NS 100000ull
#define EDGE_POOL_TICK_FORGET_NS 50000000ull
#define EDGE_POOL_TICK_WEIGH_DECAY (1.0 / 4096)
#define EDGE_POOL_TICK_MIN_LOSS_NS 12000000.0
#define EDGE_POOL_TICK_RESUMES 8
#define EDGE_POOL_TICK_FIT 6
#define EDGE_POOL_TICK_TOLERANCE_NS 200000ull
#define EDGE_POOL_LEARN_NS 100000000ull

// One thread's figures. The region_* fields are written by the thread during a region (before it
// counts each chunk as done) and read and zeroed by the caller between regions; the totals and the
// published balancer state are written by the caller only.
typedef struct {
    _Alignas(64) _Atomic uint64_t region_items;
    _Atomic uint64_t region_ns;
    _Atomic uint64_t region_taken;
    _Atomic uint64_t busy_ns;
    _Atomic uint64_t items;
    _Atomic uint64_t taken;
    _Atomic uint64_t speed_bits;   // double: smoothed relative speed
    _Atomic uint64_t share_bits;   // double: fraction of the next region's chunks
    _Atomic uint64_t region_last_ns;  // when this thread finished its last chunk of the region
    _Atomic int excluded;          // 1 while the caller leaves this worker out (read in participate)
    _Atomic uint64_t exclusions;   // times left out
    _Atomic uint64_t kept_out;     // back-offs extended because the core was still shared
    _Atomic uint64_t out_wall_ns;  // while left out, summed over the probe's samples: ns on a CPU
    _Atomic uint64_t out_cpu_ns;   // or waiting for one, and ns on a CPU (written by the worker,
                                   // reset by the caller)
    _Atomic uint64_t probe_from;   // while left out: when the probe starts, and ends (ns; set by
    _Atomic uint64_t probe_to;     // the caller)
    _Atomic uint64_t tick_ns;      // period of the ticks that preempt the worker (shared core; 0: none known)
    _Atomic uint64_t tick_pauses;  // pauses before a tick that may preempt it
    _Atomic uint64_t stalls;       // regions whose end waited EDGE_POOL_GAP_NS or more for its chunk
} edge_thread_stats;

// One share's claim word: (generation << 32) | index of its next unclaimed chunk. The generation
// makes a claim by a thread that still thinks an earlier region is running fail instead of taking
// a chunk of the current one (a 32-bit generation repeats after 2^32 regions, hours at ~1 us a
// region; a thread would have to sleep through exactly that many to be fooled).
typedef struct {
    _Alignas(64) _Atomic uint64_t claim;
} edge_share;

// One region's description. Two are kept, alternating by generation: the caller writes region g+1's
// while a thread that is late for region g may still read g's. A late reader can see a region
// g+2's values in the slot it reads, but then the claim words already carry g+1 and its claim fails
// (the release fence before the caller writes a slot and the acquire fence after a reader reads
// one order it, as in a seqlock); all fields are atomics so such a read is not a data race.
typedef struct {
    _Atomic(edge_range_fn) fn;
    _Atomic(void *) ctx;
    _Atomic int64_t offset, total, chunk;
    _Atomic int steal;
    _Atomic uint32_t *end;   // n entries: share t holds chunks [end[t-1] (0 for t = 0), end[t])
} edge_region;

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
    edge_share *shares;            // n entries
    edge_region region[2];
    // Balancer state, owned by the caller of edge_pool_for.
    double *speed;                 // n entries, mean 1
    double *share;                 // n entries: fractions of the last region's chunks
    double *rate;                  // 3n entries: scratch for account_region (rate, items, busy ns)
    double *saved, *lost;          // n entries: decayed ns each worker saved / cost (see above)
    uint64_t *out_until, *back_in_at, *backoff;  // n entries: exclusion state, ns
    unsigned char *learning;       // n entries: left out without knowing its ticks (back in once it does)
    uint64_t regions;              // regions run
    int n_out;                     // workers left out now
    uint32_t gen;                  // last generation published
    _Atomic int mode;

    _Alignas(64) _Atomic uint32_t generation;   // futex word; bumped to publish a region
    _Atomic int sleepers;
    _Atomic int stop;
    _Alignas(64) _Atomic uint64_t done;         // chunks of the current region finished
};

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// The calling thread's nanoseconds on a CPU and waiting on a run queue, from
// /proc/thread-self/schedstat opened as fd; 0 on success, -1 when it cannot be read.
static int sched_times(int fd, uint64_t *run_ns, uint64_t *wait_ns) {
    char buf[96];
    const ssize_t got = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
    if (got <= 0) return -1;
    buf[got] = 0;
    unsigned long long run, wait;
    if (sscanf(buf, "%llu %llu", &run, &wait) != 2) return -1;
    *run_ns = run;
    *wait_ns = wait;
    return 0;
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

static inline uint64_t dbits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static inline double bitsd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

// A worker's view of its runs on the CPU and the ticks that end them (see EDGE_POOL_GAP_NS). Owned
// by the worker.
typedef struct {
    uint64_t last;       // its last clock read while runnable (0: none since it last parked)
    uint64_t since;      // its last resumption or wake-up from parking (or start)
    uint64_t tick;       // the period of the ticks it is preempted at (0: not known)
    uint64_t ref;        // a tick, while tick is known
    uint64_t chunk_ns;   // its longest recent chunk, decaying
    int nres;            // resumptions recorded (the newest at resumes[(nres - 1) % N])
    uint64_t resumes[EDGE_POOL_TICK_RESUMES];
} edge_ticks;

static void ticks_set(edge_ticks *sl, edge_thread_stats *s, uint64_t tick) {
    sl->tick = tick;
    atomic_store_explicit(&s->tick_ns, tick, memory_order_relaxed);
}

uint64_t edge_fit_tick(const uint64_t *times, int n, int need, uint64_t tolerance_ns, uint64_t *tick_ref) {
    static const uint64_t periods[] = { 10000000ull, 4000000ull, 3333333ull, 1000000ull };
    if (n < 1 || n > 64 || need < 1 || need > n) return 0;
    uint64_t newest = 0;
    for (int i = 0; i < n; i++) if (times[i] > newest) newest = times[i];
    for (size_t k = 0; k < sizeof periods / sizeof periods[0]; k++) {
        const uint64_t P = periods[k];
        // Each time's phase, as its distance before newest, modulo P.
        uint64_t ph[64];
        for (int i = 0; i < n; i++) ph[i] = (newest - times[i]) % P;
        for (int i = 0; i < n; i++) {
            // The times whose phase is at most the tolerance later than time i's.
            int count = 0;
            for (int j = 0; j < n; j++)
                if ((ph[i] + P - ph[j]) % P <= tolerance_ns) count++;
            if (count >= need) {
                // Time i's phase is the earliest of its group: a tick is that far before newest.
                if (tick_ref) *tick_ref = newest - ph[i];
                return P;
            }
        }
    }
    return 0;
}

// One clock read `t` of a runnable worker: notes a gap (the end of a run and the start of the
// next) and the ticks that preempt it.
static void ticks_observe(edge_ticks *sl, edge_thread_stats *s, uint64_t t) {
    if (!sl->last) {
        sl->since = t;
    } else if (t - sl->last >= EDGE_POOL_GAP_NS) {
        sl->resumes[sl->nres++ % EDGE_POOL_TICK_RESUMES] = t;
        sl->since = t;
        if (sl->nres >= EDGE_POOL_TICK_RESUMES) {
            uint64_t ref = 0;
            const uint64_t tick = edge_fit_tick(sl->resumes, EDGE_POOL_TICK_RESUMES, EDGE_POOL_TICK_FIT,
                                                EDGE_POOL_TICK_TOLERANCE_NS, &ref);
            sl->ref = ref;
            ticks_set(sl, s, tick);
        }
    } else if (sl->tick && t > sl->since + EDGE_POOL_TICK_FORGET_NS) {
        // Not preempted for that long: the core is no longer shared.
        sl->nres = 0;
        ticks_set(sl, s, 0);
    }
    sl->last = t;
}

// Whether a worker may claim a chunk at `t` (it has just read the clock): when its ticks are known,
// only if the chunk should end EDGE_POOL_TICK_MARGIN_NS before the next one.
static int ticks_open(const edge_ticks *sl, uint64_t t) {
    // (Chunks too long to fit well between ticks are claimed anyway.)
    if (!sl->tick || t < sl->ref || sl->chunk_ns + EDGE_POOL_TICK_MARGIN_NS > sl->tick / 2) return 1;
    const uint64_t next = sl->ref + ((t - sl->ref) / sl->tick + 1) * sl->tick;
    return t + sl->chunk_ns + EDGE_POOL_TICK_MARGIN_NS <= next;
}

// Thread `tid`'s part of region g: its own share, then (when stealing) the unclaimed chunks of the
// others' shares, each taken from its front, one chunk per claim.
static void participate(edge_pool *p, uint32_t g, int tid, edge_ticks *sl) {
    const edge_region *r = &p->region[g & 1];
    const edge_range_fn fn = atomic_load_explicit(&r->fn, memory_order_relaxed);
    void *const ctx = atomic_load_explicit(&r->ctx, memory_order_relaxed);
    const int64_t offset = atomic_load_explicit(&r->offset, memory_order_relaxed);
    const int64_t total = atomic_load_explicit(&r->total, memory_order_relaxed);
    const int64_t chunk = atomic_load_explicit(&r->chunk, memory_order_relaxed);
    const int steal = atomic_load_explicit(&r->steal, memory_order_relaxed);
    const int n = p->n;
    edge_thread_stats *s = &p->stats[tid];
    // A worker left out has an empty share (dynamic mode only), so it may skip the region.
    if (steal && atomic_load_explicit(&s->excluded, memory_order_relaxed)) return;
    uint64_t items = 0, ns = 0, taken = 0, t_prev = now_ns();
    if (sl) ticks_observe(sl, s, t_prev);
    for (int k = 0; k < (steal ? n : 1); k++) {
        const int v = tid + k < n ? tid + k : tid + k - n;
        const uint32_t end = atomic_load_explicit(&r->end[v], memory_order_relaxed);
        // Every field read above is region g's if a claim below succeeds (see edge_region).
        atomic_thread_fence(memory_order_acquire);
        _Atomic uint64_t *cw = &p->shares[v].claim;
        uint64_t c = atomic_load_explicit(cw, memory_order_relaxed);
        for (;;) {
            if ((uint32_t)(c >> 32) != g) return;     // region g is over
            const uint32_t i = (uint32_t)c;
            if (i >= end) break;                      // share v has no unclaimed chunk
            // Just before a tick that may preempt it, a worker on a shared core waits for the
            // tick to pass (or for the region to end) instead of claiming (dynamic mode only,
            // where the others take its chunks meanwhile).
            if (sl && steal && !ticks_open(sl, t_prev)) {
                atomic_fetch_add_explicit(&s->tick_pauses, 1, memory_order_relaxed);
                do {
                    cpu_relax();
                    t_prev = now_ns();
                    ticks_observe(sl, s, t_prev);
                    c = atomic_load_explicit(cw, memory_order_relaxed);
                } while ((uint32_t)(c >> 32) == g && !ticks_open(sl, t_prev));
                continue;
            }
            if (!atomic_compare_exchange_weak_explicit(cw, &c, c + 1, memory_order_acq_rel, memory_order_relaxed))
                continue;
            const int64_t b = (int64_t)i * chunk, e = b + chunk < total ? b + chunk : total;
            fn(ctx, offset + b, offset + e, tid);
            const uint64_t t = now_ns();
            if (sl) {
                const uint64_t d = t - t_prev;
                ticks_observe(sl, s, t);
                // A chunk cut by a preemption is not the chunk's length.
                if (d < EDGE_POOL_GAP_NS) sl->chunk_ns = d > sl->chunk_ns - sl->chunk_ns / 8 ? d : sl->chunk_ns - sl->chunk_ns / 8;
            }
            ns += t - t_prev;
            t_prev = t;
            items += (uint64_t)(e - b);
            if (v != tid) taken += (uint64_t)(e - b);
            atomic_store_explicit(&s->region_items, items, memory_order_relaxed);
            atomic_store_explicit(&s->region_ns, ns, memory_order_relaxed);
            atomic_store_explicit(&s->region_taken, taken, memory_order_relaxed);
            atomic_store_explicit(&s->region_last_ns, t, memory_order_relaxed);
            atomic_fetch_add_explicit(&p->done, 1, memory_order_release);
            c = atomic_load_explicit(cw, memory_order_relaxed);
        }
    }
}

// A left-out worker's probe (see EDGE_POOL_PROBE_NS): whether it is on now, and one sample when
// due. *sample_at is 0 when no sample of the current probe is held.
static int probe_step(edge_thread_stats *s, int fd, uint64_t t, uint64_t *sample_at, uint64_t *run0, uint64_t *wait0) {
    const int on = atomic_load_explicit(&s->excluded, memory_order_relaxed)
        && t >= atomic_load_explicit(&s->probe_from, memory_order_relaxed)
        && t < atomic_load_explicit(&s->probe_to, memory_order_relaxed);
    if (!on) {
        *sample_at = 0;
        return 0;
    }
    if (*sample_at && t - *sample_at < EDGE_POOL_OUT_SAMPLE_NS) return 1;
    uint64_t run, wait;
    if (sched_times(fd, &run, &wait) != 0) return 0;
    if (*sample_at && run >= *run0 && wait >= *wait0) {
        atomic_fetch_add_explicit(&s->out_wall_ns, (run - *run0) + (wait - *wait0), memory_order_relaxed);
        atomic_fetch_add_explicit(&s->out_cpu_ns, run - *run0, memory_order_relaxed);
    }
    *sample_at = t;
    *run0 = run;
    *wait0 = wait;
    return 1;
}

static void *worker_main(void *arg) {
    edge_worker *w = arg;
    edge_pool *p = w->pool;
    // Pinned, or free to run on every CPU of the process (not only on its creator's).
    if (w->cpu >= 0) edge_pin_current_thread(w->cpu); else edge_unpin_current_thread();
    // The pool is created with generation 0. Reading the current value here instead would miss a
    // region published before this thread first ran.
    uint32_t seen = 0;
    edge_thread_stats *s = &p->stats[w->tid];
    // While left out: the last sample's time and scheduler figures (sample_at 0: none yet).
    const int sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    uint64_t sample_at = 0, run0 = 0, wait0 = 0;
    edge_ticks sl;
    memset(&sl, 0, sizeof sl);
    for (;;) {
        uint64_t spin_start = now_ns();
        uint32_t g;
        unsigned spins = 0;
        while ((g = atomic_load_explicit(&p->generation, memory_order_acquire)) == seen) {
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
            cpu_relax();
            if ((++spins & 1023) != 0) continue;
            const uint64_t t = now_ns(), last = sl.last;
            ticks_observe(&sl, s, t);
            // Time off the CPU is not time spent waiting for a region.
            if (last && t - last >= EDGE_POOL_GAP_NS) spin_start = t;
            if (t - spin_start > EDGE_POOL_SPIN_NS && !probe_step(s, sched_fd, t, &sample_at, &run0, &wait0)) {
                atomic_fetch_add(&p->sleepers, 1);
                // Re-check after announcing ourselves so a wake between check and wait is not lost.
                if (atomic_load_explicit(&p->generation, memory_order_acquire) == seen &&
                    !atomic_load_explicit(&p->stop, memory_order_relaxed))
                    futex_wait(&p->generation, seen);
                atomic_fetch_sub(&p->sleepers, 1);
                // The wake-up is not a preemption: the next clock read only sets `since`.
                sl.last = 0;
                spin_start = now_ns();
            }
        }
        seen = g;
        if (atomic_load_explicit(&p->stop, memory_order_relaxed)) {
            if (sched_fd >= 0) close(sched_fd);
            return NULL;
        }
        // A region that ended before this thread got here needs nothing from it: its claims fail.
        participate(p, g, w->tid, &sl);
        // Left out: measure the share of the core this thread gets (see EDGE_POOL_PROBE_NS). Not
        // left out (the common case): no clock read per region.
        if (atomic_load_explicit(&s->excluded, memory_order_relaxed))
            probe_step(s, sched_fd, now_ns(), &sample_at, &run0, &wait0);
        else
            sample_at = 0;
    }
}

static void publish_balance(edge_pool *p, const double *share) {
    for (int t = 0; t < p->n; t++) {
        atomic_store_explicit(&p->stats[t].speed_bits, dbits(p->speed[t]), memory_order_relaxed);
        if (share) atomic_store_explicit(&p->stats[t].share_bits, dbits(share[t]), memory_order_relaxed);
    }
}

edge_pool *edge_pool_create(int n_threads, const int *cpus) {
    if (n_threads < 1) n_threads = 1;
    edge_pool *p = aligned_alloc(64, (sizeof(edge_pool) + 63) / 64 * 64);
    if (!p) return NULL;
    memset(p, 0, sizeof(*p));
    p->n = n_threads;
    const size_t n = (size_t)n_threads;
    p->stats = aligned_alloc(64, sizeof(edge_thread_stats) * n);
    p->shares = aligned_alloc(64, sizeof(edge_share) * n);
    p->speed = calloc(n, sizeof(double));
    p->share = calloc(n, sizeof(double));
    p->rate = calloc(3 * n, sizeof(double));
    p->saved = calloc(n, sizeof(double));
    p->lost = calloc(n, sizeof(double));
    p->out_until = calloc(n, sizeof(uint64_t));
    p->back_in_at = calloc(n, sizeof(uint64_t));
    p->learning = calloc(n, 1);
    p->backoff = calloc(n, sizeof(uint64_t));
    p->region[0].end = calloc(n, sizeof(_Atomic uint32_t));
    p->region[1].end = calloc(n, sizeof(_Atomic uint32_t));
    p->workers = calloc(n > 1 ? n - 1 : 1, sizeof(edge_worker));
    if (!p->stats || !p->shares || !p->speed || !p->share || !p->rate || !p->saved || !p->lost ||
        !p->out_until || !p->back_in_at || !p->learning || !p->backoff || !p->region[0].end || !p->region[1].end || !p->workers) {
        free(p->stats); free(p->shares); free(p->speed); free(p->share); free(p->rate);
        free(p->saved); free(p->lost); free(p->out_until); free(p->back_in_at); free(p->learning); free(p->backoff); free(p->region[0].end); free(p->region[1].end);
        free(p->workers); free(p);
        return NULL;
    }
    memset(p->stats, 0, sizeof(edge_thread_stats) * n);
    memset(p->shares, 0, sizeof(edge_share) * n);
    for (size_t t = 0; t < n; t++) {
        p->speed[t] = 1.0;
        p->backoff[t] = EDGE_POOL_BACKOFF_NS;
        atomic_store(&p->stats[t].share_bits, dbits(1.0 / (double)n));
    }
    publish_balance(p, NULL);
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
    free(p->shares);
    free(p->speed);
    free(p->share);
    free(p->rate);
    free(p->saved);
    free(p->lost);
    free(p->out_until);
    free(p->back_in_at);
    free(p->learning);
    free(p->backoff);
    free(p->region[0].end);
    free(p->region[1].end);
    free(p);
}

int edge_pool_threads(const edge_pool *p) { return p->n; }

void edge_pool_set_balance(edge_pool *p, int mode) {
    if (mode != EDGE_BALANCE_DYNAMIC && mode != EDGE_BALANCE_STATIC) return;
    atomic_store(&p->mode, mode);
    // Every worker back in, with a clean slate.
    for (int t = 0; t < p->n; t++) {
        p->out_until[t] = p->back_in_at[t] = 0;
        p->learning[t] = 0;
        p->saved[t] = p->lost[t] = 0;
        p->backoff[t] = EDGE_POOL_BACKOFF_NS;
        atomic_store(&p->stats[t].excluded, 0);
    }
    p->n_out = 0;
}

int edge_pool_balance(const edge_pool *p) { return atomic_load(&((edge_pool *)p)->mode); }

static void normalise_speeds(edge_pool *p) {
    double sum = 0;
    for (int t = 0; t < p->n; t++) sum += p->speed[t];
    const double scale = sum > 0 ? (double)p->n / sum : 1.0;
    for (int t = 0; t < p->n; t++) {
        p->speed[t] *= scale;
        if (p->speed[t] < EDGE_POOL_MIN_SPEED) p->speed[t] = EDGE_POOL_MIN_SPEED;
    }
}

void edge_pool_set_speeds(edge_pool *p, const double *speeds) {
    for (int t = 0; t < p->n; t++) {
        const double v = speeds ? speeds[t] : 1.0;
        p->speed[t] = v > 0 && v < 1e300 ? v : 1.0;
    }
    normalise_speeds(p);
    publish_balance(p, NULL);
}

void edge_pool_balance_state(const edge_pool *p, double *speeds, double *shares) {
    for (int t = 0; t < p->n; t++) {
        speeds[t] = bitsd(atomic_load_explicit(&p->stats[t].speed_bits, memory_order_relaxed));
        shares[t] = bitsd(atomic_load_explicit(&p->stats[t].share_bits, memory_order_relaxed));
    }
}

// After a region: fold each thread's figures into its totals and move the speeds toward the
// measured ones. A thread's measured rate is items per busy nanosecond; rates of different ops are
// not comparable, so only the ratios between the threads of one region are used: the threads that
// worked keep their summed speed, redistributed by their rates. Threads that did no chunk (late,
// descheduled, or with nothing left to take) tell nothing and keep their speed.
static void weigh_workers(edge_pool *p, uint64_t idle_to);

static void account_region(edge_pool *p, uint64_t idle_from, uint64_t idle_to) {
    const int n = p->n;
    double rate_sum = 0, speed_sum = 0;
    uint64_t busy_sum = 0;
    int measured = 0;
    for (int t = 0; t < n; t++) {
        edge_thread_stats *s = &p->stats[t];
        const uint64_t it = atomic_load_explicit(&s->region_items, memory_order_relaxed);
        const uint64_t ns = atomic_load_explicit(&s->region_ns, memory_order_relaxed);
        const uint64_t tk = atomic_load_explicit(&s->region_taken, memory_order_relaxed);
        p->rate[t] = p->rate[n + t] = p->rate[2 * n + t] = 0;
        p->rate[n + t] = (double)it;
        p->rate[2 * n + t] = (double)ns;
        if (it == 0) continue;
        atomic_store_explicit(&s->region_items, 0, memory_order_relaxed);
        atomic_store_explicit(&s->region_ns, 0, memory_order_relaxed);
        atomic_store_explicit(&s->region_taken, 0, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->items, it, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->busy_ns, ns, memory_order_relaxed);
        atomic_fetch_add_explicit(&s->taken, tk, memory_order_relaxed);
        if (ns == 0) continue;
        p->rate[t] = (double)it / (double)ns;
        if (t > 0 && idle_to > idle_from) {
            const uint64_t last = atomic_load_explicit(&s->region_last_ns, memory_order_relaxed);
            if (last > idle_from) {
                const uint64_t waited = (last < idle_to ? last : idle_to) - idle_from;
                p->lost[t] += (double)waited;
                if (waited >= EDGE_POOL_GAP_NS) atomic_fetch_add_explicit(&s->stalls, 1, memory_order_relaxed);
            }
        }
        rate_sum += p->rate[t];
        speed_sum += p->speed[t];
        busy_sum += ns;
        measured++;
    }
    if (atomic_load_explicit(&p->mode, memory_order_relaxed) == EDGE_BALANCE_DYNAMIC) weigh_workers(p, idle_to);
    if (measured < 2 || busy_sum < EDGE_POOL_MIN_SAMPLE_NS) return;
    for (int t = 0; t < n; t++) {
        if (p->rate[t] <= 0) continue;
        const double target = p->rate[t] * speed_sum / rate_sum;
        p->speed[t] += EDGE_POOL_EMA * (target - p->speed[t]);
    }
    normalise_speeds(p);
}

// The probe of a worker left out from `now` until `until`: the back-off's last EDGE_POOL_LEARN_NS
// (at least EDGE_POOL_PROBE_NS), which is long enough for the worker to learn its ticks on a shared
// core (see EDGE_POOL_GAP_NS), running on for EDGE_POOL_PROBE_NS after it (the caller may look
// only at its next region's end, or later).
static void set_probe(edge_thread_stats *s, uint64_t now, uint64_t until) {
    const uint64_t span = until - now < EDGE_POOL_LEARN_NS ? until - now : EDGE_POOL_LEARN_NS;
    const uint64_t from = span > EDGE_POOL_PROBE_NS ? until - span : (until - now > EDGE_POOL_PROBE_NS ? until - EDGE_POOL_PROBE_NS : now);
    atomic_store_explicit(&s->probe_to, until + EDGE_POOL_PROBE_NS, memory_order_relaxed);
    atomic_store_explicit(&s->probe_from, from, memory_order_relaxed);
}

// Weighs each worker's saving against its cost (see EDGE_POOL_WEIGH_DECAY) and leaves workers
// out or lets them back in. p->rate holds this region's rate, items and busy ns of each thread.
static void weigh_workers(edge_pool *p, uint64_t idle_to) {
    const int n = p->n;
    const double items0 = p->rate[n], rate0 = p->rate[0];
    uint64_t now = idle_to;
    p->regions++;
    if (p->n_out > 0 && !now && (p->regions & 63) == 0) now = now_ns();
    for (int t = 1; t < n; t++) {
        edge_thread_stats *s = &p->stats[t];
        if (p->out_until[t]) {
            // Left out on a shared core, a worker that has learnt its ticks comes back at once.
            const int learnt = p->learning[t] && (atomic_load_explicit(&s->tick_ns, memory_order_relaxed) != 0);
            if (now && (now >= p->out_until[t] || learnt)) {
                const uint64_t wall = atomic_load_explicit(&s->out_wall_ns, memory_order_relaxed);
                const uint64_t cpu = atomic_load_explicit(&s->out_cpu_ns, memory_order_relaxed);
                atomic_store_explicit(&s->out_wall_ns, 0, memory_order_relaxed);
                atomic_store_explicit(&s->out_cpu_ns, 0, memory_order_relaxed);
                // A worker that knows its ticks works between them (see EDGE_POOL_GAP_NS): back in.
                if (!learnt && wall >= EDGE_POOL_OUT_MIN_NS && (double)cpu < EDGE_POOL_SHARED_FRACTION * (double)wall
                    && !(atomic_load_explicit(&s->tick_ns, memory_order_relaxed) != 0)) {
                    // Its core is still shared: stay out for another back-off, doubled, with a
                    // probe of up to EDGE_POOL_LEARN_NS, long enough to learn its ticks (the worker
                    // spins, so it is preempted as a working thread would be).
                    p->backoff[t] = p->backoff[t] * 2 < EDGE_POOL_MAX_BACKOFF_NS ? p->backoff[t] * 2 : EDGE_POOL_MAX_BACKOFF_NS;
                    p->out_until[t] = now + p->backoff[t];
                    set_probe(s, now, p->out_until[t]);
                    p->learning[t] = 1;
                    atomic_fetch_add_explicit(&s->kept_out, 1, memory_order_relaxed);
                    continue;
                }
                p->out_until[t] = 0;
                p->learning[t] = 0;
                p->back_in_at[t] = now;
                p->saved[t] = p->lost[t] = 0;
                p->n_out--;
                atomic_store_explicit(&s->excluded, 0, memory_order_relaxed);
            }
            continue;
        }
        // The caller's time for this worker's items; at equal speed when the caller did none.
        const double items = p->rate[n + t];
        if (items > 0) p->saved[t] += rate0 > 0 && items0 > 0 ? items / rate0 : p->rate[2 * n + t];
        const int knows_ticks = atomic_load_explicit(&s->tick_ns, memory_order_relaxed) != 0;
        if (p->lost[t] > p->saved[t] && p->lost[t] > (knows_ticks ? EDGE_POOL_TICK_MIN_LOSS_NS : EDGE_POOL_MIN_LOSS_NS)) {
            if (!now) now = now_ns();
            const uint64_t back = p->back_in_at[t] && now - p->back_in_at[t] < 1000000000ull
                ? (p->backoff[t] * 2 < EDGE_POOL_MAX_BACKOFF_NS ? p->backoff[t] * 2 : EDGE_POOL_MAX_BACKOFF_NS)
                : EDGE_POOL_BACKOFF_NS;
            p->backoff[t] = back;
            p->out_until[t] = now + back;
            p->n_out++;
            atomic_store_explicit(&s->out_wall_ns, 0, memory_order_relaxed);
            atomic_store_explicit(&s->out_cpu_ns, 0, memory_order_relaxed);
            set_probe(s, now, p->out_until[t]);
            // Comes back as soon as it learns its ticks, unless it knew them and was still caught.
            p->learning[t] = !(atomic_load_explicit(&s->tick_ns, memory_order_relaxed) != 0);
            atomic_store_explicit(&s->excluded, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->exclusions, 1, memory_order_relaxed);
        }
        // A worker that works between its ticks is caught inside a chunk only when another
        // thread wakes on its core: weighed over a longer horizon, such a stall now and then does
        // not outweigh what it saves in between.
        const double decay = knows_ticks ? EDGE_POOL_TICK_WEIGH_DECAY : EDGE_POOL_WEIGH_DECAY;
        p->saved[t] *= 1.0 - decay;
        p->lost[t] *= 1.0 - decay;
    }
}

// Cuts nchunks chunks into one contiguous share per thread, proportional to the speeds (dynamic)
// or equal (static), and writes the shares' ends and fractions.
static void cut_shares(edge_pool *p, edge_region *r, uint32_t nchunks, int dynamic) {
    const int n = p->n;
    double wsum = 0;
    // A worker left out gets no chunks (its speed is kept for when it comes back).
#define EDGE_SHARE_WEIGHT(t) (!dynamic ? 1.0 : p->out_until[t] ? 0.0 : p->speed[t])
    for (int t = 0; t < n; t++) wsum += EDGE_SHARE_WEIGHT(t);
    double acc = 0;
    uint32_t prev = 0;
    for (int t = 0; t < n; t++) {
        acc += EDGE_SHARE_WEIGHT(t);
        uint32_t end = t == n - 1 ? nchunks : (uint32_t)((double)nchunks * acc / wsum + 0.5);
        if (end < prev) end = prev;
        if (end > nchunks) end = nchunks;
        atomic_store_explicit(&r->end[t], end, memory_order_relaxed);
        p->share[t] = (double)(end - prev) / (double)nchunks;
        prev = end;
    }
#undef EDGE_SHARE_WEIGHT
}

// One region over [offset, offset + total), with fewer than 2^32 chunks.
static void run_region(edge_pool *p, int64_t offset, int64_t total, int64_t chunk, edge_range_fn fn, void *ctx) {
    const uint32_t nchunks = (uint32_t)((total + chunk - 1) / chunk);
    const int dynamic = atomic_load_explicit(&p->mode, memory_order_relaxed) == EDGE_BALANCE_DYNAMIC;
    const uint32_t g = ++p->gen;
    edge_region *r = &p->region[g & 1];
    // The claim words' reset to the previous generation precedes this slot's new values (see edge_region).
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&r->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&r->ctx, ctx, memory_order_relaxed);
    atomic_store_explicit(&r->offset, offset, memory_order_relaxed);
    atomic_store_explicit(&r->total, total, memory_order_relaxed);
    atomic_store_explicit(&r->chunk, chunk, memory_order_relaxed);
    atomic_store_explicit(&r->steal, dynamic, memory_order_relaxed);
    cut_shares(p, r, nchunks, dynamic);
    uint32_t start = 0;
    for (int t = 0; t < p->n; t++) {
        atomic_store_explicit(&p->shares[t].claim, ((uint64_t)g << 32) | start, memory_order_relaxed);
        start = atomic_load_explicit(&r->end[t], memory_order_relaxed);
    }
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    atomic_store_explicit(&p->generation, g, memory_order_release);
    if (atomic_load(&p->sleepers) > 0) futex_wake_all(&p->generation);
    participate(p, g, 0, NULL);
    // Idle time at the end (waiting for other threads' chunks) is timed only when there is some.
    uint64_t idle_from = 0, idle_to = 0;
    if (atomic_load_explicit(&p->done, memory_order_acquire) < nchunks) {
        idle_from = now_ns();
        while (atomic_load_explicit(&p->done, memory_order_acquire) < nchunks) cpu_relax();
        idle_to = now_ns();
    }
    account_region(p, idle_from, idle_to);
    publish_balance(p, p->share);
}

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
    // Claim words count chunks in 32 bits: a larger range runs as several regions.
    const int64_t most = chunk <= INT64_MAX / 0x7fffffff ? (int64_t)0x7fffffff * chunk : INT64_MAX;
    for (int64_t offset = 0; offset < total; offset += most)
        run_region(p, offset, total - offset < most ? total - offset : most, chunk, fn, ctx);
}

static void empty_range(void *ctx, int64_t b, int64_t e, int tid) { (void)ctx; (void)b; (void)e; (void)tid; }

double edge_pool_region_ns(edge_pool *p, int regions) {
    if (regions < 1) regions = 1;
    const int64_t total = p->n > 1 ? p->n : 2;   // one chunk per thread, so every thread takes part
    const uint64_t t0 = now_ns();
    for (int i = 0; i < regions; i++) edge_pool_for(p, total, 1, empty_range, NULL);
    return (double)(now_ns() - t0) / (double)regions;
}

void edge_pool_stats(const edge_pool *p, uint64_t *busy_ns, uint64_t *items) {
    for (int i = 0; i < p->n; i++) {
        busy_ns[i] = atomic_load(&p->stats[i].busy_ns);
        items[i] = atomic_load(&p->stats[i].items);
    }
}

void edge_pool_steal_stats(const edge_pool *p, uint64_t *taken_items) {
    for (int i = 0; i < p->n; i++) taken_items[i] = atomic_load(&p->stats[i].taken);
}

void edge_pool_exclusion_stats(const edge_pool *p, int *excluded, uint64_t *exclusions) {
    for (int i = 0; i < p->n; i++) {
        excluded[i] = atomic_load(&p->stats[i].excluded);
        exclusions[i] = atomic_load(&p->stats[i].exclusions);
    }
}

void edge_pool_kept_out_stats(const edge_pool *p, uint64_t *kept_out) {
    for (int i = 0; i < p->n; i++) kept_out[i] = atomic_load(&p->stats[i].kept_out);
}

void edge_pool_tick_stats(const edge_pool *p, uint64_t *tick_ns, uint64_t *pauses, uint64_t *stalls) {
    for (int i = 0; i < p->n; i++) {
        tick_ns[i] = atomic_load(&p->stats[i].tick_ns);
        pauses[i] = atomic_load(&p->stats[i].tick_pauses);
        stalls[i] = atomic_load(&p->stats[i].stalls);
    }
}

void edge_pool_reset_stats(edge_pool *p) {
    for (int i = 0; i < p->n; i++) {
        atomic_store(&p->stats[i].busy_ns, 0);
        atomic_store(&p->stats[i].items, 0);
        atomic_store(&p->stats[i].taken, 0);
        atomic_store(&p->stats[i].exclusions, 0);
        atomic_store(&p->stats[i].kept_out, 0);
        atomic_store(&p->stats[i].tick_pauses, 0);
        atomic_store(&p->stats[i].stalls, 0);
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
