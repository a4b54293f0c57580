// swift-tools-version: 6.0
import PackageDescription

// Optimise the C kernels even in debug builds: a -O0 SIMD kernel is a different program.
let kernelCFlags: [CSetting] = [.unsafeFlags(["-O3", "-fno-math-errno", "-std=gnu11"])]

let package = Package(
    name: "edgert",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "EdgeRuntime", targets: ["EdgeRuntime"]),
        // The HTTP server, apart so that a library user does not pull in the HTTP stack.
        .library(name: "EdgeServer", targets: ["EdgeServer"]),
        .executable(name: "edgert", targets: ["edgert"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
    ],
    targets: [
        // System libraries (installed by scripts/setup.sh with apt).
        .systemLibrary(name: "CNuma", path: "Sources/CNuma",
                       providers: [.apt(["libnuma-dev"])]),

        // Value types, errors, tensor types. No I/O.
        .target(name: "EdgeCore"),
        // GGUF over mmap -> manifest; indexes weights, never copies them.
        .target(name: "EdgeFormats", dependencies: ["EdgeCore", "CEdgeFault"]),
        // C: the SIGBUS guard that turns a model file truncated under its mapping into an error.
        .target(name: "CEdgeFault"),
        // Byte-level BPE and SentencePiece-style BPE from GGUF metadata.
        .target(name: "EdgeTokenizer", dependencies: ["EdgeCore", "EdgeFormats"]),
        // The Jinja subset real chat templates use.
        .target(name: "EdgeTemplate"),
        // C: block layouts, reference dequantizers, activation quantizers, dot kernels with
        // runtime ISA dispatch, the spinning worker pool.
        .target(name: "CEdgeKernels", cSettings: kernelCFlags,
                linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]),
        // C: the Vulkan compute device (loader opened at run time) and its SPIR-V kernels, compiled
        // from shaders/*.comp by scripts/build-shaders.sh and committed; without the Vulkan headers
        // it builds as a stub that reports "not built".
        .target(name: "CEdgeVulkan", exclude: ["shaders"], cSettings: kernelCFlags,
                linkerSettings: [.linkedLibrary("dl"), .linkedLibrary("pthread")]),
        // Swift face of the kernels.
        .target(name: "EdgeKernels", dependencies: ["EdgeCore", "CEdgeKernels"]),
        // Actors that own host resources: CPUNode (pinned worker pool), KV cache.
        .target(name: "EdgeDevices", dependencies: ["EdgeCore", "EdgeKernels", "CEdgeKernels", "CNuma", "CEdgeVulkan"]),
        // Probes the host: CPU identity and core classes, NUMA, memory and kernel speed, storage,
        // GPUs -> HostProfile. File-system reads and CPUID behind HostSystem, timings behind
        // HostBenchmarks, so tests can fake a host.
        .target(name: "EdgeTopology", dependencies: ["EdgeCore", "EdgeKernels", "EdgeDevices", "CEdgeKernels", "CNuma"]),
        // Pure placement decisions: what stays resident, what streams, and what it should cost.
        .target(name: "EdgePlanner", dependencies: ["EdgeCore"]),
        // The embeddable facade: model, forward pass, sampler, generation stream.
        .target(name: "EdgeRuntime", dependencies: [
            "EdgeCore", "EdgeFormats", "EdgeTokenizer", "EdgeTemplate", "EdgeKernels", "EdgeDevices",
            "EdgePlanner",
        ]),
        // OpenAI-compatible HTTP server over the runtime's batch scheduler (Hummingbird 2).
        .target(name: "EdgeServer", dependencies: [
            "EdgeRuntime", "EdgeTemplate",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "edgert", dependencies: [
            "EdgeRuntime", "EdgeServer", "EdgeFormats", "EdgeTokenizer", "EdgeCore", "EdgeDevices", "EdgePlanner", "EdgeTopology",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .testTarget(name: "EdgeFormatsTests", dependencies: ["EdgeFormats", "EdgeCore"]),
        .testTarget(name: "EdgeKernelsTests", dependencies: ["EdgeKernels", "EdgeCore", "EdgeFormats", "CEdgeKernels", "EdgeDevices", "CEdgeVulkan"],
                    exclude: ["oracle"]),
        .testTarget(name: "EdgeTokenizerTests", dependencies: ["EdgeTokenizer", "EdgeFormats", "EdgeCore"]),
        .testTarget(name: "EdgeTemplateTests", dependencies: ["EdgeTemplate"], exclude: ["oracle", "templates", "golden"]),
        .testTarget(name: "EdgeRuntimeTests", dependencies: ["EdgeRuntime", "EdgeFormats", "EdgeCore", "EdgeDevices", "EdgeKernels", "EdgeTemplate"],
                    exclude: ["oracle"]),
        .testTarget(name: "EdgePlannerTests", dependencies: ["EdgePlanner", "EdgeCore"], exclude: ["golden"]),
        .testTarget(name: "EdgeDevicesTests", dependencies: ["EdgeDevices", "CEdgeKernels", "CEdgeVulkan", "EdgeCore"]),
        .testTarget(name: "EdgeTopologyTests", dependencies: ["EdgeTopology", "EdgeCore", "EdgeKernels"],
                    exclude: ["fixtures"]),
        .testTarget(name: "edgertCLITests", dependencies: ["EdgeFormats", "EdgeCore"]),
        .testTarget(name: "EdgeServerTests", dependencies: ["EdgeServer"]),
    ],
    swiftLanguageModes: [.v6]
)
