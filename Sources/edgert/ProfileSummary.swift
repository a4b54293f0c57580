import EdgeCore
import EdgeTopology
import Foundation

/// The readable summary `edgert profile` prints after measuring.
enum ProfileSummary {
    static func text(_ r: ProbeResult, path: String) -> String {
        let p = r.profile
        var s = "Host     \(p.host.name): \(p.host.description)\n"
        s += "CPU      \(p.cpu.model), \(p.cpu.architecture)\(p.cpu.features.isEmpty ? "" : ": " + p.cpu.features.joined(separator: " ")); \(p.cpu.hybrid ? "hybrid" : "not hybrid")\n"
        for c in p.cpu.coreClasses {
            let speeds = c.cpus.compactMap { cpu in r.perCPUBytesPerSecond[cpu].map { "\(cpu): \(gb($0))" } }
            s += "Cores    \(c.type): CPUs \(list(c.cpus)), relative speed \(String(format: "%.2f", c.relativeSpeed.value))"
            s += speeds.isEmpty ? "\n" : " (\(ProbeOptions.referenceKernelType) matvec GB/s per CPU \(speeds.joined(separator: ", ")))\n"
        }
        s += "Memory   \(gib(p.memory.totalBytes.value)) total, \(gib(p.memory.availableBytes.value)) available\n"
        s += "NUMA     \(p.numa.nodes.count) node\(p.numa.nodes.count == 1 ? "" : "s")"
        if p.numa.nodes.count > 1 { s += ", distances " + p.numa.distances.map { $0.map(String.init).joined(separator: " ") }.joined(separator: " / ") }
        s += "\n"
        for n in p.numa.nodes {
            s += "  node \(n.id): CPUs \(list(n.cpus)), \(gib(n.memoryBytes.value)); memory read \(String(format: "%.2f", n.readGBPerSOneCore.value)) GB/s one core, \(String(format: "%.2f", n.readGBPerSAllCores.value)) GB/s all cores\n"
            if let curve = n.readCurve, !curve.isEmpty {
                s += "  node \(n.id) by working set (GB/s one core / all cores): "
                    + curve.map { "\(ByteCount($0.workingSetBytes).whole) \(String(format: "%.1f/%.1f", $0.oneCoreGBPerS.value, $0.allCoresGBPerS.value))" }.joined(separator: ", ") + "\n"
            }
        }
        if let caches = p.cpu.caches, !caches.isEmpty {
            s += "Caches   " + caches.map { "L\($0.level) \(ByteCount(Int($0.bytes.value)).whole)\($0.sharedByCPUs > 1 ? " shared by \($0.sharedByCPUs) CPUs" : "")" }.joined(separator: ", ") + "\n"
        }
        if let x = p.numa.crossNodeReadGBPerS { s += "  across nodes: \(String(format: "%.2f", x.value)) GB/s\n" }
        for c in p.cpu.coreClasses where !c.kernels.isEmpty {
            s += "Kernels  one \(c.type) core\n"
            s += "  type    matvec GB/s in cache   from memory   matmul GFLOP/s\n"
            for k in c.kernels {
                s += "  " + k.weightType.padding(toLength: 6, withPad: " ", startingAt: 0)
                    + String(format: "%22.2f", k.matvecGBPerS.value)
                    + (k.matvecDRAMGBPerS.map { String(format: "%14.2f", $0.value) } ?? "             -")
                    + String(format: "%17.1f\n", k.matmulGflops.value)
            }
        }
        if p.storage.isEmpty { s += "Storage  not measured\n" }
        for d in p.storage {
            s += "Storage  \(d.name) (\(d.kind)) holding \(d.path): sequential read \(String(format: "%.2f", d.sequentialReadGBPerS.value)) GB/s"
            if let l = d.random4KLatencyUs {
                s += "; 4 KiB random reads p50 \(us(l.p50.value)), p90 \(us(l.p90.value)), p99 \(us(l.p99.value))"
            }
            s += "\n"
            if let curve = d.readCurve, !curve.isEmpty {
                s += "  by request size × in flight (GB/s, median): "
                    + curve.map { "\(ByteCount($0.requestBytes).whole)×\($0.inFlight) \(String(format: "%.2f", $0.gbPerS.value))" }.joined(separator: ", ") + "\n"
            }
        }
        s += "GPU      " + (p.gpus.isEmpty ? "none" : p.gpus.map { g in
            var t = "\(g.id) \(g.name)\(g.kind.map { " (\($0))" } ?? "")\(g.memoryBytes.isEstimate ? "" : ", " + gib(g.memoryBytes.value))"
            if !g.memoryGBPerS.isEstimate { t += String(format: ", memory %.2f GB/s, upload %.2f GB/s", g.memoryGBPerS.value, g.linkGBPerS.value) }
            if let k = g.matvecGBPerS, !k.isEmpty {
                t += ", matvec GB/s " + k.sorted { $0.key < $1.key }.map { String(format: "%@ %.2f", $0.key, $0.value) }.joined(separator: " ")
            }
            return t
        }.joined(separator: "; ")) + "\n"
        for note in r.notes { s += "Note     \(note)\n" }
        s += "Wrote    \(path) (\(String(format: "%.1f", r.seconds)) s)\n"
        return s
    }

    private static func gb(_ bytesPerSecond: Double) -> String { String(format: "%.2f", bytesPerSecond / 1e9) }
    private static func gib(_ bytes: Double) -> String { String(format: "%.1f GiB", bytes / Double(1 << 30)) }
    private static func us(_ v: Double) -> String { String(format: v < 10 ? "%.1f µs" : "%.0f µs", v) }

    static func list(_ cpus: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let s = cpus.sorted()
        while i < s.count {
            var j = i
            while j + 1 < s.count && s[j + 1] == s[j] + 1 { j += 1 }
            parts.append(j == i ? "\(s[i])" : "\(s[i])-\(s[j])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }
}
