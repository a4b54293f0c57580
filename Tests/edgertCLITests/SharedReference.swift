import Foundation
import XCTest

/// `../shared`: small models and llama.cpp reference data, found by walking up from this file.
enum Shared {
    static let root: URL? = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("shared")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("reference/README.md").path) {
                return candidate
            }
            dir.deleteLastPathComponent()
        }
        return nil
    }()

    static func requireRoot() throws -> URL {
        guard let root else {
            throw XCTSkip("../shared (models and llama.cpp reference data) is absent: skipping this CLI check")
        }
        return root
    }

    /// Path of a model file in `../shared/models`.
    static func model(_ name: String) throws -> String {
        let path = try requireRoot().appendingPathComponent("models/\(name)").path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("model \(name) is not in ../shared/models: skipping this CLI check")
        }
        return path
    }

    /// Path of a file in `../shared/reference`.
    static func reference(_ relative: String) throws -> String {
        try requireRoot().appendingPathComponent("reference/\(relative)").path
    }

    /// A reference JSON file, decoded as `T`.
    static func json<T: Decodable>(_ relative: String, as: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: reference(relative))))
    }
}

/// `reference/tokenize/<vocabulary>.json`: strings tokenized four ways by llama.cpp.
struct TokenizeVectors: Decodable {
    struct Case: Decodable {
        let name: String
        let text: String
        let results: [Result]
    }
    struct Result: Decodable {
        let add_special: Bool
        let parse_special: Bool
        let ids: [Int]
    }
    let cases: [Case]

    /// The ids llama.cpp gave for `text` with the given flags.
    func ids(for text: String, addSpecial: Bool, parseSpecial: Bool) throws -> [Int] {
        guard let c = cases.first(where: { $0.text == text }),
              let r = c.results.first(where: { $0.add_special == addSpecial && $0.parse_special == parseSpecial }) else {
            throw HarnessError(description: "no tokenizer vector for \(text.debugDescription) (add_special \(addSpecial), parse_special \(parseSpecial))")
        }
        return r.ids
    }
}

/// One entry of `reference/greedy/<model>.json`: a prompt and llama.cpp's greedy steps.
struct GreedyTrace: Decodable {
    struct Step: Decodable {
        let id: Int
        /// The piece's exact bytes in hex (`piece` itself is null where they are not UTF-8).
        let piece_hex: String
    }
    let prompt: String
    let prompt_format: String
    let prompt_ids: [Int]
    let steps: [Step]

    /// The bytes the first `count` steps' pieces make, back to back.
    func generatedBytes(steps count: Int) -> Data {
        var bytes: [UInt8] = []
        for step in steps.prefix(count) {
            var hex = Substring(step.piece_hex)
            while hex.count >= 2 {
                bytes.append(UInt8(hex.prefix(2), radix: 16)!)
                hex = hex.dropFirst(2)
            }
        }
        return Data(bytes)
    }
}

/// `reference/perplexity.json`: llama-perplexity's results per model file.
struct PerplexityReference: Decodable {
    struct Model: Decodable {
        let model: String
        let n_chunks: Int
        let final_ppl: Double
    }
    let models: [Model]
}
