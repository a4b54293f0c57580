// edge_membw.h — main-memory read bandwidth, the roofline of generation (which reads every weight
// once per token).
#pragma once
#include <stddef.h>
#include "edge_pool.h"

#ifdef __cplusplus
extern "C" {
#endif

// Allocates `bytes` (rounded up to 2 MiB), writes it once from the pool's threads (every word
// distinct, so every page is really backed: no zero page, nothing a host could merge), then reads
// it `passes` times with all of the pool's threads, each taking 1 MiB chunks in turn, with the
// widest loads the dispatched ISA has (AVX-512, AVX2, else portable 64-bit loads). Returns the
// fastest pass in bytes per second, or -1 if the buffer could not be allocated. `bytes` should be several times the last-level cache,
// or the figure is the cache's bandwidth, not memory's. Call from the thread that drives the pool.
double edge_membw_read(edge_pool *pool, size_t bytes, int passes);

// Reads a pseudo-random fraction `density` of the `unit`-byte pieces (unit rounded up to 256) of a
// fresh buffer of `bytes`, in ascending address order, with all of the pool's threads: the access
// pattern of a sparse pass that reads only the rows (or columns) of selected neurons. Returns the
// fastest of `passes` passes in bytes read per second (the pieces read, not the buffer), or -1 if
// the buffer could not be allocated. density 1 reads every piece, in order.
double edge_membw_scattered(edge_pool *pool, size_t bytes, size_t unit, double density, int passes);

// The loop edge_membw_read times, over one range: returns the XOR of every 64-bit word of
// buf[0, bytes) (bytes a multiple of 256, buf 64-byte aligned). Each ISA's variant must give the
// same value; the tests check them against the portable one.
unsigned long long edge_membw_xor(const void *buf, size_t bytes);
unsigned long long edge_membw_xor_generic(const void *buf, size_t bytes);

#ifdef __cplusplus
}
#endif
