import EdgeCore
import Foundation
import EdgeDevices
import EdgePlanner
import CEdgeKernels

/// Where a forward pass reads each weight matrix from: the file's memory mapping, a repacked copy
/// (the default for a mapped model: see ``init(mapped:repack:)``), resident copies in owned memory,
/// or blocks streamed through the ``WeightScheduler``'s window.
///
/// A matrix is read as one or more pieces — row ranges — so that a matrix larger than a window
/// slot streams in chunks; a row range of a GGUF matrix is contiguous in the file, and each output
/// element depends on one row only, so cutting a matrix into row ranges gives the same numbers.
///
/// Invariant for `@unchecked Sendable`: built once, then read-only, except the scheduler (itself
/// thread-safe) and the resident buffer, written only while the placement is built.
public final class WeightPlacement: @unchecked Sendable {
    /// Where one piece's bytes are.
    enum Source {
        case memory(UnsafeRawPointer)
        /// The whole matrix repacked into the x16 row-interleaved layout (edge_packed.h) for
        /// edge_op_matmul_packed; the file layout stays readable through the mapping.
        case packed(UnsafeRawPointer)
        case streamed(block: Int, offset: Int)   // offset from the block's first byte
    }

    /// Rows [rowStart, rowStart + rows) of a matrix.
    struct Piece {
        let rowStart: Int
        let rows: Int
        let source: Source
        /// The block is released after this piece (its last use in the pass).
        let releasesBlock: Bool
    }

    /// The seven matrices of a block, in the order the forward pass reads them.
    enum Role: Int, CaseIterable { case wq, wk, wv, wo, gate, up, down }

    /// pieces[layer][role]
    let layerPieces: [[[Piece]]]
    let outputPieces: [Piece]
    /// Row ranges the output projection is read in (1 unless it streams in chunks).
    public var outputChunkCount: Int { outputPieces.count }
    /// The streaming window (nil when nothing streams).
    public let scheduler: WeightScheduler?
    /// The disk the streamed blocks come from (nil for a mapped model).
    public let disk: DiskTier?
    /// Token embedding rows come from disk (the embedding is not resident).
    let embeddingFromDisk: Bool
    /// The streaming decisions (nil for a mapped model).
    public let plan: StreamingPlan?
    /// Bytes of weights copied into owned memory.
    public let residentBytes: Int
    /// Bytes of weights in the x16 layout (a copy for a mapped model, in place for resident
    /// blocks), included in `residentBytes`; `packedFileBytes` is what the same matrices take in
    /// the file (equal: an x16 record is exactly 16 file blocks).
    public let packedBytes: Int
    public let packedFileBytes: Int
    /// Matrices (or resident row ranges) repacked, and for a mapped model those left in file
    /// layout with the reason (type without an x16 layout, rows not a multiple of 16, or the copy
    /// could not be allocated).
    public let packedMatrices: Int
    public let unpackedReasons: [String: Int]
    private let packedStore: AlignedBuffer?
    /// Read bandwidth used for planning (bytes/s; measured unless given), 0 for a mapped model.
    public let diskBytesPerSecond: Double
    private let residentStore: AlignedBuffer?
    /// File ranges held by resident blocks and where they are, sorted by offset.
    private let residentRanges: [(offset: Int, length: Int, base: UnsafeRawPointer)]

    /// The address of file bytes [offset, offset + length) when a resident block holds them all.
    func residentAddress(fileOffset offset: Int, length: Int) -> UnsafeRawPointer? {
        var lo = 0, hi = residentRanges.count
        while lo < hi {   // first range starting after offset
            let mid = (lo + hi) / 2
            if residentRanges[mid].offset <= offset { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let r = residentRanges[lo - 1]
        guard offset + length <= r.offset + r.length else { return nil }
        return r.base + (offset - r.offset)
    }

    /// Every matrix read from the memory mapping, except that with `repack` (the default) each
    /// matrix whose type has an x16 layout and whose row count is a multiple of 16 is repacked
    /// once into owned memory and read from there (generation's matvec then runs one row per SIMD
    /// lane: see edge_packed.h). The copy costs the matrix's file size; the
    /// token embedding stays mapped (rows are looked up, not multiplied), so a tied output
    /// projection costs its size once more. If the copy cannot be allocated, the mapping is used.
    public init(mapped w: ModelWeights, repack: Bool = true) {
        let mats: [MatrixWeight] = w.layers.flatMap { [$0.wq, $0.wk, $0.wv, $0.wo, $0.gate, $0.up, $0.down] } + [w.output]
        var reasons: [String: Int] = [:]
        var plan: [(MatrixWeight, offset: Int, bytes: Int)] = []
        var total = 0
        if repack {
            for m in mats {
                let t = Int32(m.type.rawValue)
                guard edge_packed_used(t) != 0 else { reasons["\(m.type): x16 layout not used", default: 0] += 1; continue }
                let bytes = edge_packed_bytes(t, Int64(m.rows), Int64(m.columns))
                guard bytes > 0 else { reasons["rows not a multiple of 16", default: 0] += 1; continue }
                plan.append((m, total, bytes))
                total += (bytes + 63) & ~63
            }
        }
        var store: AlignedBuffer? = nil
        if total > 0 {
            do {
                store = try AlignedBuffer(byteCount: total, what: "repacked weights")
                // Transparent huge pages where the kernel offers them on request ("madvise" mode):
                // a matvec streams the whole copy per token, and 2 MiB pages spare a TLB miss per
                // 4 KiB. Advisory: ignored where THP is off.
                _ = madvise(store!.base, total, MADV_HUGEPAGE)
            } catch {
                reasons["repacked copy not allocated (\(error))", default: 0] += plan.count
                plan = []
            }
        }
        var packedAt: [Int: UnsafeRawPointer] = [:]   // fileOffset -> packed copy
        if let store {
            // The store's address as an integer: each job writes its own disjoint range of it.
            let base = UInt(bitPattern: store.base)
            let jobs = plan
            // One matrix per job: repacking is a byte shuffle bound by memory, done once at load.
            // It cannot fail: type and shape were checked by edge_packed_bytes above.
            DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
                let (m, at, _) = jobs[i]
                _ = edge_pack_rows(Int32(m.type.rawValue), Int64(m.columns), m.data, m.rowBytes, Int64(m.rows),
                                   UnsafeMutableRawPointer(bitPattern: base + UInt(at)))
                // The copy replaces the file layout for the forward pass: ask the kernel to reclaim the
                // mapped pages just read (whole pages inside the matrix only), so resident memory
                // holds the model once, not twice. MADV_PAGEOUT loses nothing: clean file pages are
                // re-read and anonymous ones swapped if ever touched again (the F32-activation path
                // does). Advisory: ignored on kernels before 5.4.
                let page = UInt(getpagesize())
                let lo = (UInt(bitPattern: m.data) + page - 1) / page * page
                let hi = (UInt(bitPattern: m.data) + UInt(m.byteCount)) / page * page
                if hi > lo { _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), Int(hi - lo), 21) }  // 21: MADV_PAGEOUT
            }
            for (m, at, _) in jobs { packedAt[m.fileOffset] = UnsafeRawPointer(store.base + at) }
        }
        func one(_ m: MatrixWeight) -> [Piece] {
            let source: Source = packedAt[m.fileOffset].map { .packed($0) } ?? .memory(m.data)
            return [Piece(rowStart: 0, rows: m.rows, source: source, releasesBlock: false)]
        }
        layerPieces = w.layers.map { l in [one(l.wq), one(l.wk), one(l.wv), one(l.wo), one(l.gate), one(l.up), one(l.down)] }
        outputPieces = one(w.output)
        scheduler = nil
        disk = nil
        embeddingFromDisk = false
        self.plan = nil
        packedStore = store
        packedBytes = store == nil ? 0 : plan.reduce(0) { $0 + $1.bytes }
        packedFileBytes = store == nil ? 0 : plan.reduce(0) { $0 + $1.0.byteCount }
        packedMatrices = store == nil ? 0 : plan.count
        unpackedReasons = reasons
        residentBytes = packedBytes
        residentStore = nil
        residentRanges = []
        diskBytesPerSecond = 0
    }

    /// A unit of the plan: rows of one matrix, or a group of whole matrices that lie together in
    /// the file, read as one contiguous range.
    private struct Block {
        var offset: Int
        var length: Int
        var members: [(layer: Int, role: Int, rowStart: Int, rows: Int, offset: Int)]  // layer -1: output
    }

    /// Plans residency for `budget` bytes and loads the resident blocks.
    /// - Parameters:
    ///   - fixedBytes: KV cache, activations and other buffers the budget must also hold.
    ///   - diskBytesPerSecond: measured read bandwidth (nil: measured here on the file).
    ///   - computeBytesPerSecond: rate the compute threads consume weights at.
    ///   - progress: called with (bytes loaded, bytes to load) while resident blocks load.
    ///   - blockTarget: largest block in bytes (default: the planner's choice for the budget).
    public init(budgeted w: ModelWeights, path: String, budget: Int, fixedBytes: Int, computeBytesPerSecond: Double,
         diskBytesPerSecond: Double?, progress: ((Int, Int) -> Void)?, blockTarget: Int? = nil) throws {
        let disk = try DiskTier(path: path)
        self.disk = disk
        let target = blockTarget ?? StreamingPlanner.blockTarget(budget: budget)
        let blocks = WeightPlacement.makeBlocks(w, target: target)
        let spans = blocks.map { AlignedBuffer.span(offset: $0.offset, length: $0.length) }
        let diskRate = try diskBytesPerSecond ?? WeightPlacement.measureDisk(disk, blocks: blocks, piece: min(16 << 20, 2 * target))
        self.diskBytesPerSecond = diskRate
        let plan = try StreamingPlanner.plan(StreamingRequest(
            budget: budget, fixedBytes: fixedBytes, blockBytes: spans,
            diskBytesPerSecond: diskRate, computeBytesPerSecond: computeBytesPerSecond))
        self.plan = plan

        // Resident blocks: one owned buffer, each block at an aligned position.
        let residentSpans = zip(spans, plan.resident).filter { $0.1 }.map(\.0)
        let storeBytes = residentSpans.reduce(0, +)
        let store = storeBytes > 0 ? try AlignedBuffer(byteCount: storeBytes, what: "resident weights") : nil
        residentStore = store
        residentBytes = storeBytes
        var streamed: [StreamedBlock] = []
        var streamedIndex: [Int: Int] = [:]      // block -> index in the scheduler's order
        var residentBase: [Int: UnsafeRawPointer] = [:]
        var at = 0, loaded = 0
        for (i, b) in blocks.enumerated() {
            if plan.resident[i], let store {
                let p = try disk.read(offset: b.offset, length: b.length, into: store.base + at)
                residentBase[i] = UnsafeRawPointer(p)
                at += spans[i]
                loaded += spans[i]
                progress?(loaded, storeBytes)
            } else {
                streamedIndex[i] = streamed.count
                streamed.append(StreamedBlock(offset: b.offset, length: b.length))
            }
        }
        residentRanges = residentBase.map { (blocks[$0.key].offset, blocks[$0.key].length, $0.value) }.sorted { $0.0 < $1.0 }
        scheduler = streamed.isEmpty ? nil : try WeightScheduler(disk: disk, blocks: streamed, window: plan.window)

        // Resident members whose type has an x16 layout are repacked in place (a record is exactly
        // 16 file blocks, so the block keeps its size); the token embedding's bytes stay in file
        // layout, since its rows are looked up through residentAddress.
        func matrix(_ layer: Int, _ role: Int) -> MatrixWeight {
            guard layer >= 0 else { return w.output }
            let l = w.layers[layer]
            return [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down][role]
        }
        let embedding = w.tokenEmbedding.fileOffset..<(w.tokenEmbedding.fileOffset + w.tokenEmbedding.byteCount)
        var packedMembers = 0, packedTotal = 0
        var scratch: AlignedBuffer? = nil
        var layers = Array(repeating: Array(repeating: [Piece](), count: Role.allCases.count), count: w.layers.count)
        var output: [Piece] = []
        for (i, b) in blocks.enumerated() {
            for (k, m) in b.members.enumerated() {
                let source: Source
                if let base = residentBase[i] {
                    let mw = matrix(m.layer, m.role), t = Int32(mw.type.rawValue)
                    let bytes = m.rows * mw.rowBytes
                    let at = UnsafeMutableRawPointer(mutating: base + (m.offset - b.offset))
                    if edge_packed_used(t) != 0, edge_packed_bytes(t, Int64(m.rows), Int64(mw.columns)) == bytes,
                       !embedding.overlaps(m.offset..<(m.offset + bytes)) {
                        if (scratch?.byteCount ?? 0) < bytes { scratch = try AlignedBuffer(byteCount: bytes, what: "repacking scratch") }
                        _ = edge_pack_rows(t, Int64(mw.columns), at, mw.rowBytes, Int64(m.rows), scratch!.base)
                        at.copyMemory(from: scratch!.base, byteCount: bytes)
                        source = .packed(UnsafeRawPointer(at))
                        packedMembers += 1
                        packedTotal += bytes
                    } else {
                        source = .memory(UnsafeRawPointer(at))
                    }
                } else {
                    source = .streamed(block: streamedIndex[i]!, offset: m.offset - b.offset)
                }
                let piece = Piece(rowStart: m.rowStart, rows: m.rows, source: source,
                                  releasesBlock: residentBase[i] == nil && k == b.members.count - 1)
                if m.layer < 0 { output.append(piece) } else { layers[m.layer][m.role].append(piece) }
            }
        }
        layerPieces = layers
        outputPieces = output
        embeddingFromDisk = true
        // Streamed blocks keep the file layout (edge_op_matmul repacks them group by group).
        packedStore = nil
        packedBytes = packedTotal
        packedFileBytes = packedTotal
        packedMatrices = packedMembers
        unpackedReasons = [:]
    }

    /// Cuts the model into blocks in the order a forward pass reads them: per layer the attention
    /// matrices, then the feed-forward ones, then the output projection. A group whose matrices
    /// lie together in the file and fit `target` is one block (one read); otherwise each matrix is
    /// its own block, and a matrix larger than `target` is cut into row ranges.
    private static func makeBlocks(_ w: ModelWeights, target: Int) -> [Block] {
        var out: [Block] = []
        func chunks(_ m: MatrixWeight, layer: Int, role: Int) {
            // Rows per chunk: a multiple of 64 where the matrix is that large, so kernels that work
            // on groups of rows see the same groups as in a whole-matrix pass.
            var rowsPer = max(1, target / m.rowBytes)
            if rowsPer >= 64 { rowsPer -= rowsPer % 64 }
            var r = 0
            while r < m.rows {
                let n = min(rowsPer, m.rows - r)
                let off = m.fileOffset + r * m.rowBytes
                out.append(Block(offset: off, length: n * m.rowBytes, members: [(layer, role, r, n, off)]))
                r += n
            }
        }
        func group(_ ms: [(MatrixWeight, Int)], layer: Int) {
            let lo = ms.map(\.0.fileOffset).min()!
            let hi = ms.map { $0.0.fileOffset + $0.0.byteCount }.max()!
            let used = ms.reduce(0) { $0 + $1.0.byteCount }
            // Gaps (norm vectors between the matrices) cost at most 2% extra reading.
            if hi - lo <= target, Double(hi - lo - used) <= 0.02 * Double(used) {
                out.append(Block(offset: lo, length: hi - lo,
                                 members: ms.map { (layer, $0.1, 0, $0.0.rows, $0.0.fileOffset) }))
            } else {
                for (m, role) in ms { chunks(m, layer: layer, role: role) }
            }
        }
        for (i, l) in w.layers.enumerated() {
            group([(l.wq, Role.wq.rawValue), (l.wk, Role.wk.rawValue), (l.wv, Role.wv.rawValue), (l.wo, Role.wo.rawValue)], layer: i)
            group([(l.gate, Role.gate.rawValue), (l.up, Role.up.rawValue), (l.down, Role.down.rawValue)], layer: i)
        }
        chunks(w.output, layer: -1, role: 0)
        return out
    }

    /// Read bandwidth of the file as streaming will see it: reads of `piece` bytes, two in flight
    /// (as with a two-slot window), over up to 32 pieces (at least 64 MiB where the file has it) of
    /// the weights. Direct I/O, so the page cache cannot inflate it.
    private static func measureDisk(_ disk: DiskTier, blocks: [Block], piece: Int) throws -> Double {
        let lo = blocks.map(\.offset).min() ?? 0
        let hi = blocks.map { $0.offset + $0.length }.max() ?? 0
        let total = min(max(32 * piece, 64 << 20), hi - lo)
        guard total > 0 else { return 1e9 }
        let buffers = try (0..<2).map { _ in try AlignedBuffer(byteCount: piece + 2 * AlignedBuffer.alignment, what: "disk bandwidth probe") }
        let done = NSCondition()
        nonisolated(unsafe) var finished = 0
        nonisolated(unsafe) var failure: DeviceError?
        func waitUntil(inFlight most: Int, _ submitted: Int) {
            done.lock()
            while submitted - finished > most { done.wait() }
            done.unlock()
        }
        let t0 = monotonicSeconds()
        var at = lo, submitted = 0
        var thrown: Error?
        while at < lo + total && failure == nil {
            waitUntil(inFlight: 1, submitted)
            let n = min(piece, lo + total - at)
            do {
                try disk.submit(offset: at, length: n, into: buffers[submitted % 2].base) { error in
                    done.lock()
                    if let error { failure = error }
                    finished += 1
                    done.signal()
                    done.unlock()
                }
            } catch {
                thrown = error
                break
            }
            submitted += 1
            at += n
        }
        // Every read in flight writes into `buffers`: wait for all of them, keeping the buffers alive.
        waitUntil(inFlight: 0, submitted)
        withExtendedLifetime(buffers) {}
        if let thrown { throw thrown }
        if let failure { throw failure }
        return Double(total) / max(monotonicSeconds() - t0, 1e-6)
    }
}
