// edge_avx512.c — the x86 kernels built for AVX-512 F/BW/VL/VNNI (Ice Lake, Sapphire Rapids, Zen 4
// and later). Same 256-bit kernels as edge_avx2.c, but the integer products use VPDPBUSD /
// VPDPWSSD and the bit spreading uses mask registers. 256-bit vectors are enough here: one legacy
// block is exactly 32 bytes, and generation is bound by memory bandwidth, not by issue width.
#define EDGE_X86_TARGET "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c"
#define EDGE_X86_AVX512 1
#include "edge_x86_kernels.h"

void edge_avx512_register(edge_kernel_table *t) { edge_x86_register(t); }
