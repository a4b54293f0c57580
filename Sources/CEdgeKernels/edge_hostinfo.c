// edge_hostinfo.c — see edge_hostinfo.h.
#define _GNU_SOURCE
#include "edge_hostinfo.h"
#include "edge_membw.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

int edge_host_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    __cpuid_count(leaf, subleaf, a, b, c, d);
    regs[0] = a; regs[1] = b; regs[2] = c; regs[3] = d;
    return 1;
#else
    (void)leaf; (void)subleaf;
    regs[0] = regs[1] = regs[2] = regs[3] = 0;
    return 0;
#endif
}

uint64_t edge_host_xcr0(void) {
#if defined(__x86_64__) || defined(__i386__)
    uint32_t r[4];
    edge_host_cpuid(1, 0, r);
    if (!(r[2] & (1u << 27))) return 0;  // OSXSAVE: the OS has enabled XGETBV
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#else
    return 0;
#endif
}

typedef struct { int cpu; int result; } core_type_job;

static void *core_type_thread(void *arg) {
    core_type_job *job = arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(job->cpu, &set);
    if (pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0) { job->result = -1; return NULL; }
    sched_yield();  // be sure to run on the new CPU before asking
    uint32_t r[4];
    if (!edge_host_cpuid(0, 0, r) || r[0] < 0x1A) { job->result = 0; return NULL; }
    edge_host_cpuid(0x1A, 0, r);
    job->result = (int)(r[0] >> 24);
    return NULL;
}

int edge_host_core_type(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE) return -1;
    core_type_job job = { cpu, -1 };
    pthread_t t;
    if (pthread_create(&t, NULL, core_type_thread, &job) != 0) return -1;
    pthread_join(t, NULL);
    return job.result;
}

// ---- memory: the fill and read loops of edge_membw.c over a caller's buffer ----

#define HOST_ITEM 4096   // bytes per work item
#define HOST_CHUNK 256   // items per chunk: 1 MiB

typedef struct { _Alignas(64) uint64_t value; char pad[56]; } host_sink;
typedef struct { uint8_t *buf; host_sink *sinks; } host_membw_ctx;

static double host_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void host_fill(void *vctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    host_membw_ctx *c = vctx;
    uint64_t *w = (uint64_t *)(c->buf + begin * HOST_ITEM);
    const int64_t n = (end - begin) * (HOST_ITEM / 8), first = begin * (HOST_ITEM / 8);
    for (int64_t i = 0; i < n; i++) w[i] = (uint64_t)(first + i + 1) * 0x9e3779b97f4a7c15ull;
}

static void host_read(void *vctx, int64_t begin, int64_t end, int tid) {
    host_membw_ctx *c = vctx;
    c->sinks[tid].value ^= edge_membw_xor(c->buf + begin * HOST_ITEM, (size_t)(end - begin) * HOST_ITEM);
}

double edge_host_membw_read_buffer(edge_pool *pool, void *buf, size_t bytes, int passes) {
    if (!buf || bytes < HOST_ITEM) return -1;
    if (passes < 1) passes = 1;
    const int nthreads = edge_pool_threads(pool);
    host_sink *sinks = aligned_alloc(64, sizeof(host_sink) * (size_t)nthreads);
    if (!sinks) return -1;
    memset(sinks, 0, sizeof(host_sink) * (size_t)nthreads);
    host_membw_ctx ctx = { buf, sinks };
    const int64_t items = (int64_t)(bytes / HOST_ITEM);
    edge_pool_for(pool, items, HOST_CHUNK, host_fill, &ctx);
    double best = 0;
    for (int p = 0; p < passes; p++) {
        const double t0 = host_now();
        edge_pool_for(pool, items, HOST_CHUNK, host_read, &ctx);
        const double dt = host_now() - t0;
        if (dt > 0 && (double)items * HOST_ITEM / dt > best) best = (double)items * HOST_ITEM / dt;
    }
    uint64_t all = 0;
    for (int i = 0; i < nthreads; i++) all ^= sinks[i].value;
    __asm__ volatile("" : : "r"(all) : "memory");
    free(sinks);
    return best;
}

// ---- memory: a working set read again and again ----

typedef struct {
    uint8_t *buf;
    size_t slice;     // bytes per thread, a multiple of 4096
    int64_t reps;     // reads of its slice per pass
    host_sink *sinks;
} host_ws_ctx;

// Item i is thread i's slice (static balance: one item each), written by that thread so its
// pages lie where it runs.
static void host_ws_fill(void *vctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    host_ws_ctx *c = vctx;
    for (int64_t i = begin; i < end; i++) {
        uint64_t *w = (uint64_t *)(c->buf + (size_t)i * c->slice);
        const size_t n = c->slice / 8;
        for (size_t k = 0; k < n; k++) w[k] = (uint64_t)(i * (int64_t)n + (int64_t)k + 1) * 0x9e3779b97f4a7c15ull;
    }
}

static void host_ws_read(void *vctx, int64_t begin, int64_t end, int tid) {
    host_ws_ctx *c = vctx;
    for (int64_t i = begin; i < end; i++) {
        const uint8_t *p = c->buf + (size_t)i * c->slice;
        for (int64_t r = 0; r < c->reps; r++) c->sinks[tid].value ^= edge_membw_xor(p, c->slice);
    }
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double edge_host_membw_working_set(edge_pool *pool, size_t bytes, int passes, size_t bytes_per_pass) {
    if (passes < 1) passes = 1;
    if (passes > 64) passes = 64;
    const int nthreads = edge_pool_threads(pool);
    size_t slice = bytes / (size_t)nthreads / HOST_ITEM * HOST_ITEM;
    if (slice < HOST_ITEM) slice = HOST_ITEM;
    const size_t total = slice * (size_t)nthreads;
    const size_t align = total >= (2u << 20) ? (2u << 20) : HOST_ITEM;
    uint8_t *buf = aligned_alloc(align, (total + align - 1) / align * align);
    host_sink *sinks = aligned_alloc(64, sizeof(host_sink) * (size_t)nthreads);
    if (!buf || !sinks) { free(buf); free(sinks); return -1; }
    memset(sinks, 0, sizeof(host_sink) * (size_t)nthreads);
    int64_t reps = (int64_t)((bytes_per_pass + total - 1) / total);
    if (reps < 1) reps = 1;
    host_ws_ctx ctx = { buf, slice, reps, sinks };
    const int mode = edge_pool_balance(pool);
    edge_pool_set_balance(pool, EDGE_BALANCE_STATIC);
    edge_pool_for(pool, nthreads, 1, host_ws_fill, &ctx);
    edge_pool_for(pool, nthreads, 1, host_ws_read, &ctx);   // warm: the set is in its caches
    double rates[64];
    for (int p = 0; p < passes; p++) {
        const double t0 = host_now();
        edge_pool_for(pool, nthreads, 1, host_ws_read, &ctx);
        const double dt = host_now() - t0;
        rates[p] = dt > 0 ? (double)total * (double)reps / dt : 0;
    }
    edge_pool_set_balance(pool, mode);
    qsort(rates, (size_t)passes, sizeof(double), cmp_double);
    uint64_t all = 0;
    for (int i = 0; i < nthreads; i++) all ^= sinks[i].value;
    __asm__ volatile("" : : "r"(all) : "memory");
    free(sinks);
    free(buf);
    return passes % 2 ? rates[passes / 2] : 0.5 * (rates[passes / 2 - 1] + rates[passes / 2]);
}

// ---- storage ----

typedef struct {
    int fd, index, threads;
    int64_t start, file_bytes, request_bytes;  // reads [start, file_bytes)
    int error;
} reader_job;

static void *reader_thread(void *arg) {
    reader_job *j = arg;
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, (size_t)j->request_bytes) != 0) { j->error = ENOMEM; return NULL; }
    for (int64_t off = j->start + (int64_t)j->index * j->request_bytes; off < j->file_bytes;
         off += (int64_t)j->threads * j->request_bytes) {
        int64_t want = j->file_bytes - off < j->request_bytes ? j->file_bytes - off : j->request_bytes;
        want = (want + 4095) / 4096 * 4096;
        int64_t done = 0;
        while (done < want) {
            ssize_t n = pread(j->fd, (char *)buf + done, (size_t)(want - done), (off_t)(off + done));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) { j->error = errno; free(buf); return NULL; }
            if (n == 0) break;  // end of file
            done += n;
        }
    }
    free(buf);
    return NULL;
}

double edge_host_read_parallel(int fd, int64_t file_bytes, int64_t request_bytes, int threads) {
    return edge_host_read_range(fd, 0, file_bytes, request_bytes, threads);
}

double edge_host_read_range(int fd, int64_t offset, int64_t bytes, int64_t request_bytes, int threads) {
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    if (request_bytes < 4096 || request_bytes % 4096 || offset < 0 || offset % 4096) return -EINVAL;
    const int64_t file_bytes = offset + bytes;
    reader_job jobs[64];
    pthread_t tids[64];
    int started = 0;
    const double t0 = host_now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (reader_job){ fd, i, threads, offset, file_bytes, request_bytes, 0 };
        if (pthread_create(&tids[i], NULL, reader_thread, &jobs[i]) != 0) { jobs[i].error = EAGAIN; break; }
        started++;
    }
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    const double dt = host_now() - t0;
    for (int i = 0; i < threads; i++) if (jobs[i].error) return -(double)jobs[i].error;
    return dt;
}

int64_t edge_host_random_reads(int fd, int64_t file_bytes, int64_t count, uint64_t seed,
                               double max_seconds, double *lat_us) {
    const int64_t pages = file_bytes / 4096;
    if (pages < 1) return -EINVAL;
    void *buf = NULL;
    if (posix_memalign(&buf, 4096, 4096) != 0) return -ENOMEM;
    uint64_t s = seed ? seed : 0x2545f4914f6cdd1dull;
    const double start = host_now();
    int64_t i = 0;
    for (; i < count; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        const off_t off = (off_t)((s % (uint64_t)pages) * 4096);
        const double t0 = host_now();
        ssize_t n;
        do { n = pread(fd, buf, 4096, off); } while (n < 0 && errno == EINTR);
        const double t1 = host_now();
        if (n < 0) { int e = errno; free(buf); return -(int64_t)e; }
        lat_us[i] = (t1 - t0) * 1e6;
        if (t1 - start > max_seconds) { i++; break; }
    }
    free(buf);
    return i;
}
