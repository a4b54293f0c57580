import EdgeCore
import EdgeFormats
import EdgeTokenizer

/// Makes a GGUF model file of a ``ModelShape`` with seeded random weights and a working
/// vocabulary: the metadata keys, tensor names, shapes and order llama.cpp's converter and
/// quantizer would write for that architecture, so ``Model`` (and llama.cpp) load it and run it.
/// The text it generates is nonsense; the work per token is a real model's, which is the point:
/// streaming and planning can be exercised and measured at sizes of gigabytes without
/// downloading them.
///
/// Weights: every matrix is stored in `type` (with llama.cpp's fallback where rows are not whole
/// blocks, ``WeightTensor/storageType(requested:)``), its values of mean 0 and standard deviation
/// `1/√(row length)`, so each projection keeps unit-scale activations at unit scale and the logits
/// have a standard deviation near 1; norm gains are 1; Qwen2's biases are small (σ 0.02); Llama-3
/// RoPE divisors are computed from the shape. The same shape, type and seed give the same bytes.
/// A tensor's random stream depends only on the seed, its name and the chunk, so a shape cut to
/// fewer blocks (``ModelShape/withBlockCount(_:)``) holds the same weights in the blocks it keeps.
public struct ModelSynthesizer: Sendable {
    public let shape: ModelShape
    public let type: TensorType
    public let seed: UInt64

    /// The weight types the synthesizer can write.
    public static var supportedTypes: [TensorType] { RandomBlockFiller.supported }

    /// Values generated from one random stream; the tensor's chunks are seeded separately.
    static let chunkElements = 1 << 22

    /// Standard deviation of Qwen2's Q/K/V biases.
    static let biasSigma: Float = 0.02

    public init(shape: ModelShape, type: TensorType, seed: UInt64 = 0) throws(SynthesisError) {
        do { try shape.validate() } catch { throw .shape(error) }
        guard Self.supportedTypes.contains(type) else { throw .unsupportedType(type, supported: Self.supportedTypes) }
        guard shape.vocabularySize >= SyntheticVocabulary.minimumSize else {
            throw .vocabulary(.vocabularyTooSmall(requested: shape.vocabularySize, minimum: SyntheticVocabulary.minimumSize))
        }
        self.shape = shape
        self.type = type
        self.seed = seed
    }

    /// One tensor as the file will hold it.
    public struct PlannedTensor: Sendable, Equatable {
        /// The GGUF name (`blk.3.attn_q.weight`).
        public let name: String
        public let tensor: WeightTensor
        /// The stored type: `type`, its fallback, or F32 for vectors.
        public let type: TensorType
        public var byteCount: Int { type.rowBytes(tensor.dims[0])! * (tensor.elementCount / tensor.dims[0]) }
    }

    /// The tensors in file order: llama.cpp's model loader and quantizer keep tensors sorted by
    /// block number (model-level tensors, which have none, first), then by name
    /// (`weight_name_comparer` in `llama-model-loader.h`), and quantized files come out in that order.
    public var tensors: [PlannedTensor] {
        shape.tensors.map { t in
            PlannedTensor(name: TensorNames.name(of: t), tensor: t, type: t.storageType(requested: type))
        }.sorted { a, b in
            let (la, lb) = (a.tensor.layer ?? -1, b.tensor.layer ?? -1)
            return la != lb ? la < lb : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
    }

    // MARK: metadata

    /// The pre-tokenizer the vocabulary is learned with: one that keeps spaces when detokenizing, so
    /// text round-trips: Qwen2's own, and for Llama SmolLM2's (a Llama-architecture model with a
    /// byte-level BPE vocabulary).
    var preTokenizer: String { shape.architecture == "qwen2" ? "qwen2" : "smollm" }

    /// The vocabulary the file carries (see ``SyntheticVocabulary``); Llama files ask for BOS, as
    /// Llama 3's do, Qwen2 files do not.
    public func vocabulary() throws(SynthesisError) -> TokenizerVocabulary {
        do {
            return try SyntheticVocabulary.make(size: shape.vocabularySize, preTokenizer: preTokenizer,
                                                addBOS: shape.architecture == "llama")
        } catch { throw .vocabulary(error) }
    }

    /// llama.cpp's `llama_ftype` for a file "mostly `type`" (`general.file_type`): the K-quants map
    /// to their `_S` variant, the one whose tensors are all of that type.
    static func fileType(_ type: TensorType) -> UInt32 {
        switch type {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .q5_0: 8
        case .q5_1: 9
        case .q4_K: 14
        case .q5_K: 16
        case .q6_K: 18
        case .bf16: 32
        default: 0
        }
    }

    /// A writer holding the metadata and the tensor list (data to be streamed).
    public func makeWriter() throws(SynthesisError) -> GGUFWriter {
        let v = try vocabulary()
        do {
            var w = try GGUFWriter()
            let s = shape
            let a = s.architecture
            try w.addMetadata("general.architecture", .string(a))
            try w.addMetadata("general.type", .string("model"))
            try w.addMetadata("general.name", .string("synthetic \(s.name) (\(type), seed \(seed))"))
            try w.addMetadata("\(a).\(HyperparameterKey.blockCount)", .uint32(UInt32(s.blockCount)))
            try w.addMetadata("\(a).\(HyperparameterKey.contextLength)", .uint32(UInt32(s.contextLength)))
            try w.addMetadata("\(a).\(HyperparameterKey.embeddingLength)", .uint32(UInt32(s.embeddingLength)))
            try w.addMetadata("\(a).\(HyperparameterKey.feedForwardLength)", .uint32(UInt32(s.feedForwardLength)))
            try w.addMetadata("\(a).\(HyperparameterKey.headCount)", .uint32(UInt32(s.headCount)))
            try w.addMetadata("\(a).\(HyperparameterKey.headCountKV)", .uint32(UInt32(s.headCountKV)))
            try w.addMetadata("\(a).\(HyperparameterKey.ropeBase)", .float32(s.ropeBase))
            try w.addMetadata("\(a).\(HyperparameterKey.rmsEpsilon)", .float32(s.rmsEpsilon))
            // The converter writes the head size only when the config gives one; needed only when
            // it is not d_model / heads.
            if s.headDim * s.headCount != s.embeddingLength {
                try w.addMetadata("\(a).\(HyperparameterKey.keyLength)", .uint32(UInt32(s.headDim)))
                try w.addMetadata("\(a).\(HyperparameterKey.valueLength)", .uint32(UInt32(s.headDim)))
            }
            try w.addMetadata("general.file_type", .uint32(Self.fileType(type)))
            if a == "llama" {
                // LlamaModel.set_gguf_parameters adds these two.
                try w.addMetadata("\(a).\(HyperparameterKey.vocabularySize)", .uint32(UInt32(s.vocabularySize)))
                try w.addMetadata("\(a).\(HyperparameterKey.ropeDimensions)", .uint32(UInt32(s.headDim)))
            }
            typealias Key = TokenizerVocabulary.Key
            try w.addMetadata(Key.model, .string(v.model))
            try w.addMetadata(Key.preTokenizer, .string(v.preTokenizer ?? "default"))
            try w.addMetadata(Key.tokens, .stringArray(v.tokens))
            try w.addMetadata(Key.tokenTypes, .int32Array(v.tokenTypes ?? []))
            try w.addMetadata(Key.merges, .stringArray(v.merges ?? []))
            for role in [SpecialTokenRole.bos, .eos] {
                if let id = v.specialTokenIDs[role] { try w.addMetadata(role.key, .uint32(UInt32(id))) }
            }
            try w.addMetadata(Key.addBOS, .bool(v.addBOS ?? false))
            try w.addMetadata(Key.addEOS, .bool(v.addEOS ?? false))
            try w.addMetadata("general.quantization_version", .uint32(2))  // ggml's GGML_QNT_VERSION
            for t in tensors {
                try w.addTensor(name: t.name, type: t.type, dims: t.tensor.dims)
            }
            return w
        } catch {
            throw .write(error)
        }
    }

    // MARK: writing

    /// Writes the file at `path` (through `path.partial`, renamed when complete; an existing file
    /// at `path` is replaced). `progress` is called after each chunk of data, on this thread.
    /// - Parameter uncached: write past the page cache (see ``GGUFWriter/write(toFile:uncached:fill:)``).
    ///   On this project's 2-core build VM, buffered writes of 1.2-3.6 GB (dd) ran at 0.2-1.4 GB/s
    ///   from one run to the next, most of it kernel time spent on dirty pages; direct writes took
    ///   little kernel time and went at the disk's speed.
    /// - Returns: where everything went.
    @discardableResult
    public func write(toFile path: String, uncached: Bool = true,
                      progress: (SynthesisProgress) -> Void = { _ in }) throws(SynthesisError) -> GGUFLayout {
        let writer = try makeWriter()
        let layout: GGUFLayout
        do { layout = try writer.layout() } catch { throw .write(error) }
        let planned = tensors
        let total = planned.reduce(0) { $0 + $1.byteCount }
        let chunks = planned.map { Self.chunkCount($0) }
        var jobs: [(tensor: Int, chunk: Int)] = []
        for (i, n) in chunks.enumerated() { jobs += (0..<n).map { (i, $0) } }
        let largest = planned.map { min($0.byteCount, Self.chunkBytes($0.type)) }.max() ?? 1
        // Generation runs on a thread of its own, up to three chunks ahead of the writer.
        let pipeline = ChunkPipeline(slots: 3, slotBytes: max(largest, 1), jobs: jobs.count) { [self, jobs] j, buffer in
            generate(planned[jobs[j].tensor], chunk: jobs[j].chunk, into: buffer)
        }
        defer { pipeline.stop() }
        var index = 0
        var written = 0
        do {
            try writer.write(toFile: path, uncached: uncached) { info, sink in
                let t = planned[index]
                precondition(info.name == t.name, "the writer streams tensors in the order they were added")
                var report = SynthesisProgress(bytesWritten: written, totalBytes: total, tensorName: t.name,
                                               tensorIndex: index, tensorCount: planned.count)
                for _ in 0..<chunks[index] {
                    try pipeline.consumeNext { chunk in
                        try sink.write(chunk)
                        written += chunk.count
                    }
                    report.bytesWritten = written
                    progress(report)
                }
                index += 1
            }
        } catch let e as GGUFWriterError {
            throw .write(e)
        } catch {
            preconditionFailure("only the writer throws while synthesizing, got \(error)")
        }
        return layout
    }

    /// Bytes of the largest chunk of a tensor of `type`.
    static func chunkBytes(_ type: TensorType) -> Int { chunkElements / type.blockSize * type.blockBytes }

    /// Chunks a tensor is generated in: one for a vector, `elements / chunkElements` rounded up for a matrix.
    static func chunkCount(_ t: PlannedTensor) -> Int {
        t.tensor.role.isMatrix ? (t.tensor.elementCount + chunkElements - 1) / chunkElements : 1
    }

    /// Generates chunk `chunk` of the tensor into `buffer` and returns its length in bytes.
    /// Each chunk of a matrix has its own random stream, so chunks can be made in any order.
    func generate(_ t: PlannedTensor, chunk: Int, into buffer: UnsafeMutableRawPointer) -> Int {
        let count = t.tensor.elementCount
        func copy(_ values: [Float]) -> Int {
            values.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            return values.count * 4
        }
        switch t.tensor.role {
        case .attentionNorm, .feedForwardNorm, .outputNorm, .queryNorm, .keyNorm, .postAttentionNorm, .postFeedForwardNorm:
            return copy([Float](repeating: 1, count: count))
        case .ropeFrequencies:
            return copy(shape.ropeScaling?.frequencyDivisors(ropeDimensions: shape.headDim, base: Double(shape.ropeBase))
                ?? [Float](repeating: 1, count: count))
        case .queryBias, .keyBias, .valueBias:
            var g = SeededGenerator(seed: Self.streamSeed(seed: seed, name: t.name))
            RandomBlockFiller(type: .f32, sigma: Self.biasSigma).fill(blocks: count, at: buffer, generator: &g)
            return count * 4
        case .tokenEmbedding, .output, .query, .key, .value, .attentionOutput, .gate, .up, .down:
            let perChunk = Self.chunkElements / t.type.blockSize
            let blocks = min(perChunk, count / t.type.blockSize - chunk * perChunk)
            var g = SeededGenerator(seed: Self.streamSeed(seed: seed, name: t.name) ^ UInt64(chunk) &* 0xD1B5_4A32_D192_ED03)
            RandomBlockFiller(type: t.type, sigma: 1 / Float(t.tensor.dims[0]).squareRoot())
                .fill(blocks: blocks, at: buffer, generator: &g)
            return blocks * t.type.blockBytes
        }
    }

    /// The seed of a tensor's random streams: FNV-1a of its name, mixed with the file's seed.
    static func streamSeed(seed: UInt64, name: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a 64-bit offset basis
        for b in name.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3  // FNV-1a 64-bit prime
        }
        return h ^ (seed &* 0x9E37_79B9_7F4A_7C15)
    }
}
