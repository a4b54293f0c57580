import Foundation
import XCTest

/// Locates `../shared` (models and llama.cpp reference data) beside the package, if present.
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

    /// The package root (for models/ fetched by the set-up).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func requireRoot() throws -> URL {
        guard let root else { throw XCTSkip("../shared is absent: skipping the checks against llama.cpp reference data") }
        return root
    }

    /// Path of a model file: ../shared/models, or the package's models/ (the default Q4_1 model).
    static func model(_ name: String) throws -> String {
        let root = try requireRoot()
        for dir in [root.appendingPathComponent("models"), packageRoot.appendingPathComponent("models")] {
            let p = dir.appendingPathComponent(name).path
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        throw XCTSkip("model \(name) not found in ../shared/models or models/ (run scripts/setup.sh to fetch the default model)")
    }

    static func json(_ relative: String) throws -> Any {
        let url = try requireRoot().appendingPathComponent(relative)
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }

    static let greedyModels = [
        "SmolLM2-135M-Instruct.Q4_1", "SmolLM2-135M-Instruct.Q8_0", "SmolLM2-135M-Instruct.Q4_K_M",
        "aidreams260K.F32", "aidreams260K.Q8_0", "aidreams260K.Q4_0",
    ]
}
