// edge_hostinfo.h — what `edgert profile` asks the processor and the disk directly: CPUID, the OS's
// enabled register state, a CPU's core type, and the timed loops of the memory and storage probes.
// (EdgeTopology decodes and assembles; this file only executes the instructions and system calls.)
#pragma once
#include <stdint.h>
#include <stddef.h>
#include "edge_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

// CPUID leaf/subleaf into regs = {eax, ebx, ecx, edx}. Returns 1 on x86 (for a leaf above the
// maximum the processor answers as it does, usually with its highest basic leaf), 0 elsewhere.
int edge_host_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t regs[4]);

// XCR0 (the register state the OS saves: bits 1-2 SSE/AVX, 5-7 AVX-512, 17-18 AMX tiles), or 0
// when the OS does not enable XSAVE or the CPU is not x86.
uint64_t edge_host_xcr0(void);

// CPUID leaf 0x1A EAX bits 31-24 read on CPU `cpu` (a short-lived thread pinned there):
// 0x20 Intel Atom (efficiency), 0x40 Intel Core (performance). Returns -1 when the thread cannot
// run on that CPU, 0 when the leaf is absent (not hybrid, or not x86).
int edge_host_core_type(int cpu);

// Writes a distinct value into every 64-bit word of buf[0, bytes) with the pool's threads (the
// pages land where the buffer's memory policy says), then reads it `passes` times with all of them
// as edge_membw_read does. Returns the fastest pass in bytes per second. bytes: a multiple of
// 1 MiB; buf 64-byte aligned. For reading another NUMA node's memory (numa_alloc_onnode).
double edge_host_membw_read_buffer(edge_pool *pool, void *buf, size_t bytes, int passes);

// Reads file bytes [0, file_bytes) of fd with `threads` threads, each reading requests of
// `request_bytes` (a multiple of 4096) in turn: thread t reads requests t, t + threads, ...; so
// `threads` requests are in flight. Returns the seconds taken, or -errno of the first failed read.
double edge_host_read_parallel(int fd, int64_t file_bytes, int64_t request_bytes, int threads);
// The same over file bytes [offset, offset + bytes); offset a multiple of 4096.
double edge_host_read_range(int fd, int64_t offset, int64_t bytes, int64_t request_bytes, int threads);

// Read bandwidth of a working set: `bytes` split into one slice per pool thread (each written by
// its thread), then every thread reading its slice over and over, `bytes_per_pass` bytes in all
// per timed pass (at least one read of the set), after one untimed pass that brings the set into
// whatever caches hold it. Returns the median of `passes` (1-64) passes in bytes per second, or -1
// when the buffer cannot be allocated. Sets the pool's balance to static for the call.
double edge_host_membw_working_set(edge_pool *pool, size_t bytes, int passes, size_t bytes_per_pass);

// `count` reads of 4096 bytes, one at a time, at random 4096-aligned offsets below file_bytes
// (seeded xorshift), stopping early once `max_seconds` have passed. lat_us[i] receives the
// latency of read i in microseconds. Returns the number of reads made, or -errno of a failed read.
int64_t edge_host_random_reads(int fd, int64_t file_bytes, int64_t count, uint64_t seed,
                               double max_seconds, double *lat_us);

#ifdef __cplusplus
}
#endif
