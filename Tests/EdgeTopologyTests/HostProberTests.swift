import EdgeCore
import EdgeKernels
import EdgeTopology
import XCTest

/// Profiles assembled from fake hosts: core classes from CPUID, NUMA nodes from libnuma, the disk
/// and GPUs from /sys and /proc, figures from fake measurements.
final class HostProberTests: XCTestCase {
    private let date = Date(timeIntervalSince1970: 1_750_000_000)

    func testHybridCPUGetsOneClassPerCoreTypeWithMeasuredRelativeSpeed() async throws {
        let host = FakeHost.hybridLaptop()
        var speed: [Int: Double] = [:]
        for cpu in 0..<10 { speed[cpu] = cpu < 4 ? 20e9 : cpu < 8 ? 11e9 : 5e9 }
        let r = try await HostProber(system: host, benchmarks: FakeBenchmarks(cpuSpeed: speed),
                                     options: .test(storage: "/models")).probe(date: date)
        let p = r.profile
        try p.validate(file: "probed")
        XCTAssertEqual(p.host.name, "intel-core-ultra-7-155h-10c")
        XCTAssertEqual(p.cpu.model, "Intel(R) Core(TM) Ultra 7 155H")
        XCTAssertTrue(p.cpu.hybrid)
        XCTAssertEqual(p.cpu.features, ["avx2"], "AVX-512 is not listed when the OS does not save its state")
        XCTAssertEqual(p.cpu.coreClasses.map(\.type), ["performance", "efficiency", "low-power efficiency"])
        XCTAssertEqual(p.cpu.coreClasses.map(\.cpus), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]])
        XCTAssertEqual(p.cpu.coreClasses.map(\.relativeSpeed.value), [1, 0.55, 0.25])
        XCTAssertTrue(p.cpu.coreClasses.allSatisfy { $0.relativeSpeed.source.hasPrefix("measured") })
        // Kernels per class, timed on a CPU of that class.
        let e = p.cpu.coreClasses[1]
        XCTAssertEqual(e.kernels.map(\.weightType), ["Q4_0", "Q8_0"])
        XCTAssertEqual(e.kernels[1].matvecGBPerS.value, 22)
        XCTAssertEqual(e.kernels[0].matmulGflops.value, 110)
        XCTAssertTrue(e.kernels[0].matvecGBPerS.source.contains("pinned on CPU 4"), e.kernels[0].matvecGBPerS.source)
        XCTAssertEqual(r.slowCPUs, [])
        // Storage: the partition's disk.
        XCTAssertEqual(p.storage.map(\.name), ["nvme0n1"])
        XCTAssertEqual(p.storage.first?.kind, "nvme")
        XCTAssertEqual(p.storage.first?.sequentialReadGBPerS.value, 3.2)
        XCTAssertEqual(p.storage.first?.random4KLatencyUs?.p50.value, 50)
        XCTAssertEqual(p.storage.first?.random4KLatencyUs?.p99.value, 99)
        XCTAssertEqual(p.gpus, [])
        XCTAssertEqual(p.memory.totalBytes.value, 32768000 * 1024)
        XCTAssertEqual(p.memory.availableBytes.value, 30000000 * 1024)
        // Memory bandwidth "one core" on a performance core.
        XCTAssertTrue(p.numa.nodes[0].readGBPerSOneCore.source.contains("CPU 0"), p.numa.nodes[0].readGBPerSOneCore.source)
    }

    func testTwoNodeHostHasPerNodeAndCrossNodeBandwidthAndTheGPU() async throws {
        let host = FakeHost.twoNodeServerWithGPU()
        let bench = FakeBenchmarks(cpuSpeed: Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 15e9) }))
        let r = try await HostProber(system: host, benchmarks: bench, options: .test(storage: nil)).probe(name: "lab-server", date: date)
        let p = r.profile
        try p.validate(file: "probed")
        XCTAssertEqual(p.host.name, "lab-server")
        XCTAssertTrue(p.host.description.contains("KVM guest"), p.host.description)
        XCTAssertFalse(p.cpu.hybrid)
        XCTAssertEqual(p.cpu.features, ["avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8"])
        XCTAssertEqual(p.cpu.coreClasses.map(\.type), ["uniform"])
        XCTAssertEqual(p.numa.nodes.map(\.id), [0, 1])
        XCTAssertEqual(p.numa.nodes.map(\.cpus), [[0, 1, 2, 3], [4, 5, 6, 7]])
        XCTAssertEqual(p.numa.nodes.map(\.memoryBytes.value), [Double(16 << 30), Double(16 << 30)])
        XCTAssertEqual(p.numa.distances, [[10, 21], [21, 10]])
        XCTAssertEqual(p.numa.nodes[1].readGBPerSOneCore.value, 10)
        XCTAssertEqual(p.numa.nodes[1].readGBPerSAllCores.value, 20)
        XCTAssertEqual(p.numa.crossNodeReadGBPerS?.value, 7)
        XCTAssertTrue(bench.calls.all.contains("memory [4, 5, 6, 7]"), "\(bench.calls.all)")
        XCTAssertTrue(bench.calls.all.contains("cross [0, 1, 2, 3] node 1"), "\(bench.calls.all)")
        XCTAssertEqual(p.storage, [], "no storage directory was given")
        XCTAssertEqual(p.gpus.map(\.id), [.gpu(0)])
        XCTAssertEqual(p.gpus.first?.name, "NVIDIA GeForce RTX 4060")
        XCTAssertEqual(p.gpus.first?.linkGBPerS.value ?? 0, 31.51, accuracy: 0.01)
        XCTAssertTrue(p.gpus.first?.memoryBytes.isEstimate ?? false, "the NVIDIA driver does not give the memory size")
        // The profile survives its own JSON.
        XCTAssertEqual(try HostProfile.decode(p.encoded(), file: "round trip"), p)
    }

    func testTheHierarchyIsMeasuredAtEveryWorkingSetAndTheKernelsFromMemory() async throws {
        var host = FakeHost.twoNodeServerWithGPU()
        for (i, level, type, size, shared) in [(0, 1, "Data", "48K", "0"), (1, 1, "Instruction", "32K", "0"),
                                              (2, 2, "Unified", "2048K", "0"), (3, 3, "Unified", "105M", "0-3")] {
            let d = "/sys/devices/system/cpu/cpu0/cache/index\(i)"
            host.files["\(d)/level"] = "\(level)\n"
            host.files["\(d)/type"] = "\(type)\n"
            host.files["\(d)/size"] = "\(size)\n"
            host.files["\(d)/shared_cpu_list"] = "\(shared)\n"
        }
        host.directories["/sys/devices/system/cpu/cpu0/cache"] = ["index3", "index1", "index0", "index2", "uevent"]
        var bench = FakeBenchmarks(cpuSpeed: Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 15e9) }))
        bench.storageResult.curve = [StorageCurvePoint(requestBytes: 1 << 20, inFlight: 4, bytesPerSecond: 2.5e9, passes: [2.4e9, 2.5e9, 2.6e9])]
        let options = ProbeOptions.test(storage: "/models")
        let r = try await HostProber(system: host, benchmarks: bench, options: options).probe(name: "t", date: date)
        let p = r.profile
        try p.validate(file: "probed")
        XCTAssertEqual(p.schemaVersion, HostProfile.currentVersion)
        // Caches: data and unified levels only, innermost first, with their sharing.
        XCTAssertEqual(p.cpu.caches?.map(\.level), [1, 2, 3])
        XCTAssertEqual(p.cpu.caches?.map(\.bytes.value), [Double(48 << 10), Double(2 << 20), Double(105 << 20)])
        XCTAssertEqual(p.cpu.caches?.map(\.sharedByCPUs), [1, 1, 4])
        XCTAssertEqual(p.cpu.lastLevelCacheBytes, Double(105 << 20))
        // The curve: every size of the options, for each node, one core and all its cores.
        for node in p.numa.nodes {
            let curve = try XCTUnwrap(node.readCurve)
            XCTAssertEqual(curve.map(\.workingSetBytes), options.curveSizes)
            XCTAssertEqual(options.curveSizes.first, 16 << 10)
            XCTAssertEqual(options.curveSizes.last, options.memoryProbeBytes)
            // FakeBenchmarks: 100 GB/s a thread up to 1 MiB a thread, 40 GB/s to 32 MiB, then 10·√n.
            XCTAssertEqual(curve.first?.oneCoreGBPerS.value, 100)
            XCTAssertEqual(curve.first?.allCoresGBPerS.value, 400)
            XCTAssertEqual(curve.first { $0.workingSetBytes == 16 << 20 }?.allCoresGBPerS.value, 40)
            XCTAssertEqual(curve.last?.allCoresGBPerS.value, 20)
            XCTAssertTrue(bench.calls.all.contains("working set \(node.cpus) \(16 << 10)"), "\(bench.calls.all)")
        }
        // Kernels from memory, for every type timed in cache.
        let kernels = p.cpu.coreClasses[0].kernels
        XCTAssertEqual(kernels.map(\.weightType), ["Q4_0", "Q8_0"])
        XCTAssertEqual(kernels.map { $0.matvecDRAMGBPerS?.value }, [8, 8])
        // The disk curve, from the storage probe's medians.
        XCTAssertEqual(p.storage.first?.readCurve, [HostProfile.DiskPoint(requestBytes: 1 << 20, inFlight: 4, gbPerS: p.storage[0].readCurve![0].gbPerS)])
        XCTAssertEqual(p.storage.first?.readCurve?.first?.gbPerS.value, 2.5)
        XCTAssertEqual(try HostProfile.decode(p.encoded(), file: "round trip"), p)
    }

    /// The K kernels' memory access modes: each tried from memory, the fastest recorded with every
    /// mode's rate in the source, and set for the kernels by `KernelMemoryAccess.apply`.
    func testTheFastestMemoryAccessIsRecordedAndApplied() async throws {
        var options = ProbeOptions.test(storage: nil)
        options.kernelTypes = [.q4_K, .q6_K, .q8_0]
        let bench = FakeBenchmarks(cpuSpeed: Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 6e9) }))
        let p = try await HostProber(system: FakeHost.twoNodeServerWithGPU(), benchmarks: bench, options: options).probe(name: "t", date: date).profile
        let kernels = p.cpu.coreClasses[0].kernels
        XCTAssertEqual(kernels.map(\.weightType), ["Q4_K", "Q6_K", "Q8_0"])
        XCTAssertEqual(kernels.map(\.matvecDRAMAccess), ["hardware", "touch", nil])
        XCTAssertEqual(kernels.map { $0.matvecDRAMGBPerS?.value }, [6, 6, 8])
        let source = try XCTUnwrap(kernels[1].matvecDRAMGBPerS?.source)
        XCTAssertTrue(source.contains("hardware 3.00, prefetch-8192 3.00, touch 6.00 GB/s): touch"), source)
        XCTAssertEqual(try HostProfile.decode(p.encoded(), file: "round trip"), p)

        let before = [TensorType.q4_K, .q6_K].map { KernelMemoryAccess.current(for: $0) }
        defer { for (t, a) in zip([TensorType.q4_K, .q6_K], before) { KernelMemoryAccess.set(a, for: t) } }
        KernelMemoryAccess.set(.prefetch(bytes: 4096), for: .q4_K)
        KernelMemoryAccess.set(.prefetch(bytes: 4096), for: .q6_K)
        XCTAssertEqual(KernelMemoryAccess.apply(p), [.q4_K: .hardware, .q6_K: .touch])
        XCTAssertEqual(KernelMemoryAccess.current(for: .q4_K), .hardware)
        XCTAssertEqual(KernelMemoryAccess.current(for: .q6_K), .touch)
    }

    func testOnlyTheAllowedCPUsOfANodeAreListed() async throws {
        var host = FakeHost.twoNodeServerWithGPU()
        host.cpus = [2, 3]   // taskset -c 2,3: node 1 has none of them
        let bench = FakeBenchmarks(cpuSpeed: [2: 15e9, 3: 15e9])
        let p = try await HostProber(system: host, benchmarks: bench, options: .test(storage: nil)).probe(date: date).profile
        try p.validate(file: "probed")
        XCTAssertEqual(p.numa.nodes.map(\.id), [0])
        XCTAssertEqual(p.numa.nodes[0].cpus, [2, 3])
        XCTAssertEqual(p.numa.distances, [[10]])
        XCTAssertNil(p.numa.crossNodeReadGBPerS)
        XCTAssertEqual(p.host.name, "intel-xeon-platinum-8480-2c")
    }

    func testASlowCoreOnAUniformCPUIsReportedNotSplitOff() async throws {
        let host = FakeHost.twoNodeServerWithGPU()
        var speed = Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 15e9) })
        speed[6] = 9e9
        let bench = FakeBenchmarks(cpuSpeed: speed)
        let r = try await HostProber(system: host, benchmarks: bench, options: .test(storage: nil)).probe(date: date)
        XCTAssertEqual(r.profile.cpu.coreClasses.count, 1)
        XCTAssertEqual(r.profile.cpu.coreClasses[0].relativeSpeed.value, 1)
        XCTAssertEqual(r.slowCPUs, [6])
        XCTAssertTrue(r.notes.contains { $0.contains("CPU 6") && $0.contains("0.60") }, "\(r.notes)")
        XCTAssertTrue(r.profile.cpu.coreClasses[0].relativeSpeed.source.contains("CPU 6 at 0.60"))
        XCTAssertEqual(bench.calls.all.filter { $0 == "matvec Q4_K 6" }.count, 2, "a slow CPU is timed a second time")
    }

    func testASlowFirstReadingThatRecoversIsNotReported() async throws {
        let host = FakeHost.twoNodeServerWithGPU()
        let bench = FakeBenchmarks(cpuSpeed: Dictionary(uniqueKeysWithValues: (0..<8).map { ($0, 15e9) }), slowAtFirst: [3: 1])
        let r = try await HostProber(system: host, benchmarks: bench, options: .test(storage: nil)).probe(date: date)
        XCTAssertEqual(r.slowCPUs, [])
        XCTAssertEqual(r.perCPUBytesPerSecond[3], 15e9)
        XCTAssertFalse(r.notes.contains { $0.contains("CPU 3") }, "\(r.notes)")
    }

    func testABusyHostIsNoted() async throws {
        var host = FakeHost.twoNodeServerWithGPU()
        host.files["/proc/loadavg"] = "6.25 5.00 4.00 3/200 1234\n"
        let r = try await HostProber(system: host, benchmarks: FakeBenchmarks(cpuSpeed: [:]), options: .test(storage: nil)).probe()
        XCTAssertTrue(r.notes.contains { $0.hasPrefix("the host was busy when profiled (load average 6.2 on 8 CPUs)") }, "\(r.notes)")
        host.files["/proc/loadavg"] = "1.00 5.00 4.00 3/200 1234\n"
        let quiet = try await HostProber(system: host, benchmarks: FakeBenchmarks(cpuSpeed: [:]), options: .test(storage: nil)).probe()
        XCTAssertFalse(quiet.notes.contains { $0.contains("busy") }, "\(quiet.notes)")
    }

    func testProgressCountsEveryStep() async throws {
        let host = FakeHost.twoNodeServerWithGPU()
        let bench = FakeBenchmarks(cpuSpeed: [:])
        let log = CallLog()
        _ = try await HostProber(system: host, benchmarks: bench, options: .test(storage: "/models")).probe(date: date) { p in
            log.add("\(p.step)/\(p.steps) \(p.finished ? "done" : "start")")
        }
        // identify, per-CPU, (2 types + from memory) × 1 class, 2 nodes × (one core, all cores,
        // working-set curve), cross node, storage
        let steps = 2 + 3 + 6 + 1 + 1
        XCTAssertEqual(log.all, (1...steps).flatMap { ["\($0)/\(steps) start", "\($0)/\(steps) done"] })
    }

    func testStorageFailureIsANoteNotAFailure() async throws {
        var bench = FakeBenchmarks(cpuSpeed: [:])
        bench.storageResult = StorageMeasurement(fileBytes: 1 << 20, sequentialBytesPerSecond: 1e9, randomLatenciesUs: [], directIO: false)
        let r = try await HostProber(system: FakeHost.hybridLaptop(), benchmarks: bench, options: .test(storage: "/models")).probe(date: date)
        XCTAssertNil(r.profile.storage.first?.random4KLatencyUs)
        XCTAssertTrue(r.profile.storage.first?.sequentialReadGBPerS.source.contains("refused O_DIRECT") ?? false)
        XCTAssertTrue(r.notes.contains { $0.contains("O_DIRECT") }, "\(r.notes)")
        try r.profile.validate(file: "probed")
    }

    func testNoAllowedCPUsAndNoMeminfoAreErrors() async {
        var host = FakeHost.hybridLaptop()
        host.cpus = []
        await assertThrows(TopologyError.noCPUs) {
            _ = try await HostProber(system: host, benchmarks: FakeBenchmarks(cpuSpeed: [:]), options: .test(storage: nil)).probe()
        }
        host = FakeHost.hybridLaptop()
        host.files["/proc/meminfo"] = nil
        await assertThrows(TopologyError.memoryInfoMissing) {
            _ = try await HostProber(system: host, benchmarks: FakeBenchmarks(cpuSpeed: [:]), options: .test(storage: nil)).probe()
        }
    }

    private func assertThrows(_ expected: TopologyError, _ body: () async throws -> Void, line: UInt = #line) async {
        do {
            try await body()
            XCTFail("expected \(expected)", line: line)
        } catch {
            XCTAssertEqual(error as? TopologyError, expected, line: line)
        }
    }
}
