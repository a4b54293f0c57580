// SIGBUS inside a guarded file mapping -> zero pages and a counted fault (see edge_fault.h).
#define _GNU_SOURCE
#include "edge_fault.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
    _Atomic uintptr_t start;  // 0: the slot is free
    _Atomic uintptr_t end;
    _Atomic uint64_t faults;
} guarded_region;

static guarded_region regions[EDGE_FAULT_MAX_REGIONS];
static struct sigaction previous_action;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static _Atomic int installed;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_sigbus(int sig, siginfo_t *info, void *context) {
    uintptr_t address = (uintptr_t)info->si_addr;
    for (int i = 0; i < EDGE_FAULT_MAX_REGIONS; i++) {
        uintptr_t start = atomic_load_explicit(&regions[i].start, memory_order_acquire);
        uintptr_t end = atomic_load_explicit(&regions[i].end, memory_order_acquire);
        if (start == 0 || address < start || address >= end) continue;
        uintptr_t page_size = (uintptr_t)sysconf(_SC_PAGESIZE);
        uintptr_t page = address & ~(page_size - 1);
        // The file ends before `page` now, so every later page of the region faults too: replace
        // them all at once. mmap is a plain system call on Linux (not on POSIX's list of
        // async-signal-safe functions, but it takes no user-space lock).
        void *p = mmap((void *)page, end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) break;
        atomic_fetch_add_explicit(&regions[i].faults, 1, memory_order_release);
        return;
    }
    // Not ours: whatever handled SIGBUS before, else the default action when the access re-faults.
    if ((previous_action.sa_flags & SA_SIGINFO) && previous_action.sa_sigaction) {
        previous_action.sa_sigaction(sig, info, context);
        return;
    }
    if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN && previous_action.sa_handler) {
        previous_action.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);
}

static void install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGBUS, &action, &previous_action) == 0) atomic_store(&installed, 1);
}

int edge_fault_guard(const void *base, size_t size) {
    if (!base || size == 0) return -1;
    pthread_once(&install_once, install);
    if (!atomic_load(&installed)) return -1;
    pthread_mutex_lock(&table_lock);
    int slot = -1;
    for (int i = 0; i < EDGE_FAULT_MAX_REGIONS; i++) {
        if (atomic_load(&regions[i].start) == 0) {
            atomic_store(&regions[i].faults, 0);
            atomic_store(&regions[i].end, (uintptr_t)base + size);
            atomic_store_explicit(&regions[i].start, (uintptr_t)base, memory_order_release);
            slot = i;
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return slot;
}

void edge_fault_unguard(int slot) {
    if (slot < 0 || slot >= EDGE_FAULT_MAX_REGIONS) return;
    pthread_mutex_lock(&table_lock);
    atomic_store_explicit(&regions[slot].start, 0, memory_order_release);
    atomic_store(&regions[slot].end, 0);
    pthread_mutex_unlock(&table_lock);
}

uint64_t edge_fault_count(int slot) {
    if (slot < 0 || slot >= EDGE_FAULT_MAX_REGIONS) return 0;
    return atomic_load_explicit(&regions[slot].faults, memory_order_acquire);
}
