#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory (or, for tests and tools, a private copy of some
/// bytes that stands in for one).
///
/// Invariant for `@unchecked Sendable`: the mapping (or copy) is created in `init`, never
/// written through afterwards, and released only in `deinit`, so concurrent reads are safe.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let size: Int
    /// Base address of the mapping (nil only for an empty file).
    public let base: UnsafeRawPointer?
    /// True when `base` is a heap copy (from ``init(copying:name:)``) rather than an mmap.
    private let isCopy: Bool

    public init(path: String) throws(FormatError) {
        self.path = path
        isCopy = false
        // O_NONBLOCK: opening a FIFO for reading would otherwise block until a writer appears;
        // it has no effect on regular files, and anything else is rejected below.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: throw .cannotOpen(path: path, reason: "is a directory, not a file")
        default: throw .cannotOpen(path: path, reason: "not a regular file")
        }
        size = Int(st.st_size)
        if size == 0 { base = nil; return }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw .cannotOpen(path: path, reason: "mmap failed: " + String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(p)
    }

    /// A private copy of `bytes` that reads like a mapped file named `name` (for parsing files
    /// built in memory, e.g. by ``GGUFWriter/bytes()``, without touching the disk).
    public init(copying bytes: [UInt8], name: String = "<memory>") {
        path = name
        size = bytes.count
        isCopy = true
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
            munmap(UnsafeMutableRawPointer(mutating: base), size)
        }
    }
}
