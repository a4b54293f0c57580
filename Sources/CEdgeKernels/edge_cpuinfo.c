// edge_cpuinfo.c — see edge_cpuinfo.h.
#define _GNU_SOURCE
#include "edge_cpuinfo.h"
#include <pthread.h>
#include <sched.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
static unsigned max_leaf(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
    return a;
}
#endif

int edge_cpu_is_hybrid(void) {
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (max_leaf() < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (d >> 15) & 1;
#else
    return 0;
#endif
}

typedef struct { const int *cpus; int n; int *types; } core_type_job;

static void *read_core_types(void *arg) {
    core_type_job *job = arg;
    for (int i = 0; i < job->n; i++) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(job->cpus[i], &set);
        job->types[i] = EDGE_CORE_UNREADABLE;
        if (job->cpus[i] < 0 || job->cpus[i] >= CPU_SETSIZE) continue;
        if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) continue;
        sched_yield();  // the new mask takes effect at the latest when the thread next runs
        if (sched_getcpu() != job->cpus[i]) continue;
#if defined(__x86_64__) || defined(__i386__)
        unsigned a, b, c, d;
        __cpuid_count(0x1A, 0, a, b, c, d);
        job->types[i] = (int)(a >> 24);
#endif
    }
    return NULL;
}

int edge_cpu_core_types(const int *cpus, int n, int *types) {
    int hybrid = edge_cpu_is_hybrid();
#if defined(__x86_64__) || defined(__i386__)
    if (hybrid && max_leaf() < 0x1A) hybrid = 0;
#endif
    if (!hybrid) {
        for (int i = 0; i < n; i++) types[i] = EDGE_CORE_UNIFORM;
        return 0;
    }
    // A thread of its own, so the caller's affinity is never touched.
    core_type_job job = { cpus, n, types };
    pthread_t t;
    if (pthread_create(&t, NULL, read_core_types, &job) != 0) {
        for (int i = 0; i < n; i++) types[i] = EDGE_CORE_UNREADABLE;
        return -1;
    }
    pthread_join(t, NULL);
    return 0;
}
