import ArgumentParser
import EdgeCore
import EdgeDevices
import Foundation

struct DevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List the host's compute devices: CPU nodes and Vulkan GPUs (the numbers --gpu takes).",
        discussion: "A host without Vulkan lists its CPU nodes and says once why there is no GPU.")

    @Flag(name: .long, help: "Also measure each GPU: device-memory copy bandwidth, host-to-device upload, each matmul kernel's rate.")
    var measure = false

    @Flag(name: .long, help: "Print the GPUs (and measurements) as JSON.")
    var json = false

    struct Entry: Encodable {
        var gpu: GPUInfo
        var measured: Measured?
        struct Measured: Encodable {
            var memory_gb_per_s: Double
            var upload_gb_per_s: Double
            var matvec_gb_per_s: [String: Double]
            var matmul_f32_gflops: Double
        }
    }

    func run() async throws {
        try await reportingErrors {
            let topology = NUMATopology.current()
            var gpus: [GPUInfo] = []
            var why: String?
            do { gpus = try vulkanDevices() } catch { why = "\(error)" }
            var entries: [Entry] = []
            for g in gpus {
                var e = Entry(gpu: g)
                if measure {
                    if !json { printError("devices: measuring gpu\(g.index) (\(g.name))...") }
                    let m = try VulkanDevice(index: g.index).measure()
                    e.measured = .init(memory_gb_per_s: m.memoryBytesPerSecond / 1e9, upload_gb_per_s: m.uploadBytesPerSecond / 1e9,
                                       matvec_gb_per_s: Dictionary(uniqueKeysWithValues: m.matvecBytesPerSecond.map { ($0.key.description, $0.value / 1e9) }),
                                       matmul_f32_gflops: m.matmulFlops / 1e9)
                }
                entries.append(e)
            }
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try enc.encode(entries), as: UTF8.self))
                return
            }
            for (n, cpus) in topology.cpusByNode.enumerated() {
                print("cpu\(n): \(cpus.count) CPU\(cpus.count == 1 ? "" : "s") (\(cpus.map(String.init).joined(separator: ",")))")
            }
            if let why { print(why) }
            if why == nil, gpus.isEmpty { print("no GPU: the Vulkan loader lists no device") }
            for e in entries {
                let g = e.gpu
                let memory = String(format: "%.1f GiB%@", Double(g.memoryBytes) / Double(1 << 30), g.sharedWithHost ? " shared with the host" : "")
                let software = g.kind == "cpu" ? " — a software device that runs on the CPU: correct, not fast" : ""
                print("gpu\(g.index): \(g.name) (\(g.kind)\(software)), Vulkan \(g.apiVersion), \(memory), subgroup \(g.subgroupSize), vendor 0x\(String(g.vendorID, radix: 16)) device 0x\(String(g.deviceID, radix: 16))")
                if let m = e.measured {
                    let kernels = m.matvec_gb_per_s.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f", $0.key, $0.value) }.joined(separator: ", ")
                    print(String(format: "  measured: memory %.2f GB/s (copy), upload %.2f GB/s, F32 matmul %.2f GFLOP/s; matvec GB/s: %@",
                                 m.memory_gb_per_s, m.upload_gb_per_s, m.matmul_f32_gflops, kernels))
                }
            }
        }
    }
}
