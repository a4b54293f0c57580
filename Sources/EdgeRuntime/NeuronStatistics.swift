import Foundation
import EdgeCore
import EdgeFormats

/// Why a neuron-statistics file could not be used.
public enum NeuronStatisticsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No statistics file where one was looked for (`edgert calibrate` writes it).
    case missing(path: String)
    /// The file is not a neuron-statistics GGUF of a schema this build reads.
    case notStatistics(path: String, reason: String)
    /// The statistics were measured on another model file (size or fingerprint differ).
    case modelMismatch(path: String, expected: String, found: String)
    /// A tensor is absent or has the wrong shape for this model.
    case badTensor(path: String, name: String, reason: String)

    public var description: String {
        switch self {
        case let .missing(p): "no neuron statistics at \(p): run `edgert calibrate --model <model>` first (or give --neuron-stats)"
        case let .notStatistics(p, r): "\(p) is not a neuron-statistics file edgert reads: \(r)"
        case let .modelMismatch(p, e, f): "neuron statistics \(p) were measured on another model file (model: \(e); statistics: \(f)): run `edgert calibrate` again"
        case let .badTensor(p, n, r): "neuron statistics \(p): tensor '\(n)' \(r)"
        }
    }
}

/// What a model file is, for binding a sidecar to it: its size and a 64-bit FNV-1a hash of its
/// first and last MiB and of 16 evenly spaced 64 KiB pieces (the header, tensor index and samples
/// of every region of the weights), as 16 hex digits. Reads about 3 MiB whatever the file's size.
public struct ModelFingerprint: Sendable, Equatable, CustomStringConvertible {
    public let bytes: Int
    public let hash: String

    public var description: String { "\(bytes) bytes, fingerprint \(hash)" }

    public init(bytes: Int, hash: String) {
        self.bytes = bytes
        self.hash = hash
    }

    public init(of file: GGUFFile) {
        let all = file.mappedBytes
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ range: Range<Int>) {
            let r = range.clamped(to: 0..<all.count)
            for b in all[r] { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        let n = all.count
        mix(0..<(1 << 20))
        for k in 1...16 { let at = n / 17 * k; mix(at..<(at + (64 << 10))) }
        mix((n - (1 << 20))..<n)
        bytes = n
        hash = String(h, radix: 16).leftPadded(to: 16)
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}

/// How a model's feed-forward neurons fire, measured by ``Calibration`` over a text: per layer,
/// the distribution of the selection score |SiLU(gate)| (from which the threshold for any sparsity
/// level follows), and per neuron how often it is selected at 50% sparsity, its mean score, and the
/// hot-to-cold order. Stored as a GGUF sidecar bound to its model by size and fingerprint.
public struct NeuronStatistics: Sendable, Equatable {
    public static let schemaVersion: UInt32 = 1
    /// Quantiles of the score stored per layer: 0%, 0.5%, ..., 100%.
    public static let quantileSteps = 200

    public struct Layer: Sendable, Equatable {
        /// Score at quantile k / quantileSteps, k = 0...quantileSteps (non-decreasing).
        public var quantiles: [Float]
        /// Fraction of calibration tokens on which the neuron's score was at least the layer's
        /// 50% threshold.
        public var fireRate: [Float]
        /// Mean |SiLU(gate)| over the calibration tokens.
        public var meanScore: [Float]
        /// Neurons from most to least often selected (ties: higher mean score first).
        public var hotOrder: [Int32]

        public init(quantiles: [Float], fireRate: [Float], meanScore: [Float], hotOrder: [Int32]) {
            self.quantiles = quantiles
            self.fireRate = fireRate
            self.meanScore = meanScore
            self.hotOrder = hotOrder
        }

        /// The score below which a fraction `sparsity` of calibration activations fall (linear
        /// between the stored quantiles). 0 selects every neuron.
        public func threshold(sparsity: Double) -> Float { Self.threshold(quantiles: quantiles, sparsity: sparsity) }

        /// The same from a layer's quantiles alone.
        static func threshold(quantiles: [Float], sparsity: Double) -> Float {
            guard sparsity > 0 else { return 0 }
            let x = min(1, sparsity) * Double(NeuronStatistics.quantileSteps)
            let i = min(Int(x), NeuronStatistics.quantileSteps - 1)
            let f = Float(x - Double(i))
            return quantiles[i] + (quantiles[i + 1] - quantiles[i]) * f
        }
    }

    public var model: ModelFingerprint
    /// Tokens the statistics were measured on, and where the text came from.
    public var tokens: Int
    public var source: String
    public var layers: [Layer]
    /// Perplexity on the calibration text at each sparsity level tried, relative to dense (0.01 =
    /// 1% higher), in level order.
    public var curve: [(level: Double, perplexityIncrease: Double)]
    /// Generation speed measured at calibration (tokens/s, `tg32` on `speedHost`): dense, and at
    /// each level of ``curve`` within ``autoBound`` (nil where not measured).
    public var denseTokensPerSecond: Double
    public var sparseTokensPerSecond: [Double?]
    public var speedHost: String
    /// The level `--sparsity auto` runs at: the highest of ``curve`` whose perplexity increase is
    /// at most ``autoBound`` and whose generation was at least ``autoSpeedup`` times dense on the
    /// calibrating host (0 when none: auto runs dense).
    public var autoLevel: Double

    /// The speed-up `auto` asks of a level before it runs it instead of dense.
    public static let autoSpeedup = 1.05

    /// The largest perplexity increase on the calibration text `auto` accepts: half the 3% the
    /// sparse path promises on held-out text, leaving room for text unlike the calibration text.
    public static let autoBound = 0.015

    public init(model: ModelFingerprint, tokens: Int, source: String, layers: [Layer],
                curve: [(level: Double, perplexityIncrease: Double)] = [], autoLevel: Double = 0,
                denseTokensPerSecond: Double = 0, sparseTokensPerSecond: [Double?] = [], speedHost: String = "") {
        self.denseTokensPerSecond = denseTokensPerSecond
        self.sparseTokensPerSecond = sparseTokensPerSecond
        self.speedHost = speedHost
        self.model = model
        self.tokens = tokens
        self.source = source
        self.layers = layers
        self.curve = curve
        self.autoLevel = autoLevel
    }

    /// Equal as stored: the curve and the auto level in single precision.
    public static func == (a: NeuronStatistics, b: NeuronStatistics) -> Bool {
        func f(_ c: [(level: Double, perplexityIncrease: Double)]) -> [Float] { c.flatMap { [Float($0.level), Float($0.perplexityIncrease)] } }
        return a.model == b.model && a.tokens == b.tokens && a.source == b.source && a.layers == b.layers
            && Float(a.autoLevel) == Float(b.autoLevel) && f(a.curve) == f(b.curve) && a.speedHost == b.speedHost
            && Float(a.denseTokensPerSecond) == Float(b.denseTokensPerSecond)
            && a.sparseTokensPerSecond.map { $0.map(Float.init) } == b.sparseTokensPerSecond.map { $0.map(Float.init) }
    }

    /// Where `edgert calibrate` writes the statistics of `modelPath` by default.
    public static func defaultPath(forModel modelPath: String) -> String { modelPath + ".neurons.gguf" }

    private enum Key {
        static let schema = "edgert.neurons.schema_version"
        static let modelBytes = "edgert.neurons.model_bytes"
        static let fingerprint = "edgert.neurons.model_fingerprint"
        static let tokens = "edgert.neurons.tokens"
        static let source = "edgert.neurons.source"
        static let layers = "edgert.neurons.layer_count"
        static let width = "edgert.neurons.feed_forward_length"
        static let curveLevels = "edgert.neurons.curve.levels"
        static let curveIncrease = "edgert.neurons.curve.perplexity_increase"
        static let autoLevel = "edgert.neurons.auto_level"
        static let denseSpeed = "edgert.neurons.speed.dense_tokens_per_second"
        static let sparseSpeed = "edgert.neurons.speed.sparse_tokens_per_second"
        static let speedHost = "edgert.neurons.speed.host"
    }

    private static func tensorName(_ layer: Int, _ what: String) -> String { "blk.\(layer).ffn_\(what)" }

    public func write(to path: String) throws {
        var w = try GGUFWriter()
        try w.addMetadata("general.type", .string("edgert.neuron-statistics"))
        try w.addMetadata(Key.schema, .uint32(Self.schemaVersion))
        try w.addMetadata(Key.modelBytes, .uint64(UInt64(model.bytes)))
        try w.addMetadata(Key.fingerprint, .string(model.hash))
        try w.addMetadata(Key.tokens, .uint32(UInt32(tokens)))
        try w.addMetadata(Key.source, .string(source))
        try w.addMetadata(Key.layers, .uint32(UInt32(layers.count)))
        try w.addMetadata(Key.width, .uint32(UInt32(layers.first?.fireRate.count ?? 0)))
        try w.addMetadata(Key.curveLevels, .float32Array(curve.map { Float($0.level) }))
        try w.addMetadata(Key.curveIncrease, .float32Array(curve.map { Float($0.perplexityIncrease) }))
        try w.addMetadata(Key.autoLevel, .float32(Float(autoLevel)))
        try w.addMetadata(Key.denseSpeed, .float32(Float(denseTokensPerSecond)))
        // Levels not measured: -1.
        try w.addMetadata(Key.sparseSpeed, .float32Array(sparseTokensPerSecond.map { Float($0 ?? -1) }))
        try w.addMetadata(Key.speedHost, .string(speedHost))
        func raw<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
        for (l, layer) in layers.enumerated() {
            try w.addTensor(name: Self.tensorName(l, "score_quantiles"), type: .f32, dims: [layer.quantiles.count], data: raw(layer.quantiles))
            try w.addTensor(name: Self.tensorName(l, "fire_rate"), type: .f32, dims: [layer.fireRate.count], data: raw(layer.fireRate))
            try w.addTensor(name: Self.tensorName(l, "mean_score"), type: .f32, dims: [layer.meanScore.count], data: raw(layer.meanScore))
            try w.addTensor(name: Self.tensorName(l, "hot_order"), type: .i32, dims: [layer.hotOrder.count], data: raw(layer.hotOrder))
        }
        try w.write(toFile: path)
    }

    /// Reads statistics and checks them against `model` (its layer count and feed-forward width,
    /// and the fingerprint of its file when given).
    public static func read(from path: String, layers: Int, feedForward: Int, model: ModelFingerprint?) throws -> NeuronStatistics {
        guard FileManager.default.fileExists(atPath: path) else { throw NeuronStatisticsError.missing(path: path) }
        let f: GGUFFile
        do { f = try GGUFFile(path: path) } catch { throw NeuronStatisticsError.notStatistics(path: path, reason: "\(error)") }
        func int(_ key: String) throws -> Int {
            guard let v = f.value(key)?.intValue else { throw NeuronStatisticsError.notStatistics(path: path, reason: "no '\(key)'") }
            return v
        }
        guard case .string("edgert.neuron-statistics")? = f.value("general.type") else {
            throw NeuronStatisticsError.notStatistics(path: path, reason: "general.type is not edgert.neuron-statistics")
        }
        let version = try int(Key.schema)
        guard version == Int(schemaVersion) else {
            throw NeuronStatisticsError.notStatistics(path: path, reason: "schema version \(version); this build reads \(schemaVersion)")
        }
        guard case let .string(hash)? = f.value(Key.fingerprint), case let .string(source)? = f.value(Key.source) else {
            throw NeuronStatisticsError.notStatistics(path: path, reason: "no model fingerprint or source")
        }
        let measured = ModelFingerprint(bytes: try int(Key.modelBytes), hash: hash)
        if let model, model != measured {
            throw NeuronStatisticsError.modelMismatch(path: path, expected: model.description, found: measured.description)
        }
        let count = try int(Key.layers), width = try int(Key.width)
        guard count == layers, width == feedForward else {
            throw NeuronStatisticsError.notStatistics(path: path, reason: "\(count) layers of \(width) neurons; the model has \(layers) of \(feedForward)")
        }
        func floats(_ name: String, _ n: Int) throws -> [Float] {
            guard let t = f.tensor(named: name) else { throw NeuronStatisticsError.badTensor(path: path, name: name, reason: "is missing") }
            guard t.type == .f32, t.elementCount == n else {
                throw NeuronStatisticsError.badTensor(path: path, name: name, reason: "is \(t.type) \(t.dims), expected f32 [\(n)]")
            }
            let d = f.data(of: t)
            return (0..<n).map { d.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        }
        var out: [Layer] = []
        for l in 0..<count {
            let q = try floats(tensorName(l, "score_quantiles"), quantileSteps + 1)
            guard zip(q, q.dropFirst()).allSatisfy({ $0 <= $1 }), q.allSatisfy(\.isFinite) else {
                throw NeuronStatisticsError.badTensor(path: path, name: tensorName(l, "score_quantiles"), reason: "is not a non-decreasing list of finite numbers")
            }
            let name = tensorName(l, "hot_order")
            guard let t = f.tensor(named: name), t.type == .i32, t.elementCount == width else {
                throw NeuronStatisticsError.badTensor(path: path, name: name, reason: "is missing or not i32 [\(width)]")
            }
            let d = f.data(of: t)
            let order = (0..<width).map { d.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self) }
            guard Set(order).count == width, order.allSatisfy({ (0..<Int32(width)).contains($0) }) else {
                throw NeuronStatisticsError.badTensor(path: path, name: name, reason: "is not a permutation of 0..<\(width)")
            }
            out.append(Layer(quantiles: q, fireRate: try floats(tensorName(l, "fire_rate"), width),
                             meanScore: try floats(tensorName(l, "mean_score"), width), hotOrder: order))
        }
        let levels = (try? f.optionalFloatArray(Key.curveLevels)) ?? nil
        let increases = (try? f.optionalFloatArray(Key.curveIncrease)) ?? nil
        guard let levels, let increases, levels.count == increases.count,
              case let .float32(auto)? = f.value(Key.autoLevel), SparsityLevel.range.contains(Double(auto)) else {
            throw NeuronStatisticsError.notStatistics(path: path, reason: "no quality curve or auto level")
        }
        guard case let .float32(dense)? = f.value(Key.denseSpeed), case let .string(host)? = f.value(Key.speedHost),
              let speeds = (try? f.optionalFloatArray(Key.sparseSpeed)) ?? nil, speeds.count == levels.count else {
            throw NeuronStatisticsError.notStatistics(path: path, reason: "no speed figures")
        }
        return NeuronStatistics(model: measured, tokens: try int(Key.tokens), source: source, layers: out,
                                curve: zip(levels, increases).map { (Double($0), Double($1)) }, autoLevel: Double(auto),
                                denseTokensPerSecond: Double(dense), sparseTokensPerSecond: speeds.map { $0 < 0 ? nil : Double($0) },
                                speedHost: host)
    }
}
