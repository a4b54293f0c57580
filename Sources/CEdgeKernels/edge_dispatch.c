// edge_dispatch.c — run-time ISA detection and the dispatched kernel entry points.
//
// One table of kernels per ISA is built once (scalar reference wrappers, then AVX2 slots, then
// AVX-512 slots over the AVX2 ones). Each entry point looks its kernel up once per call, so a
// matvec over thousands of rows pays one indirect lookup, not one per row.
#include "edge_simd.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// ---- ISA detection ----

static uint64_t edge_xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

int edge_isa_detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return EDGE_ISA_SCALAR;
    const int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1, avx = (c >> 28) & 1;
    if (!osxsave || !avx) return EDGE_ISA_SCALAR;
    const uint64_t xcr0 = edge_xgetbv0();
    const int os_ymm = (xcr0 & 0x6) == 0x6;           // XMM and YMM state enabled by the OS
    const int os_zmm = (xcr0 & 0xe6) == 0xe6;         // plus opmask, ZMM_Hi256, Hi16_ZMM
    if (__get_cpuid_max(0, NULL) < 7) return EDGE_ISA_SCALAR;
    __cpuid_count(7, 0, a, b, c, d);
    const int avx2 = (b >> 5) & 1;
    const int avx512f = (b >> 16) & 1, avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
    const int avx512vnni = (c >> 11) & 1;
    if (!os_ymm || !avx2 || !fma || !f16c) return EDGE_ISA_SCALAR;
    if (os_zmm && avx512f && avx512bw && avx512vl && avx512vnni) return EDGE_ISA_AVX512;
    return EDGE_ISA_AVX2;
}

// AMX (Sapphire Rapids and later): CPUID.(7,0).EDX bit 24 AMX-TILE, 25 AMX-INT8; the OS must
// enable the tile state in XCR0 (bits 17 XTILECFG, 18 XTILEDATA), and Linux hands the 8 KiB tile
// data state to a process only after arch_prctl(ARCH_REQ_XCOMP_PERM, 18) (kernel 5.16+).
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

int edge_amx_status(void) {
    unsigned a, b, c, d;
    if (__get_cpuid_max(0, NULL) < 7) return EDGE_AMX_ABSENT;
    __cpuid_count(7, 0, a, b, c, d);
    const int tile = (d >> 24) & 1, int8 = (d >> 25) & 1;
    if (!tile || !int8) return EDGE_AMX_ABSENT;
    __get_cpuid(1, &a, &b, &c, &d);
    if (!((c >> 27) & 1)) return EDGE_AMX_OS_DISABLED;  // no OSXSAVE: XCR0 unreadable
    if ((edge_xgetbv0() & (3ull << 17)) != (3ull << 17)) return EDGE_AMX_OS_DISABLED;
#if defined(__linux__)
    // ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 (arch/x86/include/uapi/asm/prctl.h)
    if (syscall(SYS_arch_prctl, 0x1023, 18) != 0) return EDGE_AMX_OS_DISABLED;
#endif
    return EDGE_AMX_USABLE;
}

// The ISA the entry points use. -1 until first use; then set by detection (capped by the
// EDGERT_ISA environment variable: "scalar", "avx2" or "avx512", never above what the CPU has) or
// by edge_isa_force. The cap is for comparing kernels' arithmetic on one host (the suite's
// perplexity bounds were set that way) and for ruling a kernel out when hunting a wrong result.
static _Atomic int edge_isa_selected = -1;

int edge_isa_current(void) {
    int isa = atomic_load_explicit(&edge_isa_selected, memory_order_relaxed);
    if (isa < 0) {
        isa = edge_isa_detect();  // idempotent, so a race between first callers is harmless
        const char *cap = getenv("EDGERT_ISA");
        if (cap && strcmp(cap, "scalar") == 0) isa = EDGE_ISA_SCALAR;
        else if (cap && strcmp(cap, "avx2") == 0 && isa > EDGE_ISA_AVX2) isa = EDGE_ISA_AVX2;
        atomic_store_explicit(&edge_isa_selected, isa, memory_order_relaxed);
    }
    return isa;
}

int edge_isa_force(int isa) {
    const int best = edge_isa_detect();
    if (isa < EDGE_ISA_SCALAR) isa = EDGE_ISA_SCALAR;
    if (isa > best) isa = best;
    atomic_store_explicit(&edge_isa_selected, isa, memory_order_relaxed);
    return isa;
}

// ---- scalar reference wrappers (the fallback in every table) ----

#define EDGE_REF_QUANT(T) \
    static void ref_quantize_##T(const float *x, void *y, int64_t n) { \
        (void)edge_quantize_act_ref(EDGE_TYPE_##T, x, y, n); }
#define EDGE_REF_DOT(T) \
    static float ref_vec_dot_##T(int64_t n, const void *w, const void *a) { \
        return edge_vec_dot_ref(EDGE_TYPE_##T, n, w, a); }

EDGE_REF_QUANT(F32) EDGE_REF_QUANT(F16) EDGE_REF_QUANT(BF16)
EDGE_REF_QUANT(Q8_0) EDGE_REF_QUANT(Q8_1) EDGE_REF_QUANT(Q8_K)
EDGE_REF_DOT(F32) EDGE_REF_DOT(F16) EDGE_REF_DOT(BF16)
EDGE_REF_DOT(Q4_0) EDGE_REF_DOT(Q4_1) EDGE_REF_DOT(Q5_0) EDGE_REF_DOT(Q5_1) EDGE_REF_DOT(Q8_0)
EDGE_REF_DOT(Q4_K) EDGE_REF_DOT(Q5_K) EDGE_REF_DOT(Q6_K)
EDGE_REF_DOT(Q2_K) EDGE_REF_DOT(Q3_K) EDGE_REF_DOT(IQ4_NL) EDGE_REF_DOT(IQ4_XS)

static void edge_ref_register(edge_kernel_table *t) {
#define Q(T) t->quantize[EDGE_TYPE_##T] = ref_quantize_##T;
#define D(T) t->vec_dot[EDGE_TYPE_##T] = ref_vec_dot_##T;
    Q(F32) Q(F16) Q(BF16) Q(Q8_0) Q(Q8_1) Q(Q8_K)
    D(F32) D(F16) D(BF16) D(Q4_0) D(Q4_1) D(Q5_0) D(Q5_1) D(Q8_0) D(Q4_K) D(Q5_K) D(Q6_K)
    D(Q2_K) D(Q3_K) D(IQ4_NL) D(IQ4_XS)
#undef Q
#undef D
}

// ---- the tables, one per ISA, built once ----

static edge_kernel_table edge_tables[3];
static pthread_once_t edge_tables_once = PTHREAD_ONCE_INIT;

static void edge_tables_build(void) {
    edge_ref_register(&edge_tables[EDGE_ISA_SCALAR]);
    edge_tables[EDGE_ISA_AVX2] = edge_tables[EDGE_ISA_SCALAR];
    edge_avx2_register(&edge_tables[EDGE_ISA_AVX2]);
    edge_tables[EDGE_ISA_AVX512] = edge_tables[EDGE_ISA_AVX2];
    edge_avx512_register(&edge_tables[EDGE_ISA_AVX512]);
}

static const edge_kernel_table *edge_table(void) {
    pthread_once(&edge_tables_once, edge_tables_build);
    return &edge_tables[edge_isa_current()];
}

static edge_vec_dot_fn edge_dot_fn(int weight_type) {
    if (weight_type < 0 || weight_type >= EDGE_TYPE_SLOTS) return NULL;
    return edge_table()->vec_dot[weight_type];
}

// ---- dispatched entry points ----

int edge_quantize_act(int act_type, const float *x, void *y, int64_t n) {
    if (act_type < 0 || act_type >= EDGE_TYPE_SLOTS) return -1;
    const edge_quantize_fn f = edge_table()->quantize[act_type];
    if (!f) return -1;
    f(x, y, n);
    return 0;
}

float edge_vec_dot(int weight_type, int64_t n, const void *w, const void *a) {
    const edge_vec_dot_fn f = edge_dot_fn(weight_type);
    return f ? f(n, w, a) : edge_vec_dot_ref(weight_type, n, w, a);
}

// Rows ahead of the current one whose first bytes are prefetched. The hardware prefetcher follows
// a row once it is streaming; the hint covers the jump to the next row (a new 4 KiB page).
#define EDGE_PREFETCH_ROWS 2

void edge_matvec(int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                 int64_t r0, int64_t r1, const void *a, float *y) {
    const edge_vec_dot_fn f = edge_dot_fn(weight_type);
    const char *base = (const char *)W;
    for (int64_t r = r0; r < r1; r++) {
        if (r + EDGE_PREFETCH_ROWS < r1) {
            const char *next = base + (size_t)(r + EDGE_PREFETCH_ROWS) * w_row_bytes;
            __builtin_prefetch(next, 0, 0);
            __builtin_prefetch(next + 64, 0, 0);
        }
        const void *w = base + (size_t)r * w_row_bytes;
        y[r - r0] = f ? f(n, w, a) : edge_vec_dot_ref(weight_type, n, w, a);
    }
}

// Rows per tile: a tile of weight rows stays in L2 while every activation column passes over it.
// 16 rows of a 4096-wide Q8_0 matrix are ~70 KiB.
#define EDGE_MATMUL_ROW_TILE 16
// Fewest tokens for which the ISA's tiled matmul (when it has one) is used: below this, decoding the
// weight rows into the tiled form costs more than it saves. (Either path gives the same bits.)
#define EDGE_MATMUL_MIN_TILED 4

void edge_matmul(int weight_type, int64_t n, const void *W, size_t w_row_bytes,
                 int64_t r0, int64_t r1, const void *A, size_t a_row_bytes, int64_t ncols,
                 float *Y, int64_t y_stride) {
    if (ncols >= EDGE_MATMUL_MIN_TILED && weight_type >= 0 && weight_type < EDGE_TYPE_SLOTS) {
        const edge_matmul_fn m = edge_table()->matmul[weight_type];
        if (m && m(n, W, w_row_bytes, r0, r1, A, a_row_bytes, ncols, Y, y_stride) == 0) return;
    }
    const edge_vec_dot_fn f = edge_dot_fn(weight_type);
    const char *wbase = (const char *)W, *abase = (const char *)A;
    for (int64_t rt = r0; rt < r1; rt += EDGE_MATMUL_ROW_TILE) {
        const int64_t re = rt + EDGE_MATMUL_ROW_TILE < r1 ? rt + EDGE_MATMUL_ROW_TILE : r1;
        for (int64_t c = 0; c < ncols; c++) {
            const void *a = abase + (size_t)c * a_row_bytes;
            float *yc = Y + c * y_stride;
            for (int64_t r = rt; r < re; r++) {
                const void *w = wbase + (size_t)r * w_row_bytes;
                yc[r] = f ? f(n, w, a) : edge_vec_dot_ref(weight_type, n, w, a);
            }
        }
    }
}

void edge_packed_matmul(int weight_type, int64_t n, const void *P, int64_t r0, int64_t r1,
                        const void *A, size_t a_row_bytes, int64_t ncols, float *Y, int64_t y_stride) {
    const edge_packed_matmul_fn f = weight_type >= 0 && weight_type < EDGE_TYPE_SLOTS && edge_packed_supported(weight_type)
        ? edge_table()->packed[weight_type] : NULL;
    if (f) f(n, P, r0, r1, A, a_row_bytes, ncols, Y, y_stride);
    else edge_packed_matmul_ref(weight_type, n, P, r0, r1, A, a_row_bytes, ncols, Y, y_stride);
}

// ---- stream modes (edge_packed.h) ----
static _Atomic int edge_stream_modes[EDGE_TYPE_SLOTS] = {
    [EDGE_TYPE_Q2_K] = 8192, [EDGE_TYPE_Q3_K] = 8192, [EDGE_TYPE_Q4_K] = 8192,
    [EDGE_TYPE_Q5_K] = 8192, [EDGE_TYPE_Q6_K] = 8192, [EDGE_TYPE_IQ4_XS] = 8192,
};

int edge_stream_mode_tunable(int t) {
    return t == EDGE_TYPE_Q2_K || t == EDGE_TYPE_Q3_K || t == EDGE_TYPE_Q4_K || t == EDGE_TYPE_Q5_K ||
           t == EDGE_TYPE_Q6_K || t == EDGE_TYPE_IQ4_XS;
}

int edge_stream_mode_get(int t) {
    if (t < 0 || t >= EDGE_TYPE_SLOTS) return 0;
    return atomic_load_explicit(&edge_stream_modes[t], memory_order_relaxed);
}

int edge_stream_mode_set(int t, int mode) {
    if (t < 0 || t >= EDGE_TYPE_SLOTS || !edge_stream_mode_tunable(t) || mode < EDGE_STREAM_TOUCH) return -1;
    atomic_store_explicit(&edge_stream_modes[t], mode, memory_order_relaxed);
    return 0;
}
