import Foundation

/// What a host can do, in one versioned JSON document: written by `edgert profile` from
/// measurement (`Profiles/<host>.json`, ``Kind/measured``) or by hand for hosts we plan for but do
/// not own (`Devices/<host>.json`, ``Kind/spec``). The planner reads only this.
///
/// The schema is documented field by field in `Profiles/SCHEMA.md`. JSON keys are snake_case and
/// carry their unit (`_bytes`, `_gb_per_s` = 10^9 bytes per second, `_us`, `_gflops`). Every
/// quantity is a ``Figure``: a value and where it came from.
public struct HostProfile: Codable, Sendable, Equatable {
    /// The value of `schema` in every profile.
    public static let schemaName = "edgert.host-profile"
    /// The version this build writes. Version 2 added the memory hierarchy (``CPU/caches``,
    /// ``Node/readCurve``, ``KernelSpeed/matvecDRAMGBPerS``) and the disk curve
    /// (``Storage/readCurve``), all optional, so a version 1 document is read as one without them.
    public static let currentVersion = 2
    /// Versions this build reads.
    public static let readableVersions: ClosedRange<Int> = 1...2

    public enum Kind: String, Codable, Sendable {
        /// Measured on this host by `edgert profile`.
        case measured
        /// Written from spec sheets and published measurements for a host we do not own.
        case spec
        /// Built by the engine when it was given no profile: this host's CPUs, NUMA nodes and
        /// memory as read at load, with fixed estimates for every rate (never saved as a profile).
        case estimated
    }

    public var schema: String
    public var schemaVersion: Int
    public var kind: Kind
    public var host: Host
    public var cpu: CPU
    public var memory: Memory
    public var numa: NUMA
    /// Storage that can hold model files, fastest first. May be empty for a spec without one.
    public var storage: [Storage]
    /// Visible GPUs; an empty array says explicitly that there are none.
    public var gpus: [GPU]

    public init(kind: Kind, host: Host, cpu: CPU, memory: Memory, numa: NUMA, storage: [Storage], gpus: [GPU]) {
        self.schema = Self.schemaName
        self.schemaVersion = Self.currentVersion
        self.kind = kind
        self.host = host
        self.cpu = cpu
        self.memory = memory
        self.numa = numa
        self.storage = storage
        self.gpus = gpus
    }

    enum CodingKeys: String, CodingKey {
        case schema, schemaVersion = "schema_version", kind, host, cpu, memory, numa, storage, gpus
    }

    /// Who and what the profile describes.
    public struct Host: Codable, Sendable, Equatable {
        /// Short identifier, used as the file name (`Profiles/<name>.json`).
        public var name: String
        /// One line for people: the machine, the board or the product.
        public var description: String
        /// When it was measured or written (ISO 8601), and by what (`edgert profile --quick`, a person).
        public var created: String
        public var tool: String

        public init(name: String, description: String, created: String, tool: String) {
            self.name = name
            self.description = description
            self.created = created
            self.tool = tool
        }
    }

    public struct CPU: Codable, Sendable, Equatable {
        /// Marketing name (`AMD EPYC 9R45`, `Intel Core Ultra 7 155H`).
        public var model: String
        /// `x86_64` or `aarch64`.
        public var architecture: String
        /// Instruction-set features the kernels care about (`avx2`, `avx512f`, `avx512_vnni`,
        /// `amx_int8`, `neon`, `dotprod`, `i8mm`, `sve`).
        public var features: [String]
        /// True when the CPU mixes core types (CPUID leaf 7 EDX bit 15 on x86; big.LITTLE on Arm).
        public var hybrid: Bool
        /// Groups of cores that run at the same speed; every CPU id appears in exactly one class.
        public var coreClasses: [CoreClass]
        /// The data caches of the first CPU, innermost first, as the OS reports them (absent in
        /// version 1 documents and in specs that do not give them).
        public var caches: [Cache]?

        public init(model: String, architecture: String, features: [String], hybrid: Bool, coreClasses: [CoreClass],
                    caches: [Cache]? = nil) {
            self.model = model
            self.architecture = architecture
            self.features = features
            self.hybrid = hybrid
            self.coreClasses = coreClasses
            self.caches = caches
        }

        enum CodingKeys: String, CodingKey {
            case model, architecture, features, hybrid, coreClasses = "core_classes", caches
        }

        /// The last-level cache's size, when known.
        public var lastLevelCacheBytes: Double? { caches?.max { $0.level < $1.level }?.bytes.value }

        /// All CPU ids, in class order.
        public var cpuIDs: [Int] { coreClasses.flatMap(\.cpus) }
    }

    public struct CoreClass: Codable, Sendable, Equatable {
        /// `performance`, `efficiency`, `low-power efficiency` or `uniform`.
        public var type: String
        /// Logical CPU ids of this class.
        public var cpus: [Int]
        /// Speed of one core of this class relative to the fastest class (1 for the fastest).
        public var relativeSpeed: Figure
        /// Throughput of one core of this class running edgert's kernels, by weight type.
        public var kernels: [KernelSpeed]

        public init(type: String, cpus: [Int], relativeSpeed: Figure, kernels: [KernelSpeed]) {
            self.type = type
            self.cpus = cpus
            self.relativeSpeed = relativeSpeed
            self.kernels = kernels
        }

        enum CodingKeys: String, CodingKey {
            case type, cpus, relativeSpeed = "relative_speed", kernels
        }
    }

    /// One data (or unified) cache level as the OS reports it.
    public struct Cache: Codable, Sendable, Equatable {
        /// 1, 2, 3, …
        public var level: Int
        public var bytes: Figure
        /// How many of the host's logical CPUs share one instance of it.
        public var sharedByCPUs: Int

        public init(level: Int, bytes: Figure, sharedByCPUs: Int) {
            self.level = level
            self.bytes = bytes
            self.sharedByCPUs = sharedByCPUs
        }

        enum CodingKeys: String, CodingKey {
            case level, bytes, sharedByCPUs = "shared_by_cpus"
        }
    }

    /// One core's kernel throughput for one weight type.
    public struct KernelSpeed: Codable, Sendable, Equatable {
        /// GGUF type name (`Q8_0`, `Q4_K`, `F16`).
        public var weightType: String
        /// Weight bytes per second the generation matvec consumes with its weights in cache: the
        /// compute ceiling of one core, before memory bandwidth limits it.
        public var matvecGBPerS: Figure
        /// Multiply-adds × 2 per second of the prompt matmul (64 tokens at once), in GFLOP/s.
        public var matmulGflops: Figure
        /// Weight bytes per second of the same matvec on one core when the weights stream from main
        /// memory (a matrix far larger than the last-level cache). Absent in version 1 documents.
        public var matvecDRAMGBPerS: Figure?
        /// Nanoseconds the matvec spends per output row on one core beyond what its bytes cost at
        /// ``referenceRowElements``-wide rows (the per-row reduction, scaling and store): what makes
        /// a narrow model's matrices slower per byte. Absent in version 1 documents.
        public var matvecRowNs: Figure?
        /// The prompt matmul's GFLOP/s with rows of 256 elements (a narrow model's matrices), for
        /// interpolating the prompt rate by the model's row width. Absent in version 1 documents.
        public var matmulNarrowGflops: Figure?
        /// How the from-memory matvec brought its weights in when it ran fastest (a ``MemoryAccess``
        /// spelling: `hardware`, `prefetch-8192`, `touch`), for the types whose kernels take a mode;
        /// `matvec_dram_gb_per_s` is that mode's figure. The engine sets it for its kernels.
        /// Absent in version 1 documents and in profiles measured before it existed.
        public var matvecDRAMAccess: String?

        /// Row width of the `matvec_gb_per_s` figures: 2048 elements.
        public static let referenceRowElements = 2048

        public init(weightType: String, matvecGBPerS: Figure, matmulGflops: Figure, matvecDRAMGBPerS: Figure? = nil,
                    matvecRowNs: Figure? = nil, matmulNarrowGflops: Figure? = nil, matvecDRAMAccess: String? = nil) {
            self.weightType = weightType
            self.matvecGBPerS = matvecGBPerS
            self.matmulGflops = matmulGflops
            self.matvecDRAMGBPerS = matvecDRAMGBPerS
            self.matvecRowNs = matvecRowNs
            self.matmulNarrowGflops = matmulNarrowGflops
            self.matvecDRAMAccess = matvecDRAMAccess
        }

        enum CodingKeys: String, CodingKey {
            case weightType = "weight_type", matvecGBPerS = "matvec_gb_per_s", matmulGflops = "matmul_gflops",
                 matvecDRAMGBPerS = "matvec_dram_gb_per_s", matvecRowNs = "matvec_row_ns", matmulNarrowGflops = "matmul_narrow_gflops",
                 matvecDRAMAccess = "matvec_dram_access"
        }
    }

    public struct Memory: Codable, Sendable, Equatable {
        /// Installed RAM the OS sees.
        public var totalBytes: Figure
        /// RAM a model may use on an otherwise idle host (total less the OS's own use).
        public var availableBytes: Figure

        public init(totalBytes: Figure, availableBytes: Figure) {
            self.totalBytes = totalBytes
            self.availableBytes = availableBytes
        }

        enum CodingKeys: String, CodingKey {
            case totalBytes = "total_bytes", availableBytes = "available_bytes"
        }
    }

    public struct NUMA: Codable, Sendable, Equatable {
        public var nodes: [Node]
        /// ACPI SLIT distances, `distances[i][j]` from node i to node j (10 = local).
        public var distances: [[Int]]
        /// Read bandwidth of all cores of one node reading another node's memory; absent with one node.
        public var crossNodeReadGBPerS: Figure?

        public init(nodes: [Node], distances: [[Int]], crossNodeReadGBPerS: Figure? = nil) {
            self.nodes = nodes
            self.distances = distances
            self.crossNodeReadGBPerS = crossNodeReadGBPerS
        }

        enum CodingKeys: String, CodingKey {
            case nodes, distances, crossNodeReadGBPerS = "cross_node_read_gb_per_s"
        }
    }

    public struct Node: Codable, Sendable, Equatable {
        public var id: Int
        /// Logical CPU ids of the node.
        public var cpus: [Int]
        /// Memory attached to the node.
        public var memoryBytes: Figure
        /// Main-memory read bandwidth of one core of the node, and of all its cores together.
        public var readGBPerSOneCore: Figure
        public var readGBPerSAllCores: Figure
        /// Read bandwidth against working-set size (ascending), one core and all the node's cores:
        /// the memory hierarchy as a pass over that many bytes, read again and again, sees it.
        /// Absent in version 1 documents.
        public var readCurve: [ReadPoint]?

        public init(id: Int, cpus: [Int], memoryBytes: Figure, readGBPerSOneCore: Figure, readGBPerSAllCores: Figure,
                    readCurve: [ReadPoint]? = nil) {
            self.id = id
            self.cpus = cpus
            self.memoryBytes = memoryBytes
            self.readGBPerSOneCore = readGBPerSOneCore
            self.readGBPerSAllCores = readGBPerSAllCores
            self.readCurve = readCurve
        }

        enum CodingKeys: String, CodingKey {
            case id, cpus, memoryBytes = "memory_bytes", readGBPerSOneCore = "read_gb_per_s_one_core",
                 readGBPerSAllCores = "read_gb_per_s_all_cores", readCurve = "read_curve"
        }
    }

    /// Read bandwidth of a working set of `workingSetBytes`, read repeatedly (split evenly over
    /// the threads when all cores read).
    public struct ReadPoint: Codable, Sendable, Equatable {
        public var workingSetBytes: Int
        public var oneCoreGBPerS: Figure
        public var allCoresGBPerS: Figure

        public init(workingSetBytes: Int, oneCoreGBPerS: Figure, allCoresGBPerS: Figure) {
            self.workingSetBytes = workingSetBytes
            self.oneCoreGBPerS = oneCoreGBPerS
            self.allCoresGBPerS = allCoresGBPerS
        }

        enum CodingKeys: String, CodingKey {
            case workingSetBytes = "working_set_bytes", oneCoreGBPerS = "one_core_gb_per_s", allCoresGBPerS = "all_cores_gb_per_s"
        }
    }

    public struct Storage: Codable, Sendable, Equatable {
        /// Device name (`nvme0n1`, `vda`, `mmcblk0`).
        public var name: String
        /// `nvme`, `ssd`, `hdd`, `emmc`, `sd`, `ufs`, `virtio`, `other`.
        public var kind: String
        /// A directory on it (where the models were, when measured).
        public var path: String
        /// Sequential direct-I/O read bandwidth with large requests.
        public var sequentialReadGBPerS: Figure
        /// 4 KiB random direct-I/O reads, one at a time: latency percentiles.
        public var random4KLatencyUs: Percentiles?
        /// Sequential reads at the request sizes and queue depths the streaming window uses
        /// (median of several passes each). Absent in version 1 documents.
        public var readCurve: [DiskPoint]?

        public init(name: String, kind: String, path: String, sequentialReadGBPerS: Figure, random4KLatencyUs: Percentiles?,
                    readCurve: [DiskPoint]? = nil) {
            self.name = name
            self.kind = kind
            self.path = path
            self.sequentialReadGBPerS = sequentialReadGBPerS
            self.random4KLatencyUs = random4KLatencyUs
            self.readCurve = readCurve
        }

        enum CodingKeys: String, CodingKey {
            case name, kind, path, sequentialReadGBPerS = "sequential_read_gb_per_s", random4KLatencyUs = "random_4k_latency_us",
                 readCurve = "read_curve"
        }
    }

    /// Sequential read bandwidth with requests of `requestBytes`, `inFlight` of them at once.
    public struct DiskPoint: Codable, Sendable, Equatable {
        public var requestBytes: Int
        public var inFlight: Int
        public var gbPerS: Figure

        public init(requestBytes: Int, inFlight: Int, gbPerS: Figure) {
            self.requestBytes = requestBytes
            self.inFlight = inFlight
            self.gbPerS = gbPerS
        }

        enum CodingKeys: String, CodingKey {
            case requestBytes = "request_bytes", inFlight = "in_flight", gbPerS = "gb_per_s"
        }
    }

    public struct Percentiles: Codable, Sendable, Equatable {
        public var p50: Figure
        public var p90: Figure
        public var p99: Figure

        public init(p50: Figure, p90: Figure, p99: Figure) {
            self.p50 = p50
            self.p90 = p90
            self.p99 = p99
        }
    }

    public struct GPU: Codable, Sendable, Equatable {
        /// Identifier the plan uses (`gpu0`), unique in the profile.
        public var id: DeviceID
        /// Product name (`NVIDIA GeForce RTX 4060`).
        public var name: String
        /// Memory the GPU can hold weights in. For a GPU sharing host memory, the share it may use.
        public var memoryBytes: Figure
        /// True when the GPU uses the host's RAM (Jetson, phones, integrated GPUs): its memory is
        /// then taken from the host's, not added to it.
        public var sharesHostMemory: Bool
        /// Read bandwidth of the GPU's memory.
        public var memoryGBPerS: Figure
        /// Dense FP16 throughput, for the prompt.
        public var fp16Tflops: Figure
        /// Host ↔ GPU transfer bandwidth (PCIe, or the shared bus).
        public var linkGBPerS: Figure

        /// What the Vulkan driver calls the device: discrete, integrated, virtual, cpu (a software
        /// device such as lavapipe) or other; nil when the GPU was not listed through Vulkan.
        public var kind: String?
        /// Weight bytes per second (GB/s) of edgert's one-token matmul kernel of each type (its
        /// name: "Q8_0"), measured on the device; nil when not measured.
        public var matvecGBPerS: [String: Double]?

        public init(id: DeviceID, name: String, memoryBytes: Figure, sharesHostMemory: Bool, memoryGBPerS: Figure,
                    fp16Tflops: Figure, linkGBPerS: Figure, kind: String? = nil, matvecGBPerS: [String: Double]? = nil) {
            self.kind = kind
            self.matvecGBPerS = matvecGBPerS
            self.id = id
            self.name = name
            self.memoryBytes = memoryBytes
            self.sharesHostMemory = sharesHostMemory
            self.memoryGBPerS = memoryGBPerS
            self.fp16Tflops = fp16Tflops
            self.linkGBPerS = linkGBPerS
        }

        enum CodingKeys: String, CodingKey {
            case id, name, memoryBytes = "memory_bytes", sharesHostMemory = "shares_host_memory",
                 memoryGBPerS = "memory_gb_per_s", fp16Tflops = "fp16_tflops", linkGBPerS = "link_gb_per_s",
                 kind, matvecGBPerS = "matvec_gb_per_s"
        }
    }
}

/// A quantity and where it came from: `measured` (by `edgert profile`), a citation (spec sheet or
/// published measurement, with its address), or a text starting with `estimate:` saying how it was
/// estimated.
public struct Figure: Codable, Sendable, Equatable {
    public var value: Double
    public var source: String

    public init(_ value: Double, source: String) {
        self.value = value
        self.source = source
    }

    /// A figure measured on this host.
    public static func measured(_ value: Double, _ how: String = "") -> Figure {
        Figure(value, source: how.isEmpty ? "measured" : "measured: \(how)")
    }

    public var isEstimate: Bool { source.hasPrefix("estimate") }
}

// MARK: - Reading and checking

/// A profile or device spec that cannot be used; each case names the file and the field.
public enum HostProfileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file is not JSON.
    case malformedJSON(file: String, detail: String)
    /// A required field is absent.
    case missingField(file: String, field: String)
    /// A field has the wrong JSON type.
    case wrongType(file: String, field: String, expected: String)
    /// A field is present but its value is not allowed.
    case invalidValue(file: String, field: String, reason: String)
    /// The document is not a host profile, or one of a version this build does not read.
    case unsupportedSchema(file: String, found: String)

    public var description: String {
        switch self {
        case let .malformedJSON(f, d): return "\(f): not valid JSON (\(d))"
        case let .missingField(f, field): return "\(f): missing field '\(field)'"
        case let .wrongType(f, field, e): return "\(f): field '\(field)' should be \(e)"
        case let .invalidValue(f, field, r): return "\(f): field '\(field)': \(r)"
        case let .unsupportedSchema(f, found):
            return "\(f): not an \(HostProfile.schemaName) document of version \(HostProfile.readableVersions.lowerBound)-\(HostProfile.readableVersions.upperBound) (found \(found))"
        }
    }
}

extension HostProfile {
    /// Decodes and validates a profile. `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws(HostProfileError) -> HostProfile {
        // Check the header first, so that a future version gets a version error, not a field error.
        let header: [String: Any]
        do {
            guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw HostProfileError.wrongType(file: file, field: "(top level)", expected: "an object")
            }
            header = object
        } catch let e as HostProfileError {
            throw e
        } catch {
            throw .malformedJSON(file: file, detail: (error as NSError).localizedDescription)
        }
        let schema = header["schema"] as? String
        let version = header["schema_version"] as? Int
        guard schema == schemaName, let version, readableVersions.contains(version) else {
            throw .unsupportedSchema(file: file, found: "schema \(schema.map { "'\($0)'" } ?? "absent"), version \(version.map(String.init) ?? "absent")")
        }
        let profile: HostProfile
        do {
            profile = try JSONDecoder().decode(HostProfile.self, from: data)
        } catch let error as DecodingError {
            throw Self.describe(error, file: file)
        } catch {
            throw .malformedJSON(file: file, detail: "\(error)")
        }
        try profile.validate(file: file)
        return profile
    }

    /// Encodes with sorted keys and indentation, as the files in `Profiles/` are written.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    private static func path(_ codingPath: [any CodingKey]) -> String {
        var s = ""
        for key in codingPath {
            if let i = key.intValue { s += "[\(i)]" } else { s += s.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return s.isEmpty ? "(top level)" : s
    }

    private static func describe(_ error: DecodingError, file: String) -> HostProfileError {
        switch error {
        case let .keyNotFound(key, context):
            return .missingField(file: file, field: path(context.codingPath + [key]))
        case let .valueNotFound(_, context):
            return .missingField(file: file, field: path(context.codingPath))
        case let .typeMismatch(type, context):
            return .wrongType(file: file, field: path(context.codingPath), expected: jsonName(type))
        case let .dataCorrupted(context):
            return .invalidValue(file: file, field: path(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return .malformedJSON(file: file, detail: "\(error)")
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type: return "an integer"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            return name.hasPrefix("Array") ? "an array" : "an object"
        }
    }

    /// The semantic checks JSON decoding cannot make. Throws on the first problem, naming its field.
    public func validate(file: String) throws(HostProfileError) {
        func bad(_ field: String, _ reason: String) -> HostProfileError { .invalidValue(file: file, field: field, reason: reason) }
        func check(_ f: Figure, _ field: String, positive: Bool = true) throws(HostProfileError) {
            guard f.value.isFinite, positive ? f.value > 0 : f.value >= 0 else {
                throw bad("\(field).value", "\(f.value) is not a \(positive ? "positive" : "non-negative") finite number")
            }
            let s = f.source.trimmingCharacters(in: .whitespaces)
            guard !s.isEmpty else { throw bad("\(field).source", "every figure needs a source (a citation, 'measured', or 'estimate: how')") }
        }
        guard !host.name.isEmpty, host.name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw bad("host.name", "'\(host.name)' must be non-empty letters, digits, '-', '_' or '.'")
        }
        guard ["x86_64", "aarch64"].contains(cpu.architecture) else {
            throw bad("cpu.architecture", "'\(cpu.architecture)' is not x86_64 or aarch64")
        }
        guard !cpu.coreClasses.isEmpty else { throw bad("cpu.core_classes", "at least one core class is needed") }
        var seen = Set<Int>()
        let types = ["performance", "efficiency", "low-power efficiency", "uniform"]
        for (i, c) in cpu.coreClasses.enumerated() {
            let at = "cpu.core_classes[\(i)]"
            guard types.contains(c.type) else { throw bad("\(at).type", "'\(c.type)' is not one of \(types.joined(separator: ", "))") }
            guard !c.cpus.isEmpty else { throw bad("\(at).cpus", "a class needs at least one CPU") }
            for cpu in c.cpus {
                guard cpu >= 0 else { throw bad("\(at).cpus", "CPU id \(cpu) is negative") }
                guard seen.insert(cpu).inserted else { throw bad("\(at).cpus", "CPU \(cpu) is in two classes") }
            }
            try check(c.relativeSpeed, "\(at).relative_speed")
            guard c.relativeSpeed.value <= 1 + 1e-9 else { throw bad("\(at).relative_speed.value", "is relative to the fastest class, so at most 1") }
            for (k, s) in c.kernels.enumerated() {
                guard TensorType.named(s.weightType) != nil else {
                    throw bad("\(at).kernels[\(k)].weight_type", "'\(s.weightType)' is not a GGUF type name")
                }
                try check(s.matvecGBPerS, "\(at).kernels[\(k)].matvec_gb_per_s")
                try check(s.matmulGflops, "\(at).kernels[\(k)].matmul_gflops")
                if let d = s.matvecDRAMGBPerS { try check(d, "\(at).kernels[\(k)].matvec_dram_gb_per_s") }
                if let d = s.matmulNarrowGflops { try check(d, "\(at).kernels[\(k)].matmul_narrow_gflops") }
                if let d = s.matvecRowNs { try check(d, "\(at).kernels[\(k)].matvec_row_ns", positive: false) }
                if let a = s.matvecDRAMAccess, MemoryAccess(a) == nil {
                    throw bad("\(at).kernels[\(k)].matvec_dram_access", "'\(a)' is not hardware, touch or prefetch-N (N > 0 bytes)")
                }
            }
        }
        guard cpu.coreClasses.contains(where: { abs($0.relativeSpeed.value - 1) < 1e-9 }) else {
            throw bad("cpu.core_classes", "the fastest class should have relative_speed 1")
        }
        try check(memory.totalBytes, "memory.total_bytes")
        try check(memory.availableBytes, "memory.available_bytes")
        guard memory.availableBytes.value <= memory.totalBytes.value else {
            throw bad("memory.available_bytes.value", "exceeds memory.total_bytes")
        }
        guard !numa.nodes.isEmpty else { throw bad("numa.nodes", "at least one node is needed") }
        var nodeCPUs = Set<Int>()
        for (i, n) in numa.nodes.enumerated() {
            let at = "numa.nodes[\(i)]"
            guard n.id >= 0, !numa.nodes[..<i].contains(where: { $0.id == n.id }) else { throw bad("\(at).id", "node ids must be unique and non-negative") }
            for cpu in n.cpus {
                guard seen.contains(cpu) else { throw bad("\(at).cpus", "CPU \(cpu) is in no core class") }
                guard nodeCPUs.insert(cpu).inserted else { throw bad("\(at).cpus", "CPU \(cpu) is in two nodes") }
            }
            try check(n.memoryBytes, "\(at).memory_bytes")
            try check(n.readGBPerSOneCore, "\(at).read_gb_per_s_one_core")
            try check(n.readGBPerSAllCores, "\(at).read_gb_per_s_all_cores")
            if let curve = n.readCurve {
                for (k, point) in curve.enumerated() {
                    guard point.workingSetBytes > 0, k == 0 || point.workingSetBytes > curve[k - 1].workingSetBytes else {
                        throw bad("\(at).read_curve[\(k)].working_set_bytes", "must be positive and ascending")
                    }
                    try check(point.oneCoreGBPerS, "\(at).read_curve[\(k)].one_core_gb_per_s")
                    try check(point.allCoresGBPerS, "\(at).read_curve[\(k)].all_cores_gb_per_s")
                }
            }
        }
        if let caches = cpu.caches {
            for (k, c) in caches.enumerated() {
                guard c.level >= 1, k == 0 || c.level > caches[k - 1].level else { throw bad("cpu.caches[\(k)].level", "levels must be 1 or more and ascending") }
                guard c.sharedByCPUs >= 1 else { throw bad("cpu.caches[\(k)].shared_by_cpus", "must be at least 1") }
                try check(c.bytes, "cpu.caches[\(k)].bytes")
            }
        }
        if let missing = seen.subtracting(nodeCPUs).min() { throw bad("numa.nodes", "CPU \(missing) is in no node") }
        guard numa.distances.count == numa.nodes.count, numa.distances.allSatisfy({ $0.count == numa.nodes.count }) else {
            throw bad("numa.distances", "must be a \(numa.nodes.count)×\(numa.nodes.count) matrix")
        }
        if let f = numa.crossNodeReadGBPerS { try check(f, "numa.cross_node_read_gb_per_s") }
        for (i, s) in storage.enumerated() {
            let at = "storage[\(i)]"
            try check(s.sequentialReadGBPerS, "\(at).sequential_read_gb_per_s")
            if let p = s.random4KLatencyUs {
                try check(p.p50, "\(at).random_4k_latency_us.p50")
                try check(p.p90, "\(at).random_4k_latency_us.p90")
                try check(p.p99, "\(at).random_4k_latency_us.p99")
            }
            for (k, point) in (s.readCurve ?? []).enumerated() {
                guard point.requestBytes > 0 else { throw bad("\(at).read_curve[\(k)].request_bytes", "must be positive") }
                guard point.inFlight >= 1 else { throw bad("\(at).read_curve[\(k)].in_flight", "must be at least 1") }
                try check(point.gbPerS, "\(at).read_curve[\(k)].gb_per_s")
            }
        }
        var ids = Set<DeviceID>()
        for (i, g) in gpus.enumerated() {
            let at = "gpus[\(i)]"
            guard ids.insert(g.id).inserted else { throw bad("\(at).id", "'\(g.id)' must be unique") }
            guard g.id.kind == .gpu else { throw bad("\(at).id", "'\(g.id)' is not a GPU's name (gpu0, gpu1, ...)") }
            try check(g.memoryBytes, "\(at).memory_bytes")
            try check(g.memoryGBPerS, "\(at).memory_gb_per_s")
            try check(g.fp16Tflops, "\(at).fp16_tflops")
            try check(g.linkGBPerS, "\(at).link_gb_per_s")
            if g.sharesHostMemory, g.memoryBytes.value > memory.totalBytes.value {
                throw bad("\(at).memory_bytes.value", "a GPU sharing host memory cannot have more than memory.total_bytes")
            }
        }
    }
}

extension HostProfile {
    /// The class holding `cpu`, if any.
    public func coreClass(ofCPU cpu: Int) -> CoreClass? {
        self.cpu.coreClasses.first { $0.cpus.contains(cpu) }
    }
}

// MARK: - Reading the curves

extension HostProfile.Node {
    /// Read bandwidth in bytes per second of `threads` of the node's cores working over a set of
    /// `workingSet` bytes, from ``readCurve``: interpolated linearly in log(size) between the
    /// measured sizes (the end points held beyond them), and linearly in the thread count between
    /// the one-core and all-cores figures. Nil without a curve.
    ///
    /// Main memory is one level however large the set, and a shared host's passes over it vary
    /// (±20% from one size to the next on this project's VM): every size of at least four times
    /// `lastLevelCache` (when known; else only the largest) reads at the median of those sizes.
    public func readBytesPerSecond(workingSet: Int, threads: Int, lastLevelCache: Double? = nil) -> Double? {
        guard let raw = readCurve, !raw.isEmpty else { return nil }
        var curve = raw
        if let llc = lastLevelCache, llc > 0 {
            let tail = curve.indices.filter { Double(curve[$0].workingSetBytes) >= 4 * llc }
            if tail.count > 1, let one = tail.map({ curve[$0].oneCoreGBPerS.value }).median,
               let all = tail.map({ curve[$0].allCoresGBPerS.value }).median {
                for i in tail {
                    curve[i].oneCoreGBPerS.value = one
                    curve[i].allCoresGBPerS.value = all
                }
            }
        }
        let all = max(cpus.count, 1)
        let k = min(max(threads, 1), all)
        let f = all > 1 ? Double(k - 1) / Double(all - 1) : 0
        func at(_ p: HostProfile.ReadPoint) -> Double {
            (p.oneCoreGBPerS.value + f * (p.allCoresGBPerS.value - p.oneCoreGBPerS.value)) * 1e9
        }
        let x = log2(Double(max(workingSet, 1)))
        if workingSet <= curve[0].workingSetBytes { return at(curve[0]) }
        for i in 1..<curve.count where workingSet <= curve[i].workingSetBytes {
            let x0 = log2(Double(curve[i - 1].workingSetBytes)), x1 = log2(Double(curve[i].workingSetBytes))
            let t = x1 > x0 ? (x - x0) / (x1 - x0) : 1
            return at(curve[i - 1]) + t * (at(curve[i]) - at(curve[i - 1]))
        }
        return at(curve[curve.count - 1])
    }
}

extension HostProfile.Storage {
    /// Sequential read bandwidth in bytes per second with requests of `requestBytes`, `inFlight`
    /// at once, from ``readCurve``: the points of the deepest measured queue not deeper than
    /// `inFlight` (the shallowest when all are deeper), interpolated linearly in log(request size),
    /// the end points held beyond them. Nil without a curve.
    public func readBytesPerSecond(requestBytes: Int, inFlight: Int) -> Double? {
        guard let curve = readCurve, !curve.isEmpty else { return nil }
        let depths = Set(curve.map(\.inFlight))
        let depth = depths.filter { $0 <= inFlight }.max() ?? depths.min()!
        let points = curve.filter { $0.inFlight == depth }.sorted { $0.requestBytes < $1.requestBytes }
        let x = log2(Double(max(requestBytes, 1)))
        if requestBytes <= points[0].requestBytes { return points[0].gbPerS.value * 1e9 }
        for i in 1..<points.count where requestBytes <= points[i].requestBytes {
            let x0 = log2(Double(points[i - 1].requestBytes)), x1 = log2(Double(points[i].requestBytes))
            let t = x1 > x0 ? (x - x0) / (x1 - x0) : 1
            return (points[i - 1].gbPerS.value + t * (points[i].gbPerS.value - points[i - 1].gbPerS.value)) * 1e9
        }
        return points[points.count - 1].gbPerS.value * 1e9
    }
}
