import EdgeCore

/// What the planner knows about a model: its dimensions and every weight matrix a forward pass
/// reads, in the order it reads them, with its type, size and place in the file. Built from a GGUF
/// file (EdgeRuntime's `ModelManifest(model:)`) or from a catalogue shape without any file
/// (``init(shape:type:)``), so that a model can be planned before it is downloaded.
public struct ModelManifest: Codable, Sendable, Equatable {
    /// One weight matrix: `rows` output rows of `columns` inputs, `rowBytes` bytes per row.
    public struct Matrix: Codable, Sendable, Equatable {
        public var name: String
        /// Transformer block, or -1 for the output projection.
        public var layer: Int
        /// What the matrix does (`.output` for the output projection, `.tokenEmbedding` for the
        /// embedding). A fused tensor's row ranges are matrices of their own roles.
        public var role: WeightRole
        /// Its GGUF tensor type.
        public var type: TensorType
        public var rows: Int
        public var columns: Int
        public var rowBytes: Int
        /// Absolute offset of the first row in the model file.
        public var fileOffset: Int

        public init(name: String, layer: Int, role: WeightRole, type: TensorType, rows: Int, columns: Int, rowBytes: Int, fileOffset: Int) {
            self.name = name
            self.layer = layer
            self.role = role
            self.type = type
            self.rows = rows
            self.columns = columns
            self.rowBytes = rowBytes
            self.fileOffset = fileOffset
        }

        public var byteCount: Int { rows * rowBytes }
        /// Multiply-adds × 2 per token.
        public var flopsPerToken: Double { 2 * Double(rows) * Double(columns) }
        /// The attention matrices of a block are group 0, the feed-forward ones group 1.
        public var group: Int {
            switch role {
            case .query, .key, .value, .attentionOutput: 0
            default: 1
            }
        }
    }

    /// The file name or the catalogue shape's name.
    public var name: String
    public var architecture: String
    /// Weight type of the largest share of the weights, for display.
    public var mainType: TensorType
    public var blockCount: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDim: Int
    public var vocabularySize: Int
    /// The context the model was trained for.
    public var trainedContextLength: Int
    public var parameterCount: Int
    /// Every matrix a token's forward pass reads, in pass order (blocks 0..<n, then the output).
    public var matrices: [Matrix]
    /// The token embedding: only the rows of the tokens are read.
    public var embedding: Matrix
    /// True when the output projection is the token embedding (tied): its bytes count once.
    public var tiedEmbedding: Bool
    /// Size of the model file (0 for a shape that has no file).
    public var fileBytes: Int
    /// Positions a sliding-window layer attends to, and how many layers do (nil: none). Their KV
    /// cache is a ring of window + batch - 1 rows, not the whole context.
    public var slidingWindow: Int?
    public var slidingWindowLayers: Int?

    public init(name: String, architecture: String, mainType: TensorType, blockCount: Int, embeddingLength: Int,
                feedForwardLength: Int, headCount: Int, headCountKV: Int, headDim: Int, vocabularySize: Int,
                trainedContextLength: Int, parameterCount: Int, matrices: [Matrix], embedding: Matrix,
                tiedEmbedding: Bool, fileBytes: Int) {
        self.name = name
        self.architecture = architecture
        self.mainType = mainType
        self.blockCount = blockCount
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.headCountKV = headCountKV
        self.headDim = headDim
        self.vocabularySize = vocabularySize
        self.trainedContextLength = trainedContextLength
        self.parameterCount = parameterCount
        self.matrices = matrices
        self.embedding = embedding
        self.tiedEmbedding = tiedEmbedding
        self.fileBytes = fileBytes
    }

    public var qDim: Int { headCount * headDim }
    public var kvDim: Int { headCountKV * headDim }
    /// Bytes of weights one generated token reads (every matrix once).
    public var bytesPerToken: Int { matrices.reduce(0) { $0 + $1.byteCount } }
    public var flopsPerToken: Double { matrices.reduce(0) { $0 + $1.flopsPerToken } }

    /// A manifest for a catalogue shape with every matrix of `type`, laid out as llama.cpp's
    /// converter writes a file: per block the attention matrices together, then the feed-forward
    /// ones; the token embedding first and the output projection last. No file is needed.
    public init(shape s: ModelShape, type: TensorType) throws(ModelShapeError) {
        try s.validate()
        var offset = 0
        func matrix(_ name: String, layer: Int, role: WeightRole, rows: Int, columns: Int) -> Matrix {
            let rowBytes = type.rowBytes(columns) ?? columns * type.blockBytes / max(type.blockSize, 1)
            let m = Matrix(name: name, layer: layer, role: role, type: type, rows: rows, columns: columns,
                           rowBytes: rowBytes, fileOffset: offset)
            offset += m.byteCount
            return m
        }
        let d = s.embeddingLength
        let embedding = matrix("token_embd.weight", layer: -1, role: .tokenEmbedding, rows: s.vocabularySize, columns: d)
        var ms: [Matrix] = []
        for l in 0..<s.blockCount {
            ms.append(matrix("blk.\(l).attn_q.weight", layer: l, role: .query, rows: s.qDim, columns: d))
            ms.append(matrix("blk.\(l).attn_k.weight", layer: l, role: .key, rows: s.kvDim, columns: d))
            ms.append(matrix("blk.\(l).attn_v.weight", layer: l, role: .value, rows: s.kvDim, columns: d))
            ms.append(matrix("blk.\(l).attn_output.weight", layer: l, role: .attentionOutput, rows: d, columns: s.qDim))
            ms.append(matrix("blk.\(l).ffn_gate.weight", layer: l, role: .gate, rows: s.feedForwardLength, columns: d))
            ms.append(matrix("blk.\(l).ffn_up.weight", layer: l, role: .up, rows: s.feedForwardLength, columns: d))
            ms.append(matrix("blk.\(l).ffn_down.weight", layer: l, role: .down, rows: d, columns: s.feedForwardLength))
        }
        if s.tiedEmbeddings {
            var out = embedding
            out.name = "token_embd.weight (tied output)"
            ms.append(out)
        } else {
            ms.append(matrix("output.weight", layer: -1, role: .output, rows: s.vocabularySize, columns: d))
        }
        self.init(name: s.name, architecture: s.architecture, mainType: type, blockCount: s.blockCount,
                  embeddingLength: d, feedForwardLength: s.feedForwardLength, headCount: s.headCount,
                  headCountKV: s.headCountKV, headDim: s.headDim, vocabularySize: s.vocabularySize,
                  trainedContextLength: s.contextLength, parameterCount: s.parameterCount, matrices: ms,
                  embedding: embedding, tiedEmbedding: s.tiedEmbeddings, fileBytes: 0)
    }
}

// MARK: - Blocks

/// A unit of placement: rows of one matrix, or a group of whole matrices lying together in the
/// file, read as one contiguous range.
public struct WeightBlock: Sendable, Equatable {
    /// Rows [rowStart, rowStart + rows) of `matrices[matrix]`, at file offset `offset`.
    public struct Member: Sendable, Equatable {
        public var matrix: Int
        public var rowStart: Int
        public var rows: Int
        public var offset: Int
    }

    public var offset: Int
    public var length: Int
    public var members: [Member]
    /// Display name: `blk.3.attn`, `blk.3.ffn`, `blk.3.ffn_up[0:2048]`, `output[0:8192]`.
    public var name: String
    /// Transformer block, -1 for the output projection.
    public var layer: Int
}

extension ModelManifest {
    /// Cuts the model into blocks in pass order: per transformer block the attention matrices, then
    /// the feed-forward ones, then the output projection. A group whose matrices lie together in
    /// the file (gaps of at most 2%, the norm vectors between them) and fit `target` bytes is one
    /// block (one read); otherwise each matrix is its own block, and a matrix larger than `target`
    /// is cut into row ranges, a multiple of 64 rows where the matrix is that large, so that kernels
    /// working on groups of rows see the same groups as in a whole-matrix pass.
    public func blocks(target: Int) -> [WeightBlock] {
        var out: [WeightBlock] = []
        func short(_ m: Matrix) -> String {
            m.layer < 0 ? "output" : m.name.replacingOccurrences(of: ".weight", with: "")
        }
        func chunks(_ i: Int) {
            let m = matrices[i]
            var rowsPer = max(1, target / max(m.rowBytes, 1))
            if rowsPer >= 64 { rowsPer -= rowsPer % 64 }
            var r = 0
            while r < m.rows {
                let n = min(rowsPer, m.rows - r)
                let off = m.fileOffset + r * m.rowBytes
                let name = n == m.rows ? short(m) : "\(short(m))[\(r):\(r + n)]"
                out.append(WeightBlock(offset: off, length: n * m.rowBytes,
                                       members: [.init(matrix: i, rowStart: r, rows: n, offset: off)], name: name, layer: m.layer))
                r += n
            }
        }
        var i = 0
        while i < matrices.count {
            let m = matrices[i]
            guard m.layer >= 0 else { chunks(i); i += 1; continue }
            var j = i
            while j < matrices.count, matrices[j].layer == m.layer, matrices[j].group == m.group { j += 1 }
            let group = Array(i..<j)
            let lo = group.map { matrices[$0].fileOffset }.min()!
            let hi = group.map { matrices[$0].fileOffset + matrices[$0].byteCount }.max()!
            let used = group.reduce(0) { $0 + matrices[$1].byteCount }
            if hi - lo <= target, Double(hi - lo - used) <= 0.02 * Double(used) {
                out.append(WeightBlock(
                    offset: lo, length: hi - lo,
                    members: group.map { .init(matrix: $0, rowStart: 0, rows: matrices[$0].rows, offset: matrices[$0].fileOffset) },
                    name: "blk.\(m.layer).\(m.group == 0 ? "attn" : "ffn")", layer: m.layer))
            } else {
                for k in group { chunks(k) }
            }
            i = j
        }
        return out
    }

    /// Bytes of each weight type a block holds (its members' rows, not the gaps between them).
    public func bytesByType(_ block: WeightBlock) -> [TensorType: Int] {
        var out: [TensorType: Int] = [:]
        for m in block.members { out[matrices[m.matrix].type, default: 0] += m.rows * matrices[m.matrix].rowBytes }
        return out
    }
}

// MARK: - Buffers every run needs

/// The memory a run needs besides the weights, as the runtime allocates it. The engine sizes its
/// buffers with these formulas, so the planner's prediction and the run agree by construction.
public enum RuntimeFootprint {
    /// KV cache: K and V, F16, for every block and position: 2 × blocks × ctx × kv_dim × 2 bytes,
    /// except that a sliding-window layer holds a ring of at most window + 511 rows (window plus
    /// the largest batch, 512, less one: ForwardPass's KV cache).
    public static func kvBytes(_ m: ModelManifest, context: Int) -> Int {
        let windowed = min(m.slidingWindowLayers ?? 0, m.blockCount)
        let ring = m.slidingWindow.map { min(context, $0 + 511) } ?? context
        return 2 * m.kvDim * 2 * ((m.blockCount - windowed) * context + windowed * ring)
    }

    /// Activation buffers of a forward pass over `batch` tokens (F32 vectors and 8-bit activation
    /// blocks) and the logits.
    public static func scratchBytes(embedding d: Int, qDim: Int, kvDim: Int, feedForward f: Int, vocabulary: Int, batch b: Int) -> Int {
        let floats = b * (3 * d + 2 * qDim + 2 * kvDim + 2 * f) + vocabulary
        let act = b * 4 * max(d, qDim, f)
        return floats * 4 + act + b * 4
    }

    public static func scratchBytes(_ m: ModelManifest, batch: Int) -> Int {
        scratchBytes(embedding: m.embeddingLength, qDim: m.qDim, kvDim: m.kvDim, feedForward: m.feedForwardLength,
                     vocabulary: m.vocabularySize, batch: batch)
    }

    /// The largest batch (≤ `wanted`, ≤ context) whose activations take at most an eighth of
    /// `budget`: a smaller batch reads streamed weights more often during a prompt but leaves room
    /// for resident weights. Without a budget, `min(wanted, context)`.
    public static func batchSize(_ m: ModelManifest, wanted: Int, context: Int, budget: Int?) -> Int {
        var batch = max(1, min(wanted, context))
        if let budget {
            while batch > 1 && scratchBytes(m, batch: batch) > budget / 8 { batch /= 2 }
        }
        return batch
    }

    /// Everything but the weights and the process's own code and tables: KV cache, activations,
    /// norm vectors (F32 copies), the sampler's logits copies, and per-thread stacks and slack
    /// (1 MiB + 256 KiB per thread, counting 6 I/O, loader and driver threads; measured: a budgeted
    /// SmolLM2 run's peak exceeded the buffers by 0.3 MiB on one thread).
    ///
    /// Under a budget the activations are counted as ``activationReserve(_:budget:)``, not as
    /// the batch's exact size, so that the room left for weights never shrinks as the budget grows.
    public static func fixedBytes(_ m: ModelManifest, context: Int, batch: Int, threads: Int, budget: Int? = nil) -> Int {
        let activations = budget.map { activationReserve(m, budget: $0) } ?? scratchBytes(m, batch: batch)
        return kvBytes(m, context: context) + activations + otherBytes(m, threads: threads)
    }

    /// Norm vectors, sampling buffers, stacks and slack.
    static func otherBytes(_ m: ModelManifest, threads: Int) -> Int {
        let vectors = 4 * (m.blockCount * (2 * m.embeddingLength + m.qDim + 2 * m.kvDim) + m.embeddingLength + m.headDim)
        let sampling = 4 * 4 * m.vocabularySize
        let working = (1 << 20) + (256 << 10) * (threads + 6)
        return vectors + sampling + working
    }

    /// Memory set aside for activations under a budget: an eighth of it (the batch is the largest
    /// that fits there), or one token's activations when that is more. It grows with the budget
    /// continuously; reserving the batch's exact size instead would take a jump of memory from the
    /// weights each time the batch doubles, and a larger budget could then run slower.
    public static func activationReserve(_ m: ModelManifest, budget: Int) -> Int {
        max(scratchBytes(m, batch: 1), budget / 8)
    }

    /// The smallest budget whose room, after the fixed buffers and their activation reserve, holds
    /// `needed` bytes (e.g. one window slot).
    public static func minimumBudget(_ m: ModelManifest, context: Int, threads: Int, needing needed: Int) -> Int {
        let rest = kvBytes(m, context: context) + otherBytes(m, threads: threads) + needed
        let one = scratchBytes(m, batch: 1)
        if rest + one <= 8 * one { return rest + one }       // the one-token floor governs
        return (8 * rest + 6) / 7                             // B - B/8 >= rest
    }

    /// The process itself before any weight or buffer: code, libraries, the tokenizer's tables and
    /// the file's parsed metadata, for a plan made without the process (`edgert plan`); the engine
    /// plans with its own measured figure (``PlacementRequest/processBytes``). Fitted to the
    /// overhead edgert measured after loading (RSS with the mapping's pages dropped; 2026-12-08,
    /// with the server and Vulkan code linked in): 35.9 MiB with a 49,152-token vocabulary
    /// (SmolLM2), 43.3 MiB with 128,256 tokens (Llama 3.2) — 31 MiB plus about 100 bytes per
    /// vocabulary entry (23.7 MiB before those were linked).
    public static func processBytes(_ m: ModelManifest) -> Int {
        Int(31.0 * 1048576) + 100 * m.vocabularySize
    }
}
