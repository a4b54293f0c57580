import EdgeFormats
import EdgeTokenizer
import Foundation
import XCTest

/// The shared models and llama.cpp reference data (`../shared` from the repository root),
/// found by walking up from this file. Tests that need them skip, with the reason, when absent.
enum SharedReference {
    static let directory: URL? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("shared")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("reference/README.md").path) {
                return candidate
            }
            dir.deleteLastPathComponent()
        }
        return nil
    }()

    static func url(_ relative: String) throws -> URL {
        guard let directory else {
            throw XCTSkip("shared reference data not found: no 'shared/reference' in any folder above \(#filePath)")
        }
        let url = directory.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("shared file missing: \(url.path)")
        }
        return url
    }

    static func data(_ relative: String) throws -> Data { try Data(contentsOf: url(relative)) }

    /// Tokenizers are built once per model file and shared by the tests.
    private static let cache = TokenizerCache()

    static func tokenizer(_ modelFile: String) throws -> Tokenizer {
        let path = try url("models/\(modelFile)").path
        return try cache.tokenizer(path: path)
    }

    /// The model file whose vocabulary a reference file name stands for (the Q4_1 SmolLM2 file is
    /// not in the shared folder; its vocabulary is the Q8_0 file's, as the reference notes say).
    static func modelFile(forVocabulary name: String) -> String {
        name.hasPrefix("SmolLM2") ? "SmolLM2-135M-Instruct.Q8_0.gguf" : "aidreams260K.F32.gguf"
    }
}

/// Invariant for `@unchecked Sendable`: `tokenizers` is only touched while holding `lock`.
private final class TokenizerCache: @unchecked Sendable {
    private let lock = NSLock()
    private var tokenizers: [String: Tokenizer] = [:]

    func tokenizer(path: String) throws -> Tokenizer {
        lock.lock()
        defer { lock.unlock() }
        if let t = tokenizers[path] { return t }
        let t = try Tokenizer(gguf: GGUFFile(path: path))
        tokenizers[path] = t
        return t
    }
}

extension Array where Element == UInt8 {
    init(hex: String) {
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            bytes.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        self = bytes
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}
