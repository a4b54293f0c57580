#ifndef EDGE_FAULT_H
#define EDGE_FAULT_H

#include <stddef.h>
#include <stdint.h>

/// Most mapped regions guarded at once (one per open model file; the table is fixed so that the
/// signal handler never allocates or locks).
#define EDGE_FAULT_MAX_REGIONS 64

/// Guards the file mapping [base, base + size) against SIGBUS: when the file is truncated while
/// it is mapped, touching a page past its new end raises SIGBUS, which by default kills the
/// process. Inside a guarded region the handler instead replaces the mapping from the faulting
/// page to the region's end with anonymous zero pages (so the access is retried and reads zeros)
/// and counts the fault; the owner checks the count at its next checkpoint and reports the file
/// as changed. A SIGBUS outside every guarded region goes to the handler installed before (or
/// the default action). Returns the region's slot, or -1 when the table is full or the handler
/// could not be installed.
int edge_fault_guard(const void *base, size_t size);

/// Stops guarding `slot` (before the mapping is unmapped).
void edge_fault_unguard(int slot);

/// SIGBUS faults taken inside `slot` since it was guarded (0: every page read was the file's).
uint64_t edge_fault_count(int slot);

#endif
