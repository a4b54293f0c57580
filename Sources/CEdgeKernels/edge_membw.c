// edge_membw.c — see edge_membw.h.
//
// Each pass is one parallel region over the buffer in 1 MiB chunks: sequential within a chunk so
// the hardware prefetchers run ahead, chunks handed out dynamically so a slow core takes fewer.
// The loaded words are folded with XOR into four independent accumulators (so the loop is bound by
// the loads, not by one dependency chain) and the result is stored per thread, which keeps the
// compiler from dropping the loads.
#define _GNU_SOURCE
#include "edge_membw.h"
#include "edge_quant.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#define MEMBW_ALIGN (2u << 20)       // 2 MiB: lets the kernel back the buffer with huge pages
#define MEMBW_ITEM 4096              // bytes per work item (one page)
#define MEMBW_CHUNK 256              // items per chunk: 1 MiB

unsigned long long edge_membw_xor_generic(const void *buf, size_t bytes) {
    const uint64_t *p = buf;
    const size_t n = bytes / sizeof(uint64_t);
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        a0 ^= p[i];
        a1 ^= p[i + 1];
        a2 ^= p[i + 2];
        a3 ^= p[i + 3];
    }
    return a0 ^ a1 ^ a2 ^ a3;
}

#if defined(__x86_64__)
__attribute__((target("avx2")))
static unsigned long long membw_xor_avx2(const void *buf, size_t bytes) {
    const __m256i *p = buf;
    const size_t n = bytes / sizeof(__m256i);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        a0 = _mm256_xor_si256(a0, _mm256_load_si256(p + i));
        a1 = _mm256_xor_si256(a1, _mm256_load_si256(p + i + 1));
        a2 = _mm256_xor_si256(a2, _mm256_load_si256(p + i + 2));
        a3 = _mm256_xor_si256(a3, _mm256_load_si256(p + i + 3));
    }
    const __m256i a = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
    const __m128i h = _mm_xor_si128(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
    return (unsigned long long)(_mm_cvtsi128_si64(h) ^ _mm_extract_epi64(h, 1));
}

__attribute__((target("avx512f")))
static unsigned long long membw_xor_avx512(const void *buf, size_t bytes) {
    const __m512i *p = buf;
    const size_t n = bytes / sizeof(__m512i);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i + 4 <= n; i += 4) {
        a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
        a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 1));
        a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 2));
        a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 3));
    }
    const __m512i a = _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3));
    uint64_t lanes[8];
    _mm512_storeu_si512(lanes, a);
    uint64_t r = 0;
    for (int i = 0; i < 8; i++) r ^= lanes[i];
    return r;
}
#endif

unsigned long long edge_membw_xor(const void *buf, size_t bytes) {
#if defined(__x86_64__)
    switch (edge_isa_current()) {
    case EDGE_ISA_AVX512: return membw_xor_avx512(buf, bytes);
    case EDGE_ISA_AVX2: return membw_xor_avx2(buf, bytes);
    default: break;
    }
#endif
    return edge_membw_xor_generic(buf, bytes);
}

typedef struct {
    _Alignas(64) uint64_t value;
    char pad[56];
} membw_sink;

typedef struct {
    uint8_t *buf;
    membw_sink *sinks;  // one per pool thread
} membw_ctx;

static void membw_fill(void *vctx, int64_t begin, int64_t end, int tid) {
    (void)tid;
    membw_ctx *c = vctx;
    // Every 64-bit word distinct (its index times an odd constant): no page equals another, so
    // neither the zero page nor a host that merges identical pages can stand in for memory.
    uint64_t *w = (uint64_t *)(c->buf + begin * MEMBW_ITEM);
    const int64_t n = (end - begin) * (MEMBW_ITEM / 8), first = begin * (MEMBW_ITEM / 8);
    for (int64_t i = 0; i < n; i++) w[i] = (uint64_t)(first + i + 1) * 0x9e3779b97f4a7c15ull;
}

static void membw_read(void *vctx, int64_t begin, int64_t end, int tid) {
    membw_ctx *c = vctx;
    c->sinks[tid].value ^= edge_membw_xor(c->buf + begin * MEMBW_ITEM, (size_t)(end - begin) * MEMBW_ITEM);
}

static double membw_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double edge_membw_read(edge_pool *pool, size_t bytes, int passes) {
    if (passes < 1) passes = 1;
    bytes = (bytes + MEMBW_ALIGN - 1) / MEMBW_ALIGN * MEMBW_ALIGN;
    if (bytes == 0) bytes = MEMBW_ALIGN;
    uint8_t *buf = aligned_alloc(MEMBW_ALIGN, bytes);
    const int nthreads = edge_pool_threads(pool);
    membw_sink *sinks = aligned_alloc(64, sizeof(membw_sink) * (size_t)nthreads);
    if (!buf || !sinks) { free(buf); free(sinks); return -1; }
    memset(sinks, 0, sizeof(membw_sink) * (size_t)nthreads);
#ifdef MADV_HUGEPAGE
    // Fewer TLB misses, as the weights of a large mapping would also see; ignored where THP is off.
    madvise(buf, bytes, MADV_HUGEPAGE);
#endif
    membw_ctx ctx = { buf, sinks };
    const int64_t items = (int64_t)(bytes / MEMBW_ITEM);
    edge_pool_for(pool, items, MEMBW_CHUNK, membw_fill, &ctx);
    double best = 0;
    for (int p = 0; p < passes; p++) {
        const double t0 = membw_now();
        edge_pool_for(pool, items, MEMBW_CHUNK, membw_read, &ctx);
        const double dt = membw_now() - t0;
        if (dt > 0 && (double)bytes / dt > best) best = (double)bytes / dt;
    }
    // Fold the sinks into something the optimiser must assume escapes.
    uint64_t all = 0;
    for (int i = 0; i < nthreads; i++) all ^= sinks[i].value;
    __asm__ volatile("" : : "r"(all) : "memory");
    free(sinks);
    free(buf);
    return best;
}

// ---- scattered reads: what a sparse pass over rows sees ----

typedef struct {
    const uint8_t *buf;
    size_t unit;
    const int64_t *units;  // selected unit indices, ascending
    membw_sink *sinks;
} scatter_ctx;

static void scatter_read(void *vctx, int64_t begin, int64_t end, int tid) {
    scatter_ctx *c = vctx;
    uint64_t x = 0;
    for (int64_t k = begin; k < end; k++) x ^= edge_membw_xor(c->buf + (size_t)c->units[k] * c->unit, c->unit);
    c->sinks[tid].value ^= x;
}

double edge_membw_scattered(edge_pool *pool, size_t bytes, size_t unit, double density, int passes) {
    if (passes < 1) passes = 1;
    unit = (unit + 255) / 256 * 256;
    if (unit == 0) unit = 256;
    bytes = (bytes + MEMBW_ALIGN - 1) / MEMBW_ALIGN * MEMBW_ALIGN;
    if (bytes < MEMBW_ALIGN) bytes = MEMBW_ALIGN;
    const int64_t n = (int64_t)(bytes / unit);
    uint8_t *buf = aligned_alloc(MEMBW_ALIGN, bytes);
    int64_t *units = malloc((size_t)n * sizeof(int64_t));
    const int nthreads = edge_pool_threads(pool);
    membw_sink *sinks = aligned_alloc(64, sizeof(membw_sink) * (size_t)nthreads);
    if (!buf || !units || !sinks) { free(buf); free(units); free(sinks); return -1; }
    memset(sinks, 0, sizeof(membw_sink) * (size_t)nthreads);
#ifdef MADV_HUGEPAGE
    madvise(buf, bytes, MADV_HUGEPAGE);
#endif
    membw_ctx fill = { buf, sinks };
    edge_pool_for(pool, (int64_t)(bytes / MEMBW_ITEM), MEMBW_CHUNK, membw_fill, &fill);
    // Which units a pass reads: a fixed pseudo-random subset (splitmix64 of the index), ascending.
    int64_t k = 0;
    const uint64_t cut = density >= 1 ? UINT64_MAX : (uint64_t)(density * 18446744073709551615.0);
    for (int64_t i = 0; i < n; i++) {
        uint64_t z = (uint64_t)i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        if (density >= 1 || z < cut) units[k++] = i;
    }
    scatter_ctx ctx = { buf, unit, units, sinks };
    int64_t chunk = k / (8 * (int64_t)nthreads);
    if (chunk < 1) chunk = 1;
    double best = 0;
    for (int p = 0; p < passes && k > 0; p++) {
        const double t0 = membw_now();
        edge_pool_for(pool, k, chunk, scatter_read, &ctx);
        const double dt = membw_now() - t0;
        const double useful = (double)k * (double)unit;
        if (dt > 0 && useful / dt > best) best = useful / dt;
    }
    uint64_t all = 0;
    for (int i = 0; i < nthreads; i++) all ^= sinks[i].value;
    __asm__ volatile("" : : "r"(all) : "memory");
    free(sinks);
    free(units);
    free(buf);
    return best;
}
