import Foundation

/// What the processor says about itself: name, the ISA features edgert's kernels use, whether it
/// mixes core types, and which type each CPU is. Read through a ``HostSystem``, so a test can
/// describe a processor it does not run on.
public struct CPUIdentity: Sendable, Equatable {
    /// The CPU's name (`AMD EPYC 9R45`), from the CPUID brand string, else `/proc/cpuinfo`.
    public var model: String
    public var architecture: String
    /// Kernel-relevant features the CPU has and the OS enables, in the schema's spelling.
    public var features: [String]
    /// CPUID leaf 7 EDX bit 15 on x86; on Arm, CPUs of more than one `cpu_capacity`.
    public var hybrid: Bool
    /// The hypervisor's vendor string when running as a guest (`KVMKVMKVM`), else nil.
    public var hypervisor: String?
    /// Classes of CPUs by their reported core type, fastest type first, each CPU in one class.
    /// One `uniform` class unless ``hybrid``.
    public var classes: [CoreGroup]

    /// CPUs of one reported core type.
    public struct CoreGroup: Sendable, Equatable {
        /// A ``HostProfile/CoreClass`` type: `performance`, `efficiency`, `low-power efficiency`, `uniform`.
        public var type: String
        public var cpus: [Int]
        public init(type: String, cpus: [Int]) { self.type = type; self.cpus = cpus }
    }

    /// Reads the identity of the CPUs in `cpus` (the ones this process may use).
    public static func read(from system: HostSystem, cpus: [Int]) -> CPUIdentity {
        let arch = system.architecture
        let cpuinfo = system.readFile("/proc/cpuinfo") ?? ""
        if let basic = system.cpuid(leaf: 0, subleaf: 0) {
            return readX86(system, cpus: cpus, arch: arch, maxLeaf: basic.eax, cpuinfo: cpuinfo)
        }
        return readOther(system, cpus: cpus, arch: arch, cpuinfo: cpuinfo)
    }

    /// The first `key : value` line of /proc/cpuinfo with this key.
    static func cpuinfoValue(_ cpuinfo: String, _ key: String) -> String? {
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == key {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    // MARK: x86

    /// CPUID bits (Intel SDM vol. 2A, CPUID; AMD APM vol. 3 appendix E) and the XCR0 state each
    /// needs enabled by the OS.
    private static func readX86(_ s: HostSystem, cpus: [Int], arch: String, maxLeaf: UInt32, cpuinfo: String) -> CPUIdentity {
        let zero = CPUIDRegisters(eax: 0, ebx: 0, ecx: 0, edx: 0)
        let leaf1 = s.cpuid(leaf: 1, subleaf: 0) ?? zero
        let leaf7 = maxLeaf >= 7 ? s.cpuid(leaf: 7, subleaf: 0) ?? zero : zero
        let leaf7s1 = maxLeaf >= 7 && leaf7.eax >= 1 ? s.cpuid(leaf: 7, subleaf: 1) ?? zero : zero
        let xcr0 = s.enabledRegisterState()
        let avxState = xcr0 & 0x6 == 0x6                  // XMM and YMM
        let avx512State = avxState && xcr0 & 0xE0 == 0xE0  // opmask, ZMM_Hi256, Hi16_ZMM
        let amxState = xcr0 & 0x60000 == 0x60000           // XTILECFG, XTILEDATA
        var features: [String] = []
        if avxState && leaf7.bit(\.ebx, 5) { features.append("avx2") }
        if avx512State && leaf7.bit(\.ebx, 16) { features.append("avx512f") }
        if avx512State && leaf7.bit(\.ecx, 11) { features.append("avx512_vnni") }
        if avx512State && leaf7s1.bit(\.eax, 5) { features.append("avx512_bf16") }
        if amxState && leaf7.bit(\.edx, 25) { features.append("amx_int8") }

        // Brand string: leaves 0x80000002-4, 48 bytes of ASCII, NUL-padded.
        var model = ""
        if let ext = s.cpuid(leaf: 0x8000_0000, subleaf: 0), ext.eax >= 0x8000_0004 {
            var bytes: [UInt8] = []
            for leaf in UInt32(0x8000_0002)...0x8000_0004 {
                let r = s.cpuid(leaf: leaf, subleaf: 0) ?? zero
                for word in [r.eax, r.ebx, r.ecx, r.edx] { for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * k))) } }
            }
            model = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        model = collapseSpaces(model)
        if model.isEmpty { model = cpuinfoValue(cpuinfo, "model name").map(collapseSpaces) ?? "unknown x86 CPU" }

        var hypervisor: String?
        if leaf1.bit(\.ecx, 31), let h = s.cpuid(leaf: 0x4000_0000, subleaf: 0) {
            var bytes: [UInt8] = []
            for word in [h.ebx, h.ecx, h.edx] { for k in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * k))) } }
            let name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            hypervisor = name.isEmpty ? "unknown" : name
        }

        let hybrid = leaf7.bit(\.edx, 15)
        var classes = [CoreGroup(type: "uniform", cpus: cpus)]
        if hybrid && maxLeaf >= 0x1A {
            // Leaf 0x1A EAX[31:24]: 0x40 Core (performance), 0x20 Atom (efficiency). An Atom core
            // without an L3 (Meteor Lake's SoC tile) is a low-power efficiency core.
            var byType: [String: [Int]] = [:]
            for cpu in cpus {
                let type: String
                switch s.coreType(cpu: cpu) {
                case 0x20:
                    let caches = s.listDirectory("/sys/devices/system/cpu/cpu\(cpu)/cache") ?? []
                    let hasL3 = caches.contains { s.readFile("/sys/devices/system/cpu/cpu\(cpu)/cache/\($0)/level")?.trimmingCharacters(in: .whitespacesAndNewlines) == "3" }
                    type = hasL3 || caches.isEmpty ? "efficiency" : "low-power efficiency"
                default: type = "performance"  // 0x40, or a type this build does not know
                }
                byType[type, default: []].append(cpu)
            }
            classes = ["performance", "efficiency", "low-power efficiency"].compactMap { t in byType[t].map { CoreGroup(type: t, cpus: $0) } }
        }
        return CPUIdentity(model: model, architecture: arch, features: features, hybrid: hybrid, hypervisor: hypervisor, classes: classes)
    }

    // MARK: Arm and others

    /// Features from /proc/cpuinfo's `Features` line; core classes from `cpu_capacity` (the
    /// scheduler's relative capacity of each core, 1024 for the biggest).
    private static func readOther(_ s: HostSystem, cpus: [Int], arch: String, cpuinfo: String) -> CPUIdentity {
        let flags = Set((cpuinfoValue(cpuinfo, "Features") ?? "").split(separator: " ").map(String.init))
        var features: [String] = []
        for (flag, name) in [("asimd", "neon"), ("asimddp", "dotprod"), ("i8mm", "i8mm"), ("sve", "sve")] where flags.contains(flag) {
            features.append(name)
        }
        var model = cpuinfoValue(cpuinfo, "model name") ?? cpuinfoValue(cpuinfo, "Model") ?? ""
        if model.isEmpty, let dt = s.readFile("/proc/device-tree/model") { model = dt.replacingOccurrences(of: "\0", with: "") }
        model = collapseSpaces(model)
        if model.isEmpty { model = "unknown \(arch) CPU" }
        var byCapacity: [Int: [Int]] = [:]
        for cpu in cpus {
            let c = s.readFile("/sys/devices/system/cpu/cpu\(cpu)/cpu_capacity").flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 1024
            byCapacity[c, default: []].append(cpu)
        }
        let levels = byCapacity.keys.sorted(by: >)
        let hybrid = levels.count > 1
        let classes = hybrid
            ? levels.enumerated().map { i, c in CoreGroup(type: i == levels.count - 1 ? "efficiency" : "performance", cpus: byCapacity[c]!) }
            : [CoreGroup(type: "uniform", cpus: cpus)]
        return CPUIdentity(model: model, architecture: arch, features: features, hybrid: hybrid, hypervisor: nil, classes: classes)
    }

    static func collapseSpaces(_ s: String) -> String {
        s.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\0" }).joined(separator: " ")
    }
}
