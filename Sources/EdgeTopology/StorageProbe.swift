import CEdgeKernels
import EdgeDevices
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The storage probe: writes a temporary file of pseudo-random data in a directory, reads it
/// sequentially with large requests in flight, then 4 KiB at random offsets one at a time.
///
/// The file is opened with O_DIRECT (so neither the writes nor the reads go through the page
/// cache) and unlinked as soon as it is created, so nothing is left behind even if the process is
/// killed; its blocks are freed when the descriptor closes. Where the file system refuses
/// O_DIRECT the file is written and read through the page cache, the file's cached pages dropped
/// (POSIX_FADV_DONTNEED) before each measurement, and the measurement says so.
enum StorageProbe {
    /// Smallest file worth measuring: 64 MiB.
    static let minimumFileBytes = 64 << 20

    static func measure(directory: String, plan: StoragePlan) throws(TopologyError) -> StorageMeasurement {
        func fail(_ reason: String) -> TopologyError { .storageUnavailable(directory: directory, reason: reason) }
        let request = max(4096, plan.requestBytes / 4096 * 4096)
        // Leave three quarters of the free space alone.
        var vfs = statvfs()
        guard statvfs(directory, &vfs) == 0 else { throw fail(String(cString: strerror(errno))) }
        let free = Int(vfs.f_bavail) * Int(vfs.f_frsize)
        let bytes = min(plan.fileBytes, free / 4) / request * request
        guard bytes >= min(Self.minimumFileBytes, plan.fileBytes) / request * request, bytes >= request else {
            throw fail("only \(free >> 20) MiB free; the probe needs a \(plan.fileBytes >> 20) MiB file (at most a quarter of the free space)")
        }

        let path = (directory as NSString).appendingPathComponent(".edgert-profile-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tmp")
        var direct = true
        var fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | edge_open_flag_direct(), 0o600)
        if fd < 0 && errno == EINVAL {
            direct = false
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw fail("cannot create a file there: \(String(cString: strerror(errno)))") }
        unlink(path)
        defer { close(fd) }

        // Write: one request-sized buffer of random words, each 4 KiB page stamped with its file
        // offset so that no two pages are equal (a deduplicating or compressing disk cannot skip them).
        let buffer: AlignedBuffer
        do { buffer = try AlignedBuffer(byteCount: request, what: "storage probe") } catch {
            throw .allocationFailed(what: "the storage probe's write buffer", bytes: request)
        }
        var rng = XorShift(seed: 0xD15C)
        for o in stride(from: 0, to: request, by: 8) { buffer.base.storeBytes(of: rng.next(), toByteOffset: o, as: UInt64.self) }
        var offset = 0
        while offset < bytes {
            for page in stride(from: 0, to: request, by: 4096) {
                buffer.base.storeBytes(of: UInt64(offset + page), toByteOffset: page, as: UInt64.self)
            }
            var done = 0
            while done < request {
                let n = pwrite(fd, buffer.base + done, request - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw fail("writing the probe file failed: \(String(cString: strerror(errno)))") }
                done += n
            }
            offset += request
        }
        guard fsync(fd) == 0 else { throw fail("fsync failed: \(String(cString: strerror(errno)))") }

        func dropCache() { if !direct { posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) } }
        var best = 0.0
        for _ in 0..<max(plan.passes, 1) {
            dropCache()
            let seconds = edge_host_read_parallel(fd, Int64(bytes), Int64(request), Int32(max(plan.inFlight, 1)))
            guard seconds > 0 else { throw fail("reading the probe file failed: \(String(cString: strerror(Int32(-seconds))))") }
            best = max(best, Double(bytes) / seconds)
        }
        // The read curve: each request size at each depth, several passes over parts of the file
        // that move along it (so no pass reads what the one before left in a cache), median.
        var curve: [StorageCurvePoint] = []
        for depth in plan.curveDepths where depth >= 1 {
            for size in plan.curveRequests where size >= 4096 {
                let req = size / 4096 * 4096
                let span = max(req * depth, min(plan.curveBytes, bytes) / (req * depth) * (req * depth))
                guard span <= bytes else { continue }
                var rates: [Double] = []
                for pass in 0..<max(plan.curvePasses, 1) {
                    dropCache()
                    let slots = max(1, bytes / span)
                    let start = (pass + curve.count) % slots * span
                    let seconds = edge_host_read_range(fd, Int64(start), Int64(span), Int64(req), Int32(depth))
                    guard seconds > 0 else { throw fail("reading the probe file failed: \(String(cString: strerror(Int32(-seconds))))") }
                    rates.append(Double(span) / seconds)
                }
                curve.append(StorageCurvePoint(requestBytes: req, inFlight: depth, bytesPerSecond: rates.median!, passes: rates))
            }
        }
        dropCache()
        var latencies = [Double](repeating: 0, count: max(plan.randomReads, 0))
        let made = plan.randomReads > 0
            ? edge_host_random_reads(fd, Int64(bytes), Int64(plan.randomReads), 0x4B1D, plan.randomSeconds, &latencies) : 0
        guard made >= 0 else { throw fail("a random read failed: \(String(cString: strerror(Int32(-made))))") }
        return StorageMeasurement(fileBytes: bytes, sequentialBytesPerSecond: best,
                                  randomLatenciesUs: Array(latencies.prefix(Int(made))), directIO: direct, curve: curve)
    }
}
