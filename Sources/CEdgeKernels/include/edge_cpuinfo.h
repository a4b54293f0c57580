// edge_cpuinfo.h — core types of hybrid CPUs, from CPUID.
//
// Intel's hybrid parts (Alder Lake and later) mix performance and efficiency cores. CPUID leaf 7
// (subleaf 0) EDX bit 15 says the package is hybrid; leaf 0x1A EAX[31:24], read on a core, says
// that core's type: 0x20 an Atom (efficiency) core, 0x40 a Core (performance) core (Intel SDM,
// vol. 2A, CPUID, "Hybrid Information Enumeration Leaf"). Other CPUs (AMD, non-x86, and this
// development VM's EPYC) report not hybrid, and every core reads as EDGE_CORE_UNIFORM.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

enum {
    EDGE_CORE_UNIFORM = 0,        // not a hybrid CPU: all cores alike
    EDGE_CORE_EFFICIENCY = 0x20,  // Intel Atom core type
    EDGE_CORE_PERFORMANCE = 0x40, // Intel Core core type
    EDGE_CORE_UNREADABLE = -1,    // could not run on that CPU (not in this process's mask, offline)
};

// 1 if CPUID says this is a hybrid CPU, else 0. Cheap (one CPUID, on the calling thread).
int edge_cpu_is_hybrid(void);

// For each of the n CPU ids in `cpus`, its core type (one of the values above, or another leaf
// 0x1A core-type byte a future CPU may report) in types[i]. On a hybrid CPU this starts one thread
// that pins itself to each CPU in turn and reads CPUID there; on other CPUs it starts nothing.
// Returns 0, or -1 when the helper thread could not be started (types are then all UNREADABLE).
int edge_cpu_core_types(const int *cpus, int n, int *types);

#ifdef __cplusplus
}
#endif
