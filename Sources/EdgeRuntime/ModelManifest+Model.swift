import EdgeCore
import EdgePlanner
import EdgeFormats

extension ModelManifest {
    /// The manifest of an opened model: every matrix with its type, size and file offset, in the
    /// order the forward pass reads them.
    public init(model: Model) {
        let w = model.weights, c = model.config
        func matrix(_ m: MatrixWeight, layer: Int, role: WeightRole) -> Matrix {
            Matrix(name: m.name, layer: layer, role: role, type: m.type, rows: m.rows, columns: m.columns,
                   rowBytes: m.rowBytes, fileOffset: m.fileOffset)
        }
        var ms: [Matrix] = []
        for (i, l) in w.layers.enumerated() {
            for (role, m) in zip(l.program.matrices, l.matrices) { ms.append(matrix(m, layer: i, role: role)) }
        }
        ms.append(matrix(w.output, layer: -1, role: .output))
        var bytesByType: [TensorType: Int] = [:]
        for m in ms { bytesByType[m.type, default: 0] += m.byteCount }
        let main = bytesByType.max { $0.value < $1.value || ($0.value == $1.value && $0.key.rawValue > $1.key.rawValue) }?.key ?? .f32
        let name = model.path.split(separator: "/").last.map(String.init) ?? model.path
        self.init(name: name, architecture: c.architecture, mainType: main, blockCount: c.blockCount,
                  embeddingLength: c.embeddingLength, feedForwardLength: c.feedForwardLength, headCount: c.headCount,
                  headCountKV: c.headCountKV, headDim: c.headDim, vocabularySize: c.vocabularySize,
                  trainedContextLength: c.contextLength, parameterCount: model.file.parameterCount, matrices: ms,
                  embedding: matrix(w.tokenEmbedding, layer: -1, role: .tokenEmbedding), tiedEmbedding: w.tiedOutput,
                  fileBytes: model.file.fileSize)
        slidingWindow = c.slidingWindow
        let windowed = w.layers.filter { $0.program.attention.window != nil }.count
        slidingWindowLayers = windowed > 0 ? windowed : nil
    }
}
