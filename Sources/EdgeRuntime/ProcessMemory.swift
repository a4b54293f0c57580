#if canImport(Glibc)
import Glibc
#endif

/// Memory figures of this process, from /proc/self/status (Linux).
public enum ProcessMemory {
    /// Peak resident set size in bytes (VmHWM), or nil where unavailable.
    public static func peakResidentBytes() -> Int? { field("VmHWM:") }
    /// Current resident set size in bytes (VmRSS).
    public static func residentBytes() -> Int? { field("VmRSS:") }
    /// Address space mapped (VmSize), what RLIMIT_AS counts.
    public static func virtualBytes() -> Int? { field("VmSize:") }

    private static func field(_ name: String) -> Int? {
        guard let f = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), f) != nil {
            let s = line.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            if s.hasPrefix(name) {
                let digits = s.dropFirst(name.count).filter(\.isNumber)
                return Int(digits).map { $0 * 1024 }
            }
        }
        return nil
    }
}

/// Monotonic seconds, for timing.
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
