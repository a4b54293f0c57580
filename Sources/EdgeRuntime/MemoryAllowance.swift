#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The memory this process may still take, from what the system says rather than what the host
/// has: the tightest of
/// - its memory cgroup's limit less what the cgroup already uses besides reclaimable page cache
///   (cgroup v2 `memory.max`, `memory.current` and `memory.stat`, or v1 `memory.limit_in_bytes`,
///   `memory.usage_in_bytes` and `memory.stat`; the smallest limit on the path from the
///   process's cgroup to the root, since every ancestor's limit applies),
/// - the kernel's `MemAvailable` (what can be allocated without swapping),
/// - `RLIMIT_AS` less the address space already mapped,
/// less a margin of 8 MiB + 5% of that headroom for what no budget counts (thread stacks, the
/// allocator's slack, the page cache of the binary and of reads).
///
/// With no `--memory-budget`, an ``Engine`` whose weights and buffers would not fit this
/// allowance streams as if it had been given as the budget (``EngineOptions/automaticBudget``).
public struct MemoryAllowance: Sendable, Equatable, CustomStringConvertible {
    /// One source of a limit and the bytes it still leaves this process.
    public struct Headroom: Sendable, Equatable, CustomStringConvertible {
        /// What limits, in words: "cgroup v1 memory limit 1024.0 MiB (/bench), 35.2 MiB in use".
        public var source: String
        public var bytes: Int

        public var description: String { "\(source): \(mib(bytes)) free" }
    }

    /// Every limit found, tightest first.
    public var headrooms: [Headroom]
    /// The margin kept free.
    public var marginBytes: Int
    /// What the process may still allocate: the tightest headroom less the margin (nil: no limit found).
    public var allowedBytes: Int?

    /// The margin: fixed part and fraction of the headroom (see the type's documentation).
    public static let marginFixedBytes = 8 << 20
    public static let marginFraction = 0.05

    public init(headrooms: [Headroom]) {
        self.headrooms = headrooms.sorted { $0.bytes < $1.bytes }
        if let tightest = self.headrooms.first {
            marginBytes = Self.marginFixedBytes + Int(Double(max(tightest.bytes, 0)) * Self.marginFraction)
            allowedBytes = max(0, tightest.bytes - marginBytes)
        } else {
            marginBytes = 0
            allowedBytes = nil
        }
    }

    public var description: String {
        guard let allowedBytes, let tightest = headrooms.first else { return "no memory limit found" }
        return "\(mib(allowedBytes)) (\(tightest.source), less a margin of \(mib(marginBytes)))"
    }

    /// This process's allowance now. `root` prefixes every path read (tests give a fake tree).
    public static func current(root: String = "") -> MemoryAllowance {
        var found: [Headroom] = []
        if let c = cgroupHeadroom(root: root) { found.append(c) }
        if let available = meminfo("MemAvailable", root: root) {
            found.append(Headroom(source: "MemAvailable \(mib(available))", bytes: available))
        }
        if root.isEmpty {
            var limit = rlimit()
            if getrlimit(Int32(RLIMIT_AS.rawValue), &limit) == 0, limit.rlim_cur < UInt(unlimited) {
                let mapped = ProcessMemory.virtualBytes() ?? 0
                found.append(Headroom(source: "RLIMIT_AS \(mib(Int(limit.rlim_cur))), \(mib(mapped)) mapped",
                                      bytes: max(0, Int(limit.rlim_cur) - mapped)))
            }
        }
        return MemoryAllowance(headrooms: found)
    }

    /// Limits above this are "no limit" (cgroup v1 writes 2^63 rounded down to a page).
    private static let unlimited = 1 << 60

    /// The tightest limit along this process's memory cgroup path, less the usage of the cgroup
    /// that has it.
    static func cgroupHeadroom(root: String) -> Headroom? {
        guard let text = readText(root + "/proc/self/cgroup") else { return nil }
        var best: Headroom?
        for line in text.split(separator: "\n") {
            // "hierarchy-ID:controller-list:path"; v2 is "0::/path", v1's memory line names "memory".
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let controllers = parts[1].split(separator: ",")
            let version: Int
            let base: String
            if parts[0] == "0" && parts[1].isEmpty {
                version = 2
                base = root + "/sys/fs/cgroup"
            } else if controllers.contains("memory") {
                version = 1
                base = root + "/sys/fs/cgroup/memory"
            } else {
                continue
            }
            var path = String(parts[2])
            while true {
                let dir = base + (path == "/" ? "" : path)
                let limitFile = version == 2 ? "/memory.max" : "/memory.limit_in_bytes"
                let usageFile = version == 2 ? "/memory.current" : "/memory.usage_in_bytes"
                if let limitText = readText(dir + limitFile)?.trimmingCharacters(in: .whitespacesAndNewlines),
                   let limit = Int(limitText), limit < unlimited {
                    let usage = readText(dir + usageFile).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
                    // Clean file pages (the page cache: the model file's pages that loading touched,
                    // the binary's) are reclaimed when the cgroup needs room, so they do not count
                    // as used; v1 names the hierarchical totals `total_*`.
                    let stat = readText(dir + "/memory.stat") ?? ""
                    let keys = version == 2 ? ["active_file", "inactive_file"] : ["total_active_file", "total_inactive_file"]
                    let cache = keys.compactMap { statValue(stat, $0) }.reduce(0, +)
                    let used = max(0, usage - cache)
                    let h = Headroom(source: "cgroup v\(version) memory limit \(mib(limit)) (\(path)), \(mib(used)) in use besides the page cache",
                                     bytes: max(0, limit - used))
                    if best.map({ h.bytes < $0.bytes }) ?? true { best = h }
                }
                if path == "/" || path.isEmpty { break }
                path = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
                if path.isEmpty { path = "/" }
            }
        }
        return best
    }

    /// The value of `key` in a memory.stat text ("key value" lines).
    static func statValue(_ text: String, _ key: String) -> Int? {
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0] == key { return Int(parts[1]) }
        }
        return nil
    }

    static func meminfo(_ key: String, root: String) -> Int? {
        guard let text = readText(root + "/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            return Int(line.dropFirst(key.count + 1).filter(\.isNumber)).map { $0 * 1024 }
        }
        return nil
    }

    /// A small text file (cgroup and proc files), nil when absent or unreadable.
    private static func readText(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n = fread(&buffer, 1, buffer.count, f)
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

private func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1048576) }
