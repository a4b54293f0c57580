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

/// The weights of one transformer block. Norm vectors and biases are small and kept as F32 copies.
public struct LayerWeights: Sendable {
    public let attnNorm: [Float]        // (d_model)
    public let wq: MatrixWeight          // (n_head * head_dim, d_model)
    public let wk: MatrixWeight          // (n_kv * head_dim, d_model)
    public let wv: MatrixWeight          // (n_kv * head_dim, d_model)
    public let bq: [Float]?, bk: [Float]?, bv: [Float]?
    public let wo: MatrixWeight          // (d_model, n_head * head_dim)
    public let ffnNorm: [Float]         // (d_model)
    public let gate: MatrixWeight        // (d_ff, d_model)
    public let up: MatrixWeight          // (d_ff, d_model)
    public let down: MatrixWeight        // (d_model, d_ff)
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
    /// Llama-3 RoPE frequency factors (rope_dims / 2), when the file has them.
    public let ropeFactors: [Float]?
    public let layers: [LayerWeights]

    /// Bytes of weights the forward pass reads per token (every matrix once, plus the output).
    public var bytesPerToken: Int {
        layers.reduce(output.byteCount) { acc, l in
            acc + l.wq.byteCount + l.wk.byteCount + l.wv.byteCount + l.wo.byteCount
                + l.gate.byteCount + l.up.byteCount + l.down.byteCount
        }
    }

    init(file: GGUFFile, config c: ModelConfig, spec: ArchitectureSpec) throws {
        self.file = file
        config = c
        func info(_ name: String) throws -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw RuntimeError.missingTensor(name) }
            return t
        }
        func matrix(_ name: String, rows: Int, cols: Int) throws -> MatrixWeight {
            let t = try info(name)
            guard t.dims.count == 2 || (t.dims.count > 2 && t.dims.dropFirst(2).allSatisfy { $0 == 1 }),
                  t.dims[0] == cols, t.dims[1] == rows else {
                throw RuntimeError.tensorShape(name: name, expected: [cols, rows], found: t.dims)
            }
            guard t.type.isSupported else { throw RuntimeError.unsupportedTensorType(name: name, type: t.type) }
            let base = file.data(of: t).baseAddress ?? file.mappedBytes.baseAddress!
            return MatrixWeight(name: name, type: t.type, columns: cols, rows: rows,
                                rowBytes: t.type.rowBytes(cols)!, data: base, fileOffset: t.fileOffset)
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

        let d = c.embeddingLength
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

        var ls: [LayerWeights] = []
        for i in 0..<c.blockCount {
            let bias = { (name: String, n: Int) throws -> [Float]? in
                spec.qkvBias ? try vector(name, count: n) : try optionalVector(name, count: n)
            }
            ls.append(LayerWeights(
                attnNorm: try vector(TensorNames.attnNorm(i), count: d),
                wq: try matrix(TensorNames.wq(i), rows: c.qDim, cols: d),
                wk: try matrix(TensorNames.wk(i), rows: c.kvDim, cols: d),
                wv: try matrix(TensorNames.wv(i), rows: c.kvDim, cols: d),
                bq: try bias(TensorNames.bq(i), c.qDim),
                bk: try bias(TensorNames.bk(i), c.kvDim),
                bv: try bias(TensorNames.bv(i), c.kvDim),
                wo: try matrix(TensorNames.wo(i), rows: d, cols: c.qDim),
                ffnNorm: try vector(TensorNames.ffnNorm(i), count: d),
                gate: try matrix(TensorNames.gate(i), rows: c.feedForwardLength, cols: d),
                up: try matrix(TensorNames.up(i), rows: c.feedForwardLength, cols: d),
                down: try matrix(TensorNames.down(i), rows: d, cols: c.feedForwardLength)))
        }
        layers = ls
    }
}
