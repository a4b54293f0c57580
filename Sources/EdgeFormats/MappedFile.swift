#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CEdgeFault

/// A whole file mapped read-only into memory (or, for tests and tools, a private copy of some
/// bytes that stands in for one).
///
/// A file that changes underneath its mapping (another process truncates it or rewrites it in
/// place) must not take the process down: reading a page past a truncated file's new end raises
/// SIGBUS. The mapping is therefore guarded (`edge_fault_guard`): such a fault makes the rest of
/// the mapping read as zeros instead, and ``checkUnchanged()``, which the runtime calls after
/// loading and after every forward pass, turns it — or a size or modification time that differs
/// from the one mapped — into ``FormatError/fileChanged(path:reason:)`` for that operation. (A file
/// replaced by renaming a new one over its path is no danger: the mapping keeps the old file.)
///
/// Invariant for `@unchecked Sendable`: the mapping (or copy), the descriptor and the guard slot
/// are created in `init`, never written through afterwards, and released only in `deinit`, so
/// concurrent reads are safe. (The fault handler may replace pages of the mapping with zero pages:
/// a read then sees zeros, never unmapped memory.)
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    /// Base address of the mapping (nil only for an empty file).
    public let base: UnsafeRawPointer?
    /// True when `base` is a heap copy (from ``init(copying:name:)``) rather than an mmap.
    private let isCopy: Bool
    /// The open file, kept to check its size and modification time against the mapping's (-1 for a copy).
    private let fd: Int32
    /// Modification time when mapped (seconds, nanoseconds).
    private let modified: (Int, Int)
    /// The mapping's slot in the SIGBUS guard table (-1: not guarded).
    private let guardSlot: Int32

    public init(path: String) throws(FormatError) {
        self.path = path
        isCopy = false
        // O_NONBLOCK: opening a FIFO for reading would otherwise block until a writer appears;
        // it has no effect on regular files, and anything else is rejected below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotOpen(path: path, reason: reason)
        }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: close(fd); throw .cannotOpen(path: path, reason: "is a directory, not a file")
        default: close(fd); throw .cannotOpen(path: path, reason: "not a regular file")
        }
        size = Int(st.st_size)
        modified = (Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec))
        if size == 0 {
            close(fd)
            self.fd = -1
            base = nil
            guardSlot = -1
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw .cannotOpen(path: path, reason: "mmap failed: " + reason)
        }
        self.fd = fd
        base = UnsafeRawPointer(p)
        guardSlot = edge_fault_guard(p, size)
    }

    /// Throws ``FormatError/fileChanged(path:reason:)`` when the file changed since it was mapped:
    /// a page read past its end (truncated: the read saw zeros), a smaller or larger size now, or
    /// a new modification time (rewritten in place: the bytes read may mix two files). Cheap (one
    /// `fstat`): called after loading and after every forward pass.
    public func checkUnchanged() throws(FormatError) {
        guard !isCopy, fd >= 0 else { return }
        var st = stat()
        let statted = fstat(fd, &st) == 0
        let now = statted ? Int(st.st_size) : size
        if guardSlot >= 0, edge_fault_count(guardSlot) > 0 {
            throw .fileChanged(path: path, reason: "it was truncated to \(now) bytes while in use (it had \(size) when loaded); the bytes past its new end read as zeros")
        }
        guard statted else { return }
        if now != size {
            throw .fileChanged(path: path, reason: "its size changed from \(size) to \(now) bytes while in use")
        }
        if (Int(st.st_mtim.tv_sec), Int(st.st_mtim.tv_nsec)) != modified {
            throw .fileChanged(path: path, reason: "it was modified in place while in use (its modification time changed)")
        }
    }

    /// A private copy of `bytes` that reads like a mapped file named `name` (for parsing files
    /// built in memory, e.g. by ``GGUFWriter/bytes()``, without touching the disk).
    public init(copying bytes: [UInt8], name: String = "<memory>") {
        path = name
        size = bytes.count
        isCopy = true
        fd = -1
        modified = (0, 0)
        guardSlot = -1
        guard !bytes.isEmpty else { base = nil; return }
        let p = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
        bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        base = UnsafeRawPointer(p)
    }

    /// The mapped bytes.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: size) }

    /// Returns the pages of the mapping to the system: they leave this process's resident set and
    /// the page cache (clean file pages; touching them again reads the file). Used when the weights
    /// are read through a disk tier instead, so that pages touched while loading (metadata, norm
    /// vectors and the kernel's fault-around neighbours) do not stay counted against a memory budget.
    public func dropResidentPages() {
        guard let base, !isCopy else { return }
        madvise(UnsafeMutableRawPointer(mutating: base), size, MADV_DONTNEED)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            posix_fadvise(fd, 0, off_t(size), POSIX_FADV_DONTNEED)
            close(fd)
        }
    }

    deinit {
        guard let base else { return }
        if isCopy {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        } else {
            edge_fault_unguard(guardSlot)
            munmap(UnsafeMutableRawPointer(mutating: base), size)
            close(fd)
        }
    }
}
