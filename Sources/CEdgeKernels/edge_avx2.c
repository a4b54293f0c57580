// edge_avx2.c — the x86 kernels built for AVX2 + FMA + F16C (Haswell and later, Zen). The integer
// products go through VPMADDUBSW + VPMADDWD. Per-function target attributes only: this file is
// safe to link into a binary that runs on any x86-64; edge_dispatch.c calls in only after CPUID.
#define EDGE_X86_TARGET "avx2,fma,f16c"
#define EDGE_X86_AVX512 0
#include "edge_x86_kernels.h"
#include "edge_x86_packed.h"

void edge_avx2_register(edge_kernel_table *t) {
    edge_x86_register(t);
    edge_x86_packed_register(t);
}
