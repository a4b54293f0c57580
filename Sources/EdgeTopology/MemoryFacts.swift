import Foundation

/// RAM as `/proc/meminfo` gives it.
public struct MemoryFacts: Sendable, Equatable {
    /// MemTotal: RAM the OS sees.
    public var totalBytes: Int
    /// MemAvailable: what a new process may use without swapping (the kernel's estimate).
    public var availableBytes: Int

    public init(totalBytes: Int, availableBytes: Int) {
        self.totalBytes = totalBytes
        self.availableBytes = availableBytes
    }

    /// Parses `/proc/meminfo` from `system`; nil when it is missing or lacks MemTotal.
    public static func read(from system: HostSystem) -> MemoryFacts? {
        guard let text = system.readFile("/proc/meminfo") else { return nil }
        func kib(_ key: String) -> Int? {
            for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
                return Int(line.dropFirst(key.count + 1).split(separator: " ").first ?? "")
            }
            return nil
        }
        guard let total = kib("MemTotal"), total > 0 else { return nil }
        let available = min(kib("MemAvailable") ?? kib("MemFree") ?? total, total)
        return MemoryFacts(totalBytes: total * 1024, availableBytes: available * 1024)
    }
}
