import EdgeCore

/// `general.file_type`: the quantization mix a converter or quantizer says it wrote (llama.cpp's
/// `llama_ftype`). Informational only: the tensors' own types are what the kernels use.
public struct GGUFFileType: Sendable, Equatable, CustomStringConvertible {
    public let rawValue: Int

    public init(rawValue: Int) { self.rawValue = rawValue }

    /// The file's declared type, or nil when the key is absent (e.g. llama2.c conversions).
    /// Throws ``FormatError/keyType(key:expected:found:)`` when the key holds no integer.
    public init?(file: GGUFFile) throws(FormatError) {
        guard let v = try file.optionalInt("general.file_type") else { return nil }
        rawValue = v
    }

    /// The name llama.cpp's tools print ("Q4_K - Medium"); numbers from llama.h's `llama_ftype`
    /// (the same as gguf-py's `LlamaFileType`). Unknown values print as "file type N".
    public var description: String {
        switch rawValue {
        case 0: "all F32"
        case 1: "F16"
        case 2: "Q4_0"
        case 3: "Q4_1"
        case 7: "Q8_0"
        case 8: "Q5_0"
        case 9: "Q5_1"
        case 10: "Q2_K - Medium"
        case 11: "Q3_K - Small"
        case 12: "Q3_K - Medium"
        case 13: "Q3_K - Large"
        case 14: "Q4_K - Small"
        case 15: "Q4_K - Medium"
        case 16: "Q5_K - Small"
        case 17: "Q5_K - Medium"
        case 18: "Q6_K"
        case 19: "IQ2_XXS"
        case 20: "IQ2_XS"
        case 21: "Q2_K - Small"
        case 22: "IQ3_XS"
        case 23: "IQ3_XXS"
        case 24: "IQ1_S"
        case 25: "IQ4_NL"
        case 26: "IQ3_S"
        case 27: "IQ3_M"
        case 28: "IQ2_S"
        case 29: "IQ2_M"
        case 30: "IQ4_XS"
        case 31: "IQ1_M"
        case 32: "BF16"
        case 36: "TQ1_0"
        case 37: "TQ2_0"
        case 38: "MXFP4 MoE"
        default: "file type \(rawValue)"
        }
    }
}

extension GGUFFile {
    /// The quantization mix in words: `general.file_type` when present, else the type most of the
    /// matrices (tensors of two or more dimensions) are stored in, as llama.cpp guesses it.
    public func quantizationDescription() throws(FormatError) -> String {
        if let t = try GGUFFileType(file: self) { return t.description }
        var counts: [TensorType: Int] = [:]
        for t in tensors where t.dims.count >= 2 { counts[t.type, default: 0] += 1 }
        guard let most = counts.max(by: { ($0.value, $1.key.rawValue) < ($1.value, $0.key.rawValue) }) else { return "unknown" }
        return most.key == .f32 ? "all F32" : "\(most.key) (guessed)"
    }

    /// Values in all tensors: the parameter count llama-bench reports as `model_n_params`.
    public var parameterCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }
}
