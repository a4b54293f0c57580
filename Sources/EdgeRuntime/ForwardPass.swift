import Foundation
import EdgeCore
import EdgePlanner
import EdgeDevices
import CEdgeKernels

/// The run state of one sequence and the forward pass over it: KV cache and scratch buffers sized
/// for a batch of up to `maxBatch` tokens. Weights are read in place from the model file.
///
/// Invariant for `@unchecked Sendable`: a state is used by one forward pass at a time, on its
/// CPUNode's driver thread (the owning ``Session`` serialises calls).
public final class ForwardPass: @unchecked Sendable {
    public let config: ModelConfig
    public let weights: ModelWeights
    public let kv: KVCache
    public let maxBatch: Int
    /// Multiply with F32 activations (dequantized weights) instead of rounding activations to
    /// 8-bit blocks: slower, the reference path for checking the fast one.
    public let f32Activations: Bool
    /// Where each weight matrix is read from (mapped, resident copy or streamed).
    public let placement: WeightPlacement
    /// The pools and relays of nodes 1... (see ``init(weights:contextLength:maxBatch:f32Activations:placement:peers:)``),
    /// and the nodes themselves, kept alive as long as the pass holds their pointers.
    private let peers: [(pool: OpaquePointer, relay: OpaquePointer)]
    private let peerNodes: [CPUNode]

    // Scratch, all (maxBatch, ·) row-major floats: one buffer per ``ActivationSlot``.
    private let slots: [UnsafeMutablePointer<Float>]
    private var x: UnsafeMutablePointer<Float> { slots[ActivationSlot.residual.rawValue] }
    private var xn: UnsafeMutablePointer<Float> { slots[ActivationSlot.normed.rawValue] }
    private let act: UnsafeMutableRawPointer         // (batch, quantized activation row)
    private let actRowCapacity: Int
    private let positions: UnsafeMutablePointer<Int32>  // (batch)
    private var logits: UnsafeMutablePointer<Float>  // (logitRows, vocab)
    private var logitRows: Int
    private let ropeFactors: UnsafeMutablePointer<Float>?
    /// Room for one embedding row read from disk (aligned span of a row), when rows come from disk.
    private let embedBuffer: AlignedBuffer?
    /// The streamed block being read and its first byte's address.
    private var currentBlock: (index: Int, base: UnsafeRawPointer)?

    /// The sparse feed-forward to run (nil: dense). Set between passes, by the pass's owner.
    public var sparse: SparseFeedForward?
    /// Feed-forward neurons selected and evaluated by the sparse path since the pass was made
    /// (their ratio is the measured density).
    public private(set) var sparseCounts: (selected: Int, total: Int) = (0, 0)
    /// Called at each SwiGLU with (layer, gate, up, rows): the gate and up projections, (rows, d_ff)
    /// each, before the GLU (``Calibration`` reads them). Dense passes only.
    public var feedForwardObserver: (@Sendable (Int, UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Void)?
    private let selection: UnsafeMutablePointer<Int32>   // (d_ff) selected neurons of one token
    /// The first blocks on the GPU (nil: all on the CPU); shared by the engine's passes, which run
    /// one at a time on the engine's driver thread.
    public let gpu: GPULayers?
    /// Every matrix's first rows on the GPU, computed beside the CPU's (nil: none); shared as ``gpu``.
    public let gpuSplit: GPUSplit?

    /// - Parameter peers: when the placement splits rows over several CPU nodes, the nodes driven
    ///   in lockstep for node k >= 1 (`peers[k - 1]`, each with a relay: ``CPUNode/relay``); the
    ///   pool a pass is evaluated with is node 0's.
    public init(weights: ModelWeights, contextLength: Int, maxBatch: Int = 512, f32Activations: Bool = false,
                placement: WeightPlacement? = nil, peers: [CPUNode] = [], gpu: GPULayers? = nil, gpuSplit: GPUSplit? = nil) throws {
        self.f32Activations = f32Activations
        self.gpu = gpu
        self.gpuSplit = gpuSplit
        let placement = placement ?? WeightPlacement(mapped: weights)
        guard placement.nodeCount == peers.count + 1, peers.allSatisfy({ $0.relay != nil }) else {
            throw RuntimeError.badParameter(name: "CPU nodes",
                                            reason: "the weights are split over \(placement.nodeCount) nodes, \(peers.count + 1) were given")
        }
        self.peers = peers.map { ($0.pool.raw, $0.relay!) }
        peerNodes = peers
        self.placement = placement
        embedBuffer = placement.embeddingFromDisk || placement.embeddingPacked != nil
            ? try AlignedBuffer(byteCount: AlignedBuffer.span(offset: AlignedBuffer.alignment - 1, length: weights.tokenEmbedding.rowBytes),
                                what: "embedding row")
            : nil
        config = weights.config
        self.weights = weights
        guard contextLength >= 1 else { throw RuntimeError.badParameter(name: "context length", reason: "\(contextLength) < 1") }
        self.maxBatch = max(1, min(maxBatch, contextLength))
        let b = self.maxBatch
        // A sliding-window layer keeps its window plus a batch: a batch's queries see up to
        // window - 1 positions before the batch's first while the batch writes its own.
        kv = try KVCache(rows: Self.cacheRows(weights: weights, contextLength: contextLength, maxBatch: b),
                         contextLength: contextLength, kvDim: config.kvDim)
        // calloc: zeroed, and large buffers come straight from mmap's zero pages, so a buffer
        // sized for a 512-token batch costs resident memory only for the rows a pass writes
        // (initializing it would touch all of it: 54 MiB for a 1B model, at every run).
        func floats(_ n: Int) throws -> UnsafeMutablePointer<Float> {
            guard let raw = calloc(max(n, 1), MemoryLayout<Float>.stride) else {
                throw DeviceError.allocationFailed(what: "activations", bytes: max(n, 1) * MemoryLayout<Float>.stride)
            }
            return raw.bindMemory(to: Float.self, capacity: max(n, 1))
        }
        let cf = config
        slots = try ActivationSlot.allCases.map { try floats(b * $0.width(cf)) }
        // An activation row never takes more than 4 bytes per value (F32 is the widest act type).
        actRowCapacity = 4 * max(cf.embeddingLength, cf.qDim, cf.feedForwardLength)
        act = UnsafeMutableRawPointer.allocate(byteCount: b * actRowCapacity, alignment: 64)
        positions = .allocate(capacity: b)
        selection = .allocate(capacity: max(1, cf.feedForwardLength))
        logitRows = 1
        logits = try floats(cf.vocabularySize)
        if let rf = weights.ropeFactors(contextLength: contextLength) {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: rf.count)
            p.initialize(from: rf, count: rf.count)
            ropeFactors = p
        } else {
            ropeFactors = nil
        }
    }

    /// Rows of each layer's K and V cache for batches of up to `maxBatch` (at most the context):
    /// the context, or for a sliding-window layer its window plus a batch. Position p lives in
    /// row p % rows (``KVCache``; the GPU's copy is shaped the same).
    public static func cacheRows(weights: ModelWeights, contextLength: Int, maxBatch: Int) -> [Int] {
        let b = max(1, min(maxBatch, contextLength))
        return weights.layers.map { l in max(1, min(l.program.attention.window.map { $0 + b - 1 } ?? contextLength, contextLength)) }
    }

    /// Bytes of the scratch buffers a pass with batches of `maxBatch` tokens allocates (activations,
    /// quantized activations, one row of logits per token when all are asked for: counted as one).
    public static func scratchBytes(config c: ModelConfig, maxBatch b: Int) -> Int {
        RuntimeFootprint.scratchBytes(embedding: c.embeddingLength, qDim: c.qDim, kvDim: c.kvDim, feedForward: c.feedForwardLength,
                                      vocabulary: c.vocabularySize, batch: b)
    }

    deinit {
        for p in slots + [logits] { free(p) }
        act.deallocate()
        positions.deallocate()
        selection.deallocate()
        ropeFactors?.deallocate()
    }

    /// Number of positions already in the cache (the next token's position).
    public var position: Int { kv.filled }

    /// Forgets the sequence.
    public func reset() { kv.clear() }

    /// Evaluates `tokens` at positions `position ..< position + tokens.count`, in batches of at most
    /// `maxBatch`, appending to the cache. Returns the logits (vocab) of the last token, or of every
    /// token ((tokens.count, vocab) row-major) when `allLogits` is set.
    public func evaluate(_ tokens: [Int32], allLogits: Bool, pool: WorkerPool) throws -> [Float] {
        guard !tokens.isEmpty else { throw RuntimeError.emptyPrompt }
        guard kv.filled + tokens.count <= kv.contextLength else {
            throw RuntimeError.contextFull(contextLength: kv.contextLength)
        }
        let vocab = config.vocabularySize
        for t in tokens where t < 0 || Int(t) >= vocab {
            throw RuntimeError.tokenOutOfRange(id: t, vocabularySize: vocab)
        }
        var out: [Float] = []
        if allLogits { out.reserveCapacity(tokens.count * vocab) }
        var start = 0
        while start < tokens.count {
            let end = min(start + maxBatch, tokens.count)
            let isLast = end == tokens.count
            let rows = try tokens[start..<end].withContiguousStorageIfAvailable { buf in
                try forwardBatch(UnsafeBufferPointer(rebasing: buf[...]), allLogits: allLogits, pool: pool)
            } ?? 0
            if allLogits {
                out.append(contentsOf: UnsafeBufferPointer(start: logits, count: rows * vocab))
            } else if isLast {
                out = Array(UnsafeBufferPointer(start: logits, count: vocab))
            }
            start = end
        }
        // A file truncated or rewritten underneath its mapping read as zeros or a mix: report it
        // instead of these logits.
        try weights.file.checkUnchanged()
        return out
    }

    /// A KV cache shaped like this pass's own, for another sequence evaluated through this pass's
    /// scratch (``evaluate(_:pool:)``): the same rows per layer, reserved and committed page by page.
    public func makeCache() throws(DeviceError) -> KVCache {
        try KVCache(rows: kv.rows, contextLength: kv.contextLength, kvDim: kv.kvDim)
    }

    /// Evaluates several sequences in one batch: each `tokens` appended to its own `cache` (made by
    /// ``makeCache()``, or this pass's ``kv``) at its next positions. Every weight is read once for
    /// all of them (continuous batching); attention runs per sequence, on its own cache. Returns the
    /// logits of each sequence's last token, ((sequences.count, vocab) row-major), in order.
    ///
    /// The rows of one sequence get the logits they would get evaluated alone (the kernels compute
    /// each token's row the same way whatever else is in the batch).
    public func evaluate(_ sequences: [(cache: KVCache, tokens: [Int32])], pool: WorkerPool) throws -> [Float] {
        guard !sequences.isEmpty, sequences.allSatisfy({ !$0.tokens.isEmpty }) else { throw RuntimeError.emptyPrompt }
        let total = sequences.reduce(0) { $0 + $1.tokens.count }
        guard total <= maxBatch else {
            throw RuntimeError.badParameter(name: "batch", reason: "\(total) tokens in one step; this pass holds \(maxBatch)")
        }
        guard Set(sequences.map { ObjectIdentifier($0.cache) }).count == sequences.count else {
            throw RuntimeError.badParameter(name: "batch", reason: "one KV cache appears twice in one step")
        }
        let vocab = config.vocabularySize
        for s in sequences {
            guard s.cache.rows == kv.rows, s.cache.kvDim == kv.kvDim else {
                throw RuntimeError.badParameter(name: "KV cache", reason: "not shaped for this pass (make it with makeCache())")
            }
            guard s.cache.filled + s.tokens.count <= s.cache.contextLength else {
                throw RuntimeError.contextFull(contextLength: s.cache.contextLength)
            }
            for t in s.tokens where t < 0 || Int(t) >= vocab { throw RuntimeError.tokenOutOfRange(id: t, vocabularySize: vocab) }
        }
        let ids = sequences.flatMap(\.tokens)
        var segments: [Segment] = []
        var at = 0
        for s in sequences {
            segments.append(Segment(cache: s.cache, rows: at..<at + s.tokens.count))
            at += s.tokens.count
        }
        let rows = try ids.withUnsafeBufferPointer { try forwardBatch($0, segments: segments, output: .lastOfEach, pool: pool) }
        let out = Array(UnsafeBufferPointer(start: logits, count: rows * vocab))
        try weights.file.checkUnchanged()
        return out
    }

    /// One sequence's rows of a batch and the cache they go to.
    private struct Segment {
        let cache: KVCache
        let rows: Range<Int>
    }

    /// Which rows of a batch get logits.
    private enum OutputRows {
        /// Every row (one sequence).
        case all
        /// The last row of each segment.
        case lastOfEach
    }

    /// One batch of one sequence (this pass's cache) through every layer.
    private func forwardBatch(_ ids: UnsafeBufferPointer<Int32>, allLogits: Bool, pool: WorkerPool) throws -> Int {
        try forwardBatch(ids, segments: [Segment(cache: kv, rows: 0..<ids.count)], output: allLogits ? .all : .lastOfEach, pool: pool)
    }

    /// One batch through every layer: rows `segments[k].rows` of `ids` belong to the sequence of
    /// `segments[k].cache`, at its next positions. Returns how many logit rows were written.
    private func forwardBatch(_ ids: UnsafeBufferPointer<Int32>, segments: [Segment], output: OutputRows, pool: WorkerPool) throws -> Int {
        let c = config, w = weights, p = pool.raw
        let n = ids.count, d = c.embeddingLength
        for s in segments {
            for i in s.rows { positions[i] = Int32(s.cache.filled + i - s.rows.lowerBound) }
        }

        // x = token_embd[ids]                                    (n, d_model)
        try embed(ids, into: x)
        if let e = c.embeddingScale { edge_op_scale(p, x, Int64(n * d), e) }
        let neox: Int32 = c.ropeStyle == .neox ? 1 : 0

        // Blocks 0..<k on the GPU: the residual stream goes there and comes back once.
        let onGPU = gpu?.count ?? 0
        if let gpu, onGPU > 0 {
            guard n <= gpu.maxBatch else {
                throw RuntimeError.badParameter(name: "batch", reason: "\(n) tokens exceed the GPU's batch of \(gpu.maxBatch)")
            }
            try gpu.run(x: x, n: n, positions: positions, segments: segments.map { ($0.rows, $0.cache) })
        }
        for (li, l) in w.layers.enumerated() where li >= onGPU {
            let pieces = placement.layerPieces[li]
            let shape = l.program.attention
            var matrixIndex = 0
            // The quantized activation rows hold this slot, rounded for this activation type.
            var quantized: (slot: ActivationSlot, act: Int32)? = nil
            func wrote(_ slot: ActivationSlot) { if quantized?.slot == slot { quantized = nil } }
            func buffer(_ slot: ActivationSlot) -> UnsafeMutablePointer<Float> { slots[slot.rawValue] }
            func heads(_ slot: ActivationSlot) -> Int { slot == .query ? c.headCount : c.headCountKV }
            // Sparse feed-forward, one token: the up projection waits for the selection (made at
            // the GLU from the gate), and the down projection reads the neuron-major copy.
            let sparseLayer = f32Activations ? nil : sparse.map { (ffn: $0, tau: $0.thresholds[li]) }
            var deferredUp: (matrix: MatrixWeight, input: ActivationSlot)? = nil
            for op in l.program.ops {
                switch op {
                case let .rmsNorm(role, input, output):
                    l.vectors[role]!.withUnsafeBufferPointer {
                        edge_op_rmsnorm(p, buffer(input), $0.baseAddress, buffer(output), Int64(n), Int64(d), c.rmsEpsilon)
                    }
                    wrote(output)
                case let .matmul(role, input, output):
                    let m = l.matrices[matrixIndex]
                    if sparseLayer != nil, n == 1, role == .up {
                        deferredUp = (m, input)
                    } else if let sparseLayer, n == 1, role == .down, let copy = sparseLayer.ffn.downCopies[li] {
                        // out = W_down h over the nonzero h only (h: the GLU's zeroed output).
                        let wt = Int32(m.type.rawValue)
                        quantize(m, input: buffer(input), 1, &quantized, slot: input, pool: p)
                        edge_op_sparse_down(p, wt, Int64(m.rows), Int64(m.columns), copy.base, act, buffer(output))
                    } else {
                        try matmul(m, pieces[matrixIndex], input: buffer(input), n, out: buffer(output), &quantized, slot: input, pool: p)
                    }
                    matrixIndex += 1
                    wrote(output)
                case let .bias(role, slot):
                    if let b = l.vectors[role] { addBias(b, to: buffer(slot), rows: n) }
                    wrote(slot)
                case let .headNorm(role, slot):
                    l.vectors[role]!.withUnsafeBufferPointer {
                        edge_op_rmsnorm(p, buffer(slot), $0.baseAddress, buffer(slot), Int64(n * heads(slot)), Int64(c.headDim), c.rmsEpsilon)
                    }
                    wrote(slot)
                case let .rope(slot):
                    edge_op_rope(p, buffer(slot), Int64(n), Int32(heads(slot)), Int32(c.headDim), Int32(c.ropeDimensions), positions,
                                 shape.ropeBase, shape.ropeFrequencyScale, ropeFactors, neox)
                    wrote(slot)
                case .attention:
                    // k, v into the F16 cache at their positions; then
                    // att = softmax(q k^T * scale) v, causal (and windowed)   (n, n_head * head_dim)
                    // Each sequence against its own cache.     (rows of segment s)
                    // In F32 or with F16 rounding: ForwardPass.attentionInF32(rows:).
                    let rows = Int64(kv.rows[li])
                    for s in segments {
                        let r0 = s.rows.lowerBound, m = Int64(s.rows.count), cache = s.cache
                        edge_op_store_kv(p, buffer(.key) + r0 * c.kvDim, buffer(.value) + r0 * c.kvDim, m, Int64(c.kvDim),
                                         positions + r0, cache.keys(layer: li), cache.values(layer: li), rows)
                        edge_op_attention(p, buffer(.query) + r0 * c.qDim, cache.keys(layer: li), cache.values(layer: li),
                                          positions + r0, m, Int32(c.headCount), Int32(c.headCountKV), Int32(c.headDim), shape.scale,
                                          buffer(.attention) + r0 * c.qDim, rows, Int64(shape.window ?? 0), shape.softcap ?? 0,
                                          Self.attentionInF32(rows: Int(m)) ? 1 : 0)
                    }
                    wrote(.attention)
                case let .glu(kind):
                    let count = Int64(n * c.feedForwardLength)
                    let ff = c.feedForwardLength
                    if let sparseLayer {
                        // Neurons with |silu(gate)| below the layer's threshold count as zero.
                        if let up = deferredUp {
                            let k = edge_sparse_select(buffer(.gate), Int64(ff), sparseLayer.tau, selection)
                            buffer(.up).update(repeating: 0, count: ff)
                            quantize(up.matrix, input: buffer(up.input), 1, &quantized, slot: up.input, pool: p)
                            edge_op_matvec_gather(p, Int32(up.matrix.type.rawValue), Int64(up.matrix.columns), up.matrix.data,
                                                  up.matrix.rowBytes, selection, k, act, buffer(.up))
                            sparseCounts.selected += Int(k)
                        } else {
                            for t in 0..<n {
                                sparseCounts.selected += Int(edge_sparse_mask(buffer(.gate) + t * ff, buffer(.up) + t * ff, Int64(ff), sparseLayer.tau))
                            }
                        }
                        sparseCounts.total += n * ff
                    } else if let observe = feedForwardObserver {
                        observe(li, buffer(.gate), buffer(.up), n)
                    }
                    switch kind {
                    case .swiglu: edge_op_swiglu(p, buffer(.gate), buffer(.up), buffer(.gate), count)
                    case .geglu: edge_op_geglu(p, buffer(.gate), buffer(.up), buffer(.gate), count)
                    }
                    wrote(.gate)
                case let .add(input, into):
                    edge_op_add(p, buffer(into), buffer(input), Int64(n * d))
                    wrote(into)
                }
            }
        }
        for s in segments { s.cache.filled += s.rows.count }

        // Output: logits = rmsnorm(x) * output_norm  W_out^T   (every row, or each segment's last)
        let rows = output == .all ? n : segments.count
        if rows > logitRows {
            guard let raw = malloc(rows * c.vocabularySize * MemoryLayout<Float>.stride) else {
                throw DeviceError.allocationFailed(what: "logits", bytes: rows * c.vocabularySize * MemoryLayout<Float>.stride)
            }
            free(logits)
            logits = raw.bindMemory(to: Float.self, capacity: rows * c.vocabularySize)
            logitRows = rows
        }
        w.outputNorm.withUnsafeBufferPointer { norm in
            switch output {
            case .all:
                edge_op_rmsnorm(p, x, norm.baseAddress, xn, Int64(n), Int64(d), c.rmsEpsilon)
            case .lastOfEach:
                for (k, s) in segments.enumerated() {
                    edge_op_rmsnorm(p, x + (s.rows.upperBound - 1) * d, norm.baseAddress, xn + k * d, 1, Int64(d), c.rmsEpsilon)
                }
            }
        }
        var quantized: (slot: ActivationSlot, act: Int32)? = nil
        try matmul(w.output, placement.outputPieces, input: xn, rows, out: logits, &quantized, slot: .normed, pool: p)
        if let cap = c.finalLogitSoftcap { edge_op_softcap(p, logits, Int64(rows * c.vocabularySize), cap) }
        return rows
    }

    /// out (rows, W.rows) = input (rows, W.columns) W^T, one piece (row range of W) at a time, each
    /// read from where the placement keeps it. Quantizes `input` to the weight's activation type
    /// unless it already is (`quantized` remembers which slot the quantized rows hold, in which
    /// activation type).
    private func matmul(_ W: MatrixWeight, _ pieces: [WeightPlacement.Piece], input: UnsafeMutablePointer<Float>, _ rows: Int,
                        out: UnsafeMutablePointer<Float>, _ quantized: inout (slot: ActivationSlot, act: Int32)?,
                        slot: ActivationSlot, pool p: OpaquePointer) throws {
        let wt = Int32(W.type.rawValue)
        if !f32Activations { quantize(W, input: input, rows, &quantized, slot: slot, pool: p) }
        let actRow = edge_act_row_bytes(wt, Int64(W.columns))
        // Other nodes' shares first: handed to their relays, computed while this node does its own.
        var posted: [OpaquePointer] = []
        for piece in pieces where piece.node > 0 {
            let (pool, relay) = peers[piece.node - 1]
            var job = edge_matmul_job()
            job.pool = pool
            job.weight_type = wt
            job.n = Int64(W.columns)
            job.rows = Int64(piece.rows)
            job.ntok = Int64(rows)
            job.Y = out + piece.rowStart
            job.y_stride = Int64(W.rows)
            job.w_row_bytes = W.rowBytes
            switch piece.source {
            case let .packed(ptr) where !f32Activations:
                job.packed = 1
                job.W = ptr
            case .packed:
                job.W = W.data + piece.rowStart * W.rowBytes   // the F32 path reads the file layout
            case let .memory(ptr):
                job.W = ptr
            case .streamed:
                preconditionFailure("streamed weights are never split between nodes")
            }
            if f32Activations { job.x_f32 = UnsafePointer(input) } else { job.A = UnsafeRawPointer(act); job.a_row_bytes = actRow }
            edge_relay_post(relay, &job)
            posted.append(relay)
        }
        defer { for relay in posted { edge_relay_wait(relay) } }
        // HeteGen's split: rows 0..<gpuRows on the GPU, computed while this node does the rest.
        let gpuRows = gpuSplit?.rows(of: W) ?? 0
        if gpuRows > 0 {
            do { try gpuSplit!.start(W, x: input, n: rows) } catch { throw RuntimeError.gpu(error) }
        }
        do {
            try cpuPieces(W, pieces, from: gpuRows, rows, out: out, input: input, actRow: actRow, pool: p)
        } catch {
            if gpuRows > 0 { try? gpuSplit!.device.wait() }
            throw error
        }
        if gpuRows > 0 {
            do { try gpuSplit!.finish(W, n: rows, out: out) } catch { throw RuntimeError.gpu(error) }
        }
    }

    /// Whether a sequence's `rows` of a batch attend in F32 (Q and the accumulator unrounded, as
    /// llama.cpp's tiled prompt kernel) rather than with its one-query F16 rounding: from
    /// EDGE_ATTN_F32_MIN_ROWS rows on. Decided per sequence, so that its rows get what they would
    /// get alone; the GPU's attention follows the same rule.
    static func attentionInF32(rows: Int) -> Bool { rows >= Int(EDGE_ATTN_F32_MIN_ROWS) }

    /// This node's pieces of out = input Wᵀ, rows `from`... only (the rows before run on the GPU:
    /// a multiple of 16, so a packed piece is cut between its 16-row groups).
    private func cpuPieces(_ W: MatrixWeight, _ pieces: [WeightPlacement.Piece], from first: Int, _ rows: Int,
                           out: UnsafeMutablePointer<Float>, input: UnsafeMutablePointer<Float>, actRow: Int, pool p: OpaquePointer) throws {
        let wt = Int32(W.type.rawValue)
        for whole in pieces where whole.node == 0 && whole.rowStart + whole.rows > first {
            let skip = max(0, first - whole.rowStart)
            let piece = WeightPlacement.Piece(rowStart: whole.rowStart + skip, rows: whole.rows - skip,
                                              source: whole.source, releasesBlock: whole.releasesBlock, node: 0)
            let data: UnsafeRawPointer
            switch piece.source {
            case let .memory(ptr): data = ptr + skip * W.rowBytes
            case let .packed(ptr):
                if !f32Activations {
                    edge_op_matmul_packed(p, wt, Int64(W.columns), ptr + edge_packed_bytes(wt, Int64(skip), Int64(W.columns)),
                                          Int64(piece.rows), act, actRow, Int64(rows), out + piece.rowStart, Int64(W.rows))
                    continue
                }
                data = W.data + piece.rowStart * W.rowBytes   // the F32 path reads the file layout
            case let .streamed(block, offset):
                if currentBlock?.index != block { currentBlock = (block, try placement.scheduler!.acquire(block)) }
                data = currentBlock!.base + offset + skip * W.rowBytes
            }
            // Rows [rowStart, rowStart + rows) of W land in columns rowStart... of out (stride W.rows).
            if f32Activations {
                edge_op_matmul_f32(p, wt, Int64(W.columns), data, W.rowBytes, Int64(piece.rows), input, Int64(rows),
                                   out + piece.rowStart, Int64(W.rows))
            } else {
                edge_op_matmul(p, wt, Int64(W.columns), data, W.rowBytes, Int64(piece.rows), act, actRow, Int64(rows),
                               out + piece.rowStart, Int64(W.rows))
            }
            if piece.releasesBlock, case let .streamed(block, _) = piece.source {
                placement.scheduler!.release(block)
                currentBlock = nil
            }
        }
    }

    /// Rounds `input` (rows, W.columns) into the quantized activation rows for W's activation type,
    /// unless they already hold that slot in that type.
    private func quantize(_ W: MatrixWeight, input: UnsafeMutablePointer<Float>, _ rows: Int,
                          _ quantized: inout (slot: ActivationSlot, act: Int32)?, slot: ActivationSlot, pool p: OpaquePointer) {
        let wt = Int32(W.type.rawValue)
        let actType = edge_vec_dot_type(wt)
        if quantized?.slot != slot || quantized?.act != actType {
            edge_op_quantize(p, wt, input, Int64(rows), Int64(W.columns), act)
            quantized = (slot, actType)
        }
    }

    /// x (n, d_model) = rows `ids` of the token embedding: from the repacked copy of a tied output
    /// projection, from the mapping, or, when the weights are not mapped in place, read from disk
    /// row by row (a few KiB per token).
    private func embed(_ ids: UnsafeBufferPointer<Int32>, into x: UnsafeMutablePointer<Float>) throws {
        let e = weights.tokenEmbedding
        let type = Int32(e.type.rawValue)
        if let packed = placement.embeddingPacked, let bounce = embedBuffer {
            for (t, id) in ids.enumerated() {
                var zero: Int32 = 0
                guard (0..<e.rows).contains(Int(id)),
                      edge_unpack_row(type, Int64(e.columns), packed, Int64(id), bounce.base) == 0,
                      edge_op_get_rows(type, bounce.base, e.rowBytes, &zero, 1, Int64(e.columns), x + t * e.columns) == 0 else {
                    throw RuntimeError.unsupportedTensorType(name: e.name, type: e.type)
                }
            }
            return
        }
        guard let bounce = embedBuffer, let disk = placement.disk else {
            guard edge_op_get_rows(type, e.data, e.rowBytes, ids.baseAddress, Int64(ids.count), Int64(e.columns), x) == 0 else {
                throw RuntimeError.unsupportedTensorType(name: e.name, type: e.type)
            }
            return
        }
        for (t, id) in ids.enumerated() {
            // From a resident block when one holds the row (a tied output projection), else disk.
            let offset = e.fileOffset + Int(id) * e.rowBytes
            let row = try placement.residentAddress(fileOffset: offset, length: e.rowBytes)
                ?? UnsafeRawPointer(try disk.read(offset: offset, length: e.rowBytes, into: bounce.base))
            var zero: Int32 = 0
            guard edge_op_get_rows(type, row, e.rowBytes, &zero, 1, Int64(e.columns), x + t * e.columns) == 0 else {
                throw RuntimeError.unsupportedTensorType(name: e.name, type: e.type)
            }
        }
    }

    private func addBias(_ b: [Float], to y: UnsafeMutablePointer<Float>, rows: Int) {
        b.withUnsafeBufferPointer { bb in
            for r in 0..<rows {
                let row = y + r * bb.count
                for i in 0..<bb.count { row[i] += bb[i] }
            }
        }
    }
}
