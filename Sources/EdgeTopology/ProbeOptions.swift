import EdgeCore

/// How much time `edgert profile` spends on each measurement. ``quick`` finishes in about 10-20 s
/// on a small host, ``full`` in well under 90 s.
public struct ProbeOptions: Sendable, Equatable {
    /// Written to the profile's `host.tool`.
    public var tool: String
    /// Bytes of the memory probe's buffer: 1 GiB, far above any last-level cache edgert's hosts
    /// have (see ``MemoryBandwidth/defaultProbeBytes``); reduced to a quarter of the available memory.
    public var memoryProbeBytes: Int
    /// Timed passes over it (the fastest counts), and how many times the probe runs (the best counts).
    public var memoryPasses: Int
    public var memoryRepeats: Int
    /// The working-set curve: sizes from ``curveSmallestBytes`` up to ``memoryProbeBytes``, each
    /// ``curveStep`` times the one before, each the median of ``curvePasses`` passes.
    public var curveSmallestBytes: Int = 16 << 10
    public var curveStep: Int
    public var curvePasses: Int
    /// Passes over the weights (far beyond the last-level cache) when timing each kernel from
    /// main memory; the median counts.
    public var kernelFromMemoryPasses: Int
    /// Seconds spent timing each kernel (matvec and matmul of each weight type on each class).
    public var kernelSeconds: Double
    /// Seconds spent timing the reference kernel on each CPU to compare cores.
    public var perCPUSeconds: Double
    /// Weight types whose kernels are timed.
    public var kernelTypes: [TensorType]
    /// The directory whose storage is measured; nil measures none.
    public var storageDirectory: String?
    public var storage: StoragePlan

    public init(tool: String, memoryProbeBytes: Int, memoryPasses: Int, memoryRepeats: Int, kernelSeconds: Double,
                perCPUSeconds: Double, kernelTypes: [TensorType] = ProbeOptions.allKernelTypes,
                storageDirectory: String?, storage: StoragePlan, curveStep: Int = 4, curvePasses: Int = 3,
                kernelFromMemoryPasses: Int = 2) {
        self.tool = tool
        self.memoryProbeBytes = memoryProbeBytes
        self.memoryPasses = memoryPasses
        self.memoryRepeats = memoryRepeats
        self.curveStep = curveStep
        self.curvePasses = curvePasses
        self.kernelFromMemoryPasses = kernelFromMemoryPasses
        self.kernelSeconds = kernelSeconds
        self.perCPUSeconds = perCPUSeconds
        self.kernelTypes = kernelTypes
        self.storageDirectory = storageDirectory
        self.storage = storage
    }

    /// Every weight type edgert computes with, most used first.
    public static let allKernelTypes: [TensorType] = [.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K, .q2_K, .q3_K,
                                                      .iq4_nl, .iq4_xs, .f16, .bf16, .f32]

    /// The kernel timed on every CPU to compare cores: Q4_K matvec, the most common type of
    /// published GGUF files.
    public static let referenceKernelType = TensorType.q4_K

    public static func quick(storageDirectory: String?) -> ProbeOptions {
        ProbeOptions(tool: "edgert profile --quick", memoryProbeBytes: 1 << 30, memoryPasses: 3, memoryRepeats: 1,
                     kernelSeconds: 0.15, perCPUSeconds: 0.1, storageDirectory: storageDirectory,
                     storage: StoragePlan(fileBytes: 256 << 20, passes: 1, randomReads: 1000, randomSeconds: 1,
                                          curvePasses: 3, curveBytes: 48 << 20),
                     curveStep: 4, curvePasses: 3, kernelFromMemoryPasses: 2)
    }

    public static func full(storageDirectory: String?) -> ProbeOptions {
        ProbeOptions(tool: "edgert profile", memoryProbeBytes: 1 << 30, memoryPasses: 5, memoryRepeats: 3,
                     kernelSeconds: 0.75, perCPUSeconds: 0.4, storageDirectory: storageDirectory,
                     storage: StoragePlan(fileBytes: 1 << 30, passes: 3, randomReads: 5000, randomSeconds: 4,
                                          curvePasses: 5, curveBytes: 192 << 20),
                     curveStep: 2, curvePasses: 5, kernelFromMemoryPasses: 3)
    }

    /// The working-set sizes of the curve.
    public var curveSizes: [Int] {
        var sizes: [Int] = []
        var s = max(curveSmallestBytes, 4096)
        while s < memoryProbeBytes {
            sizes.append(s)
            s *= max(curveStep, 2)
        }
        sizes.append(memoryProbeBytes)
        return sizes
    }
}

/// One line of progress: step `step` of `steps` has started (`finished == false`) or ended with
/// `message` saying what it measured.
public struct ProbeProgress: Sendable, Equatable {
    public var step: Int
    public var steps: Int
    public var message: String
    public var finished: Bool

    public init(step: Int, steps: Int, message: String, finished: Bool) {
        self.step = step
        self.steps = steps
        self.message = message
        self.finished = finished
    }
}
