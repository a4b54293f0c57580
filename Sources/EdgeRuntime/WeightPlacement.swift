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
        /// The CPU node (index into the engine's nodes) whose memory holds the piece and whose
        /// pool computes it.
        var node: Int = 0
    }

    /// pieces[layer][k]: the k-th matrix of the layer's program (``LayerWeights/matrices``).
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
    /// The token embedding in x16 layout when it is also the (tied) output projection and was
    /// repacked: rows are looked up there (edge_unpack_row), so the mapping's pages are not
    /// touched again and do not come back into the resident set token by token.
    let embeddingPacked: UnsafeRawPointer?
    /// Slots of the streaming window (0 when nothing streams).
    public let windowSlots: Int
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
    private let packedStores: [AlignedBuffer]
    /// How many CPU nodes the rows of each matrix are split over (1: not split).
    public let nodeCount: Int
    /// Matrices with rows on more than one node (small ones stay whole on node 0).
    public var splitMatrixCount: Int {
        (layerPieces.joined() + [outputPieces]).filter { Set($0.map(\.node)).count > 1 }.count
    }
    /// Read bandwidth the plan streams at (bytes/s: measured at load or from the host profile), 0 for a mapped model.
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
    /// lane: see edge_packed.h). The copy costs the matrix's file size, and the file pages of each
    /// piece repacked are given back at once, so the peak holds little twice. A tied token
    /// embedding's rows are looked up in the output projection's copy; an untied one stays mapped
    /// (rows are looked up, not multiplied). If the copy cannot be allocated, the mapping is used.
    ///
    /// With several `nodeShares` (one per CPU node, summing to 1) every matrix's rows are cut into
    /// one range per node at 16-row boundaries, in those proportions, and each node's ranges are
    /// repacked into memory that node's device allocates (`devices[k]`: pages bound to its NUMA
    /// node when it is a real one): each node then reads only its local memory. Cutting rows never
    /// changes a result (each output depends on one row). Without devices the copies are plain
    /// anonymous memory.
    public init(mapped w: ModelWeights, repack: Bool = true, nodeShares: [Double] = [1], devices: [any ComputeDevice] = []) {
        let mats: [MatrixWeight] = w.layers.flatMap(\.matrices) + [w.output]
        let nodes = max(1, nodeShares.count)
        /// Row ranges of a matrix per node: cut at multiples of 16 in the shares' proportions.
        func ranges(_ m: MatrixWeight) -> [(node: Int, start: Int, rows: Int)] {
            guard nodes > 1, m.rows >= 32 * nodes else { return [(0, 0, m.rows)] }
            let total = nodeShares.reduce(0, +)
            var out: [(Int, Int, Int)] = []
            var start = 0, cumulative = 0.0
            for k in 0..<nodes {
                cumulative += nodeShares[k]
                let end = k == nodes - 1 ? m.rows : min(m.rows, Int((Double(m.rows) * cumulative / total / 16).rounded()) * 16)
                if end > start { out.append((k, start, end - start)) }
                start = max(start, end)
            }
            return out
        }
        var reasons: [String: Int] = [:]
        // What each node's store holds: (matrix, first row, rows, offset in the store, bytes).
        var plan = Array(repeating: [(m: MatrixWeight, start: Int, rows: Int, at: Int, bytes: Int)](), count: nodes)
        var totals = Array(repeating: 0, count: nodes)
        if repack {
            for m in mats {
                let t = Int32(m.type.rawValue)
                guard edge_packed_used(t) != 0 else { reasons["\(m.type): x16 layout not used", default: 0] += 1; continue }
                for r in ranges(m) {
                    let bytes = edge_packed_bytes(t, Int64(r.rows), Int64(m.columns))
                    guard bytes > 0 else { reasons["rows not a multiple of 16", default: 0] += 1; continue }
                    plan[r.node].append((m, r.start, r.rows, totals[r.node], bytes))
                    totals[r.node] += (bytes + 63) & ~63
                }
            }
        }
        var stores: [AlignedBuffer?] = Array(repeating: nil, count: nodes)
        for k in 0..<nodes where totals[k] > 0 {
            do {
                let store = k < devices.count ? try devices[k].allocate(bytes: totals[k], what: "repacked weights")
                    : try AlignedBuffer(byteCount: totals[k], what: "repacked weights")
                // Transparent huge pages where the kernel offers them on request ("madvise" mode):
                // a matvec streams the whole copy per token, and 2 MiB pages spare a TLB miss per
                // 4 KiB. Advisory: ignored where THP is off.
                _ = madvise(store.base, totals[k], MADV_HUGEPAGE)
                stores[k] = store
            } catch {
                reasons["repacked copy not allocated (\(error))", default: 0] += plan[k].count
                plan[k] = []
            }
        }
        // (fileOffset of the matrix, first row) -> packed copy of that range
        var packedAt: [[Int]: UnsafeRawPointer] = [:]
        // Jobs of whole 16-row groups, about 4 MiB of file bytes each: repacking is a byte shuffle
        // bound by memory, done once at load. After each job its file pages are given back, so the
        // process never holds much of a weight twice (mapping + copy): a matrix as one job would
        // add its whole size to the peak (the 279 MB tied output of a 128K vocabulary). They stay
        // in the page cache (an untied model's embedding rows, which are not repacked, are read
        // from the mapping). It cannot fail: type and shape were checked above.
        var jobs: [(m: MatrixWeight, row: Int, rows: Int, at: UInt)] = []
        for k in 0..<nodes {
            guard let store = stores[k] else { continue }
            // The store's address as an integer: each job writes its own disjoint range of it.
            let base = UInt(bitPattern: store.base)
            for (m, start, rows, at, _) in plan[k] {
                let groupBytes = 16 * m.rowBytes
                let step = max(1, (4 << 20) / groupBytes) * 16
                var r = 0
                while r < rows {
                    let n = min(step, rows - r)
                    jobs.append((m, start + r, n, base + UInt(at + edge_packed_bytes(Int32(m.type.rawValue), Int64(r), Int64(m.columns)))))
                    r += n
                }
                packedAt[[m.fileOffset, start]] = UnsafeRawPointer(store.base + at)
            }
        }
        let all = jobs
        DispatchQueue.concurrentPerform(iterations: all.count) { i in
            let (m, row, rows, at) = all[i]
            let src = m.data + row * m.rowBytes
            _ = edge_pack_rows(Int32(m.type.rawValue), Int64(m.columns), src, m.rowBytes, Int64(rows),
                               UnsafeMutableRawPointer(bitPattern: at))
            let page = UInt(4096)
            let lo = (UInt(bitPattern: src) + page - 1) / page * page
            let hi = (UInt(bitPattern: src) + UInt(rows * m.rowBytes)) / page * page
            if hi > lo { _ = madvise(UnsafeMutableRawPointer(bitPattern: lo), Int(hi - lo), MADV_DONTNEED) }
        }
        func pieces(_ m: MatrixWeight) -> [Piece] {
            ranges(m).map { r in
                let source: Source = packedAt[[m.fileOffset, r.start]].map { .packed($0) } ?? .memory(m.data + r.start * m.rowBytes)
                return Piece(rowStart: r.start, rows: r.rows, source: source, releasesBlock: false, node: r.node)
            }
        }
        layerPieces = w.layers.map { l in l.matrices.map(pieces) }
        outputPieces = pieces(w.output)
        scheduler = nil
        disk = nil
        embeddingFromDisk = false
        // Rows of a tied embedding are looked up in the output's copy when it is one piece.
        embeddingPacked = w.output.fileOffset == w.tokenEmbedding.fileOffset && outputPieces.count == 1
            ? packedAt[[w.output.fileOffset, 0]] : nil
        self.windowSlots = 0
        packedStores = stores.compactMap { $0 }
        nodeCount = nodes
        packedBytes = plan.joined().reduce(0) { $0 + $1.bytes }
        packedFileBytes = plan.joined().reduce(0) { $0 + $1.rows * $1.m.rowBytes }
        packedMatrices = Set(plan.joined().map(\.m.fileOffset)).count
        unpackedReasons = reasons
        residentBytes = packedBytes
        residentStore = nil
        residentRanges = []
        diskBytesPerSecond = 0
    }

    /// Executes a plan's residency: loads the resident blocks into owned memory and streams the
    /// others through a window of `windowSlots` slots (each the largest streamed block's span).
    /// Nothing is decided here: ``PlacementPlanner`` decided it (see ``init(budgeted:manifest:path:plan:diskBytesPerSecond:progress:)``).
    /// - Parameters:
    ///   - blockTarget: largest block in bytes: the blocks are `manifest.blocks(target:)`.
    ///   - resident: one flag per block, true when it stays in memory.
    ///   - diskBytesPerSecond: the read rate planned with (reported beside the rate reached).
    ///   - progress: called with (bytes loaded, bytes to load) while resident blocks load.
    public init(budgeted w: ModelWeights, manifest: ModelManifest, path: String, blockTarget target: Int, resident: [Bool],
                windowSlots: Int, diskBytesPerSecond: Double, progress: ((Int, Int) -> Void)?) throws {
        let disk = try DiskTier(path: path)
        self.disk = disk
        let blocks = manifest.blocks(target: target)
        let spans = blocks.map { AlignedBuffer.span(offset: $0.offset, length: $0.length) }
        guard resident.count == blocks.count else {
            throw PlacementError.modelMismatch(plan: "the plan", model: manifest.name,
                                               detail: "\(resident.count) blocks planned, the file has \(blocks.count) of \(target) bytes at most")
        }
        if resident.contains(false), windowSlots < 1 {
            throw PlacementError.badRequest("the plan streams \(resident.filter { !$0 }.count) blocks through a window of no slot")
        }
        self.diskBytesPerSecond = diskBytesPerSecond
        self.windowSlots = resident.contains(false) ? windowSlots : 0

        // Resident blocks: one owned buffer, each block at an aligned position.
        let residentSpans = zip(spans, resident).filter { $0.1 }.map(\.0)
        let storeBytes = residentSpans.reduce(0, +)
        let store = storeBytes > 0 ? try AlignedBuffer(byteCount: storeBytes, what: "resident weights") : nil
        residentStore = store
        residentBytes = storeBytes
        var streamed: [StreamedBlock] = []
        var streamedIndex: [Int: Int] = [:]      // block -> index in the scheduler's order
        var residentBase: [Int: UnsafeRawPointer] = [:]
        var at = 0, loaded = 0
        for (i, b) in blocks.enumerated() {
            if resident[i], let store {
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
        scheduler = streamed.isEmpty ? nil : try WeightScheduler(disk: disk, blocks: streamed, window: windowSlots)

        // Resident members whose type has an x16 layout are repacked in place (a record is exactly
        // 16 file blocks, so the block keeps its size); the token embedding's bytes stay in file
        // layout, since its rows are looked up through residentAddress.
        func index(_ layer: Int, _ role: WeightRole) throws -> Int {
            guard let k = w.layers[layer].index(of: role) else {
                throw PlacementError.modelMismatch(plan: "the manifest", model: manifest.name, detail: "layer \(layer) has no \(role) matrix")
            }
            return k
        }
        func matrix(_ layer: Int, _ role: WeightRole) throws -> MatrixWeight {
            guard layer >= 0 else { return w.output }
            return w.layers[layer].matrices[try index(layer, role)]
        }
        let embedding = w.tokenEmbedding.fileOffset..<(w.tokenEmbedding.fileOffset + w.tokenEmbedding.byteCount)
        var packedMembers = 0, packedTotal = 0
        var scratch: AlignedBuffer? = nil
        var layers = w.layers.map { Array(repeating: [Piece](), count: $0.matrices.count) }
        var output: [Piece] = []
        for (i, b) in blocks.enumerated() {
            for (k, m) in b.members.enumerated() {
                let layer = manifest.matrices[m.matrix].layer, role = manifest.matrices[m.matrix].role
                let source: Source
                if let base = residentBase[i] {
                    let mw = try matrix(layer, role), t = Int32(mw.type.rawValue)
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
                if layer < 0 { output.append(piece) } else { layers[layer][try index(layer, role)].append(piece) }
            }
        }
        layerPieces = layers
        outputPieces = output
        embeddingFromDisk = true
        embeddingPacked = nil
        // Streamed blocks keep the file layout (edge_op_matmul repacks them group by group).
        packedStores = []
        nodeCount = 1
        packedBytes = packedTotal
        packedFileBytes = packedTotal
        packedMatrices = packedMembers
        unpackedReasons = [:]
    }

    /// Executes the CPU-and-disk part of `plan` (one CPU node: its resident blocks and window).
    public convenience init(budgeted w: ModelWeights, manifest: ModelManifest, path: String, plan: PlacementPlan,
                            diskBytesPerSecond: Double, progress: ((Int, Int) -> Void)?) throws {
        try self.init(budgeted: w, manifest: manifest, path: path, blockTarget: plan.blockTarget,
                      resident: plan.blocks.map { $0.tier == .resident }, windowSlots: plan.window.slots,
                      diskBytesPerSecond: diskBytesPerSecond, progress: progress)
    }
}
