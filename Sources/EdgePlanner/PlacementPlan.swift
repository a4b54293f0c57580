import EdgeCore

/// Where every weight block of a model lives and runs on a host, and what that should cost: the
/// output of ``PlacementPlanner/plan(_:)``, printed by `edgert plan`, saved as JSON and executed by
/// `edgert run --plan`.
///
/// Devices are named `cpu<node>` (a NUMA node's cores and memory), by the GPU's id in the profile
/// (`gpu0`), and `disk` (weights streamed from the first storage entry through a window in CPU
/// memory).
public struct PlacementPlan: Codable, Sendable, Equatable {
    public static let schemaName = "edgert.placement-plan"
    public static let currentVersion = 1

    public var schema: String = PlacementPlan.schemaName
    public var schemaVersion: Int = PlacementPlan.currentVersion
    /// The model planned: its name (file or catalogue shape), main type, file size and bytes per token.
    public var model: ModelSummary
    /// The host profile's `host.name`, and whether it was measured or a spec.
    public var host: String
    public var hostKind: HostProfile.Kind
    public var context: Int
    public var promptTokens: Int
    /// Tokens per forward pass during the prompt.
    public var batch: Int
    /// Largest block size in bytes (blocks are ``ModelManifest/blocks(target:)`` of this target).
    public var blockTarget: Int
    /// How blocks are spread over devices: `cpu`, `cpu+disk`, `numa-split`, `gpu-layers`, `gpu-split`.
    public var strategy: String
    public var blocks: [BlockPlacement]
    public var window: Window
    public var threads: Threads
    public var kvCache: [KVPlacement]
    public var devices: [DeviceUse]
    public var predicted: Prediction
    /// Why, one line per decision.
    public var reasons: [String]

    enum CodingKeys: String, CodingKey {
        case schema, schemaVersion = "schema_version", model, host, hostKind = "host_kind", context,
             promptTokens = "prompt_tokens", batch, blockTarget = "block_target", strategy, blocks, window,
             threads, kvCache = "kv_cache", devices, predicted, reasons
    }

    public struct ModelSummary: Codable, Sendable, Equatable {
        public var name: String
        public var type: String
        public var parameterCount: Int
        public var fileBytes: Int
        public var weightBytesPerToken: Int

        enum CodingKeys: String, CodingKey {
            case name, type, parameterCount = "parameter_count", fileBytes = "file_bytes",
                 weightBytesPerToken = "weight_bytes_per_token"
        }
    }

    /// One block: which devices hold which fraction of its rows, and whether it is resident or
    /// streamed from disk each token.
    public struct BlockPlacement: Codable, Sendable, Equatable {
        public var name: String
        /// File offset and length of the block's bytes.
        public var offset: Int
        public var bytes: Int
        public var tier: Tier
        /// Fractions of the block's rows per device (summing to 1); one entry unless split.
        public var shares: [DeviceShare]

        public enum Tier: String, Codable, Sendable {
            case resident, streamed
        }
    }

    public struct DeviceShare: Codable, Sendable, Equatable {
        public var device: DeviceID
        public var fraction: Double

        public init(device: DeviceID, fraction: Double) {
            self.device = device
            self.fraction = fraction
        }
    }

    /// The streaming window in CPU memory (0 slots when nothing streams).
    public struct Window: Codable, Sendable, Equatable {
        public var slots: Int
        public var slotBytes: Int
        /// Reads overlap compute (two or more slots).
        public var overlapped: Bool

        enum CodingKeys: String, CodingKey {
            case slots, slotBytes = "slot_bytes", overlapped
        }
    }

    /// Compute threads, the CPUs they are pinned to, and each one's starting share of a matmul's
    /// rows (from the core classes' relative speeds; the balancer adapts them as it runs).
    public struct Threads: Codable, Sendable, Equatable {
        public var count: Int
        public var cpus: [Int]
        public var startingShares: [Double]

        enum CodingKeys: String, CodingKey {
            case count, cpus, startingShares = "starting_shares"
        }
    }

    public struct KVPlacement: Codable, Sendable, Equatable {
        public var device: DeviceID
        /// Transformer blocks whose K and V this device holds.
        public var layers: Int
        public var bytes: Int
    }

    /// What the plan asks of one device.
    public struct DeviceUse: Codable, Sendable, Equatable {
        public var id: DeviceID
        /// `cpu`, `gpu` or `disk` (written beside the id in JSON, and checked against it on reading).
        public var kind: DeviceKind { id.kind }
        /// Bytes the plan may use on it (the budget; for the disk, the model's size).
        public var capacityBytes: Int
        /// Resident weight bytes (for the disk: bytes streamed per token).
        public var weightBytes: Int
        /// KV cache, activations, window and other buffers on the device.
        public var otherBytes: Int
        /// Rate at which it serves weights during generation (GB/s: compute/bandwidth, or the disk's reads).
        public var rateGBPerS: Double

        public init(id: DeviceID, capacityBytes: Int, weightBytes: Int, otherBytes: Int, rateGBPerS: Double) {
            self.id = id
            self.capacityBytes = capacityBytes
            self.weightBytes = weightBytes
            self.otherBytes = otherBytes
            self.rateGBPerS = rateGBPerS
        }

        enum CodingKeys: String, CodingKey {
            case id, kind, capacityBytes = "capacity_bytes", weightBytes = "weight_bytes", otherBytes = "other_bytes",
                 rateGBPerS = "rate_gb_per_s"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(DeviceID.self, forKey: .id)
            let kind = try c.decode(DeviceKind.self, forKey: .kind)
            guard kind == id.kind else {
                throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "kind '\(kind.rawValue)' for device \(id)")
            }
            capacityBytes = try c.decode(Int.self, forKey: .capacityBytes)
            weightBytes = try c.decode(Int.self, forKey: .weightBytes)
            otherBytes = try c.decode(Int.self, forKey: .otherBytes)
            rateGBPerS = try c.decode(Double.self, forKey: .rateGBPerS)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(kind, forKey: .kind)
            try c.encode(capacityBytes, forKey: .capacityBytes)
            try c.encode(weightBytes, forKey: .weightBytes)
            try c.encode(otherBytes, forKey: .otherBytes)
            try c.encode(rateGBPerS, forKey: .rateGBPerS)
        }

        public var plannedBytes: Int { weightBytes + otherBytes }
    }

    public struct Prediction: Codable, Sendable, Equatable {
        public var timeToFirstTokenSeconds: Double
        public var genTokensPerSecond: Double
        /// Peak memory per device: for CPU nodes the process's resident set (code and tables included).
        public var peakMemoryBytes: [DeviceID: Int]
        /// The parts of one generated token's time.
        public var computeSeconds: Double
        public var diskSeconds: Double
        public var transferSeconds: Double

        enum CodingKeys: String, CodingKey {
            case timeToFirstTokenSeconds = "time_to_first_token_s", genTokensPerSecond = "gen_tokens_per_s",
                 peakMemoryBytes = "peak_memory_bytes", computeSeconds = "compute_s", diskSeconds = "disk_s",
                 transferSeconds = "transfer_s"
        }

        /// Peak resident memory of the process on the host (all CPU nodes).
        public var hostPeakBytes: Int {
            peakMemoryBytes.filter { $0.key.kind == .cpu }.values.reduce(0, +)
        }
    }

    /// Devices the plan puts anything on.
    public var devicesUsed: Set<DeviceID> {
        Set(blocks.flatMap { $0.shares.map(\.device) } + kvCache.map(\.device) + (window.slots > 0 ? [.disk] : []))
    }
}

/// A plan that cannot be made or executed.
public enum PlacementError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing fits: the budget (of `device`) is below `minimum`, the smallest that would work.
    case budgetTooSmall(device: DeviceID, budget: Int, minimum: Int, detail: String)
    /// A request or plan names a device the host does not have.
    case unknownDevice(DeviceID, host: String, available: [DeviceID])
    /// A request that cannot be planned (a bad context, a weight type the host has no figures for).
    case badRequest(String)
    /// The plan does not belong to this model file (different blocks).
    case modelMismatch(plan: String, model: String, detail: String)
    /// The plan is of an unsupported schema or version, or uses something this build cannot run.
    case unsupported(String)

    public var description: String {
        switch self {
        case let .budgetTooSmall(d, b, m, detail):
            "the memory budget of \(d), \(mib(b)), is too small: \(detail); the smallest budget that works is \(mib(m))"
        case let .unknownDevice(d, h, a):
            "the plan places work on '\(d)', which host '\(h)' does not have (it has \(a.map(\.description).joined(separator: ", ")))"
        case let .badRequest(s): s
        case let .modelMismatch(p, m, detail): "the plan was made for '\(p)', not for '\(m)': \(detail)"
        case let .unsupported(s): s
        }
    }
}
