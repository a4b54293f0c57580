import EdgeCore
import EdgeFormats
import CEdgeKernels

/// A weight matrix used in place from the mapped file: `rows` rows of `columns` values of `type`.
public struct MatrixWeight: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `data` points into a read-only mapping that the owning
    // ModelWeights keeps alive; it is never written.
    public let name: String
    public let type: TensorType
    public let columns: Int
    public let rows: Int
    public let rowBytes: Int
    public let data: UnsafeRawPointer
    /// Absolute offset of the first row in the model file.
    public let fileOffset: Int

    public var byteCount: Int { rows * rowBytes }
}

/// The weights of one transformer block, bound to the roles its ``LayerProgram`` names. Norm
/// vectors and biases are small and kept as F32 copies.
public struct LayerWeights: Sendable {
    public let program: LayerProgram
    /// The program's matrices in the order it reads them (``LayerProgram/matrices``).
    public let matrices: [MatrixWeight]
    /// Vectors by role; an optional bias a file lacks is absent (its op is skipped).
    public let vectors: [WeightRole: [Float]]
    private let matrixIndex: [WeightRole: Int]

    init(program: LayerProgram, matrices: [MatrixWeight], vectors: [WeightRole: [Float]]) {
        self.program = program
        self.matrices = matrices
        self.vectors = vectors
        matrixIndex = Dictionary(uniqueKeysWithValues: program.matrices.enumerated().map { ($1, $0) })
    }

    /// Position of `role`'s matrix in ``matrices``.
    public func index(of role: WeightRole) -> Int? { matrixIndex[role] }

    public subscript(role: WeightRole) -> MatrixWeight? { matrixIndex[role].map { matrices[$0] } }

    public var byteCount: Int { matrices.reduce(0) { $0 + $1.byteCount } }
}

/// All weights of a model, bound to the tensors of a GGUF file and checked against the config.
public final class ModelWeights: Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    public let tokenEmbedding: MatrixWeight   // (vocab, d_model)
    public let outputNorm: [Float]            // (d_model)
    /// The output projection (vocab, d_model): `output.weight`, or the token embedding when tied.
    public let output: MatrixWeight
    public let tiedOutput: Bool
    /// RoPE frequency divisors (rope_dims / 2), when the file has them: Llama-3's `rope_freqs`, or
    /// LongRoPE's short factors.
    public let ropeFactors: [Float]?
    /// LongRoPE's factors for runs longer than the original context.
    public let ropeFactorsLong: [Float]?
    public let layers: [LayerWeights]

    /// Bytes of weights the forward pass reads per token (every matrix once, plus the output).
    public var bytesPerToken: Int { layers.reduce(output.byteCount) { $0 + $1.byteCount } }

    /// The frequency divisors a run of `contextLength` positions uses.
    public func ropeFactors(contextLength: Int) -> [Float]? {
        if let long = ropeFactorsLong, let original = config.ropeOriginalContext, contextLength > original { return long }
        return ropeFactors
    }

    init(file: GGUFFile, config c: ModelConfig, spec: ArchitectureSpec, programs: [LayerProgram]) throws {
        self.file = file
        config = c
        func info(_ name: String) throws -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw RuntimeError.missingTensor(name) }
            return t
        }
        /// Rows [rowStart, rowStart + rows) of a (totalRows, cols) tensor.
        func matrix(_ name: String, rows: Int, cols: Int, rowStart: Int = 0, totalRows: Int? = nil) throws -> MatrixWeight {
            let t = try info(name)
            let total = totalRows ?? rows
            guard t.dims.count == 2 || (t.dims.count > 2 && t.dims.dropFirst(2).allSatisfy { $0 == 1 }),
                  t.dims[0] == cols, t.dims[1] == total else {
                throw RuntimeError.tensorShape(name: name, expected: [cols, total], found: t.dims)
            }
            guard t.type.isSupported else { throw RuntimeError.unsupportedTensorType(name: name, type: t.type) }
            let rowBytes = t.type.rowBytes(cols)!
            let base = file.data(of: t).baseAddress ?? file.mappedBytes.baseAddress!
            let label = totalRows == nil ? name : "\(name)[\(rowStart)..<\(rowStart + rows)]"
            return MatrixWeight(name: label, type: t.type, columns: cols, rows: rows, rowBytes: rowBytes,
                                data: base + rowStart * rowBytes, fileOffset: t.fileOffset + rowStart * rowBytes)
        }
        func vector(_ name: String, count: Int) throws -> [Float] {
            let t = try info(name)
            guard t.elementCount == count, t.dims[0] == count else {
                throw RuntimeError.tensorShape(name: name, expected: [count], found: t.dims)
            }
            guard t.type.isSupported else { throw RuntimeError.unsupportedTensorType(name: name, type: t.type) }
            var out = [Float](repeating: 0, count: count)
            let raw = file.data(of: t)
            let rc = out.withUnsafeMutableBufferPointer {
                edge_dequantize_row_ref(Int32(t.type.rawValue), raw.baseAddress, $0.baseAddress, Int64(count))
            }
            guard rc == 0 else { throw RuntimeError.unsupportedTensorType(name: name, type: t.type) }
            return out
        }
        func optionalVector(_ name: String, count: Int) throws -> [Float]? {
            file.tensor(named: name) == nil ? nil : try vector(name, count: count)
        }

        let d = c.embeddingLength, ff = c.feedForwardLength
        tokenEmbedding = try matrix(TensorNames.tokenEmbedding, rows: c.vocabularySize, cols: d)
        outputNorm = try vector(TensorNames.outputNorm, count: d)
        if file.tensor(named: TensorNames.output) != nil {
            output = try matrix(TensorNames.output, rows: c.vocabularySize, cols: d)
            tiedOutput = false
        } else {
            output = tokenEmbedding
            tiedOutput = true
        }
        ropeFactors = try optionalVector(TensorNames.ropeFrequencies, count: c.ropeDimensions / 2)
            ?? optionalVector(TensorNames.ropeFactorsShort, count: c.ropeDimensions / 2)
        ropeFactorsLong = try optionalVector(TensorNames.ropeFactorsLong, count: c.ropeDimensions / 2)

        var ls: [LayerWeights] = []
        ls.reserveCapacity(c.blockCount)
        for (i, program) in programs.enumerated() {
            let fusedQKV = file.tensor(named: TensorNames.fusedQKV(i)) != nil
            func shape(_ role: WeightRole) -> (rows: Int, cols: Int) {
                switch role {
                case .query: (c.qDim, d)
                case .key, .value: (c.kvDim, d)
                case .attentionOutput: (d, c.qDim)
                case .gate, .up: (ff, d)
                case .down: (d, ff)
                default: (0, 0)
                }
            }
            let matrices = try program.matrices.map { role -> MatrixWeight in
                let (rows, cols) = shape(role)
                let start: Int
                let total: Int
                let name: String
                switch role {
                case .query, .key, .value:
                    if fusedQKV {
                        (name, start, total) = (TensorNames.fusedQKV(i), role == .query ? 0 : role == .key ? c.qDim : c.qDim + c.kvDim,
                                                c.qDim + 2 * c.kvDim)
                    } else {
                        (name, start, total) = (TensorNames.name(role, layer: i), 0, rows)
                    }
                case .gate, .up:
                    let fused = spec.fusedGateUp
                    (name, start, total) = (TensorNames.name(fused ? .up : role, layer: i), fused && role == .up ? ff : 0,
                                            fused ? 2 * ff : ff)
                default:
                    guard rows > 0 else { throw RuntimeError.badHyperparameter(key: "\(c.architecture) layer program", reason: "\(role) is not a matrix") }
                    (name, start, total) = (TensorNames.name(role, layer: i), 0, rows)
                }
                return try matrix(name, rows: rows, cols: cols, rowStart: start, totalRows: total == rows ? nil : total)
            }
            var vectors: [WeightRole: [Float]] = [:]
            for role in program.vectors {
                let name = TensorNames.name(role, layer: i)
                switch role {
                case .queryBias, .keyBias, .valueBias:
                    let n = role == .queryBias ? c.qDim : c.kvDim
                    vectors[role] = spec.biasesRequired ? try vector(name, count: n) : try optionalVector(name, count: n)
                case .queryNorm, .keyNorm:
                    vectors[role] = try vector(name, count: c.headDim)
                default:
                    vectors[role] = try vector(name, count: d)
                }
            }
            ls.append(LayerWeights(program: program, matrices: matrices, vectors: vectors))
        }
        layers = ls
    }
}
