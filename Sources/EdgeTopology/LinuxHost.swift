import CEdgeKernels
import CNuma
import EdgeDevices
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The running host, as ``HostSystem`` sees it: the real `/proc` and `/sys`, CPUID through
/// `edge_hostinfo.h`, libnuma, `stat(2)`.
public struct LinuxHost: HostSystem {
    public init() {}

    public var architecture: String {
        var u = utsname()
        guard uname(&u) == 0 else { return "unknown" }
        return withUnsafeBytes(of: u.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    public func readFile(_ path: String) -> String? {
        // Files in /proc and /sys report size 0, so read them to the end rather than by size.
        guard let h = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? h.close() }
        guard let data = try? h.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    public func listDirectory(_ path: String) -> [String]? {
        try? FileManager.default.contentsOfDirectory(atPath: path)
    }

    public func resolvePath(_ path: String) -> String? {
        guard let p = realpath(path, nil) else { return nil }
        defer { free(p) }
        return String(cString: p)
    }

    public func cpuid(leaf: UInt32, subleaf: UInt32) -> CPUIDRegisters? {
        var r = [UInt32](repeating: 0, count: 4)
        guard edge_host_cpuid(leaf, subleaf, &r) == 1 else { return nil }
        return CPUIDRegisters(eax: r[0], ebx: r[1], ecx: r[2], edx: r[3])
    }

    public func enabledRegisterState() -> UInt64 { edge_host_xcr0() }

    public func coreType(cpu: Int) -> UInt8? {
        let t = edge_host_core_type(Int32(cpu))
        return t > 0 ? UInt8(truncatingIfNeeded: t) : nil
    }

    public func allowedCPUs() -> [Int] { WorkerPool.allowedCPUs() }

    public func numa() -> NUMAFacts? {
        guard numa_available() >= 0 else { return nil }
        let maxNode = Int(numa_max_node())
        let cpuCount = Int(numa_num_configured_cpus())
        var nodes: [NUMAFacts.Node] = []
        for id in 0...max(maxNode, 0) {
            // Nodes that are configured but absent answer -1.
            let size = numa_node_size64(Int32(id), nil)
            guard size >= 0 else { continue }
            let cpus = (0..<cpuCount).filter { Int(numa_node_of_cpu(Int32($0))) == id }
            nodes.append(.init(id: id, cpus: cpus, memoryBytes: Int(size)))
        }
        let distances = nodes.map { a in nodes.map { b in Int(numa_distance(Int32(a.id), Int32(b.id))) } }
        return NUMAFacts(nodes: nodes, distances: distances)
    }

    public func deviceNumber(ofPath path: String) -> (major: Int, minor: Int)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let dev = UInt64(st.st_dev)
        // glibc's gnu_dev_major / gnu_dev_minor.
        let major = Int(((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0000_0fff))
        let minor = Int(((dev >> 12) & 0xffff_ff00) | (dev & 0x0000_00ff))
        return (major, minor)
    }
}
