import EdgeCore
import EdgeFormats
import EdgeRuntime
import EdgeTokenizer
import Foundation
import XCTest

/// A seeded fuzz campaign over the loader past the GGUF reader: a structurally valid file whose
/// hyperparameters, token arrays or tensor shapes are hostile (zero, negative, huge, of another
/// type, NaN) must be rejected with a thrown error by `Model`, `Tokenizer` or `Engine`, or load and
/// run one small pass — never trap, crash or allocate without bound. The GGUF reader's own
/// corruption fuzzing is in EdgeFormatsTests (GGUFRobustnessTests).
final class HostileModelFuzzTests: XCTestCase {
    /// Values a hostile file puts in a numeric field, in the field's own type where it fits.
    private static let hostileInts: [Int64] = [
        0, 1, -1, 2, 3, 7, 63, 64, 65, 4096, 1 << 20, Int64(Int32.max), 1 << 31, 1 << 32, 1 << 40, Int64.max, Int64.min,
    ]
    private static let hostileFloats: [Double] = [0, -1, 1e-30, 1e30, .infinity, -.infinity, .nan, 3.4e38]

    private func hostile(like value: GGUFValue, _ rng: inout SplitMix64) -> GGUFValue {
        let i = Self.hostileInts[Int(rng.next() % UInt64(Self.hostileInts.count))]
        let f = Self.hostileFloats[Int(rng.next() % UInt64(Self.hostileFloats.count))]
        switch rng.next() % 8 {
        case 0: return .string("\(i)")
        case 1: return .int64(i)
        case 2: return .uint64(UInt64(bitPattern: i))
        case 3: return .float32(Float(f))
        case 4: return .float64(f)
        default: break
        }
        switch value {
        case .uint8: return .uint8(UInt8(truncatingIfNeeded: i))
        case .int8: return .int8(Int8(truncatingIfNeeded: i))
        case .uint16: return .uint16(UInt16(truncatingIfNeeded: i))
        case .int16: return .int16(Int16(truncatingIfNeeded: i))
        case .uint32: return .uint32(UInt32(truncatingIfNeeded: i))
        case .int32: return .int32(Int32(truncatingIfNeeded: i))
        case .uint64: return .uint64(UInt64(bitPattern: i))
        case .int64: return .int64(i)
        case .float32: return .float32(Float(f))
        case .float64: return .float64(f)
        case .bool: return .bool(rng.next() & 1 == 0)
        case .string: return .string(["", "llama", "qwen2", "gpt2", String(repeating: "x", count: 300)][Int(rng.next() % 5)])
        case let .stringArray(a):
            // Shorter, longer, emptied or with an empty token.
            switch rng.next() % 4 {
            case 0: return .stringArray(Array(a.prefix(Int(rng.next() % UInt64(max(a.count, 1))))))
            case 1: return .stringArray(a + ["extra"])
            case 2: return .stringArray([])
            default:
                var b = a
                if !b.isEmpty { b[Int(rng.next() % UInt64(b.count))] = "" }
                return .stringArray(b)
            }
        case let .int32Array(a):
            return .int32Array(a.isEmpty ? [Int32(truncatingIfNeeded: i)] : a.map { _ in Int32(truncatingIfNeeded: i) })
        case let .float32Array(a):
            return .float32Array(a.isEmpty ? [Float(f)] : a.map { _ in Float(f) })
        case .array: return .int64(i)
        }
    }

    /// The file `source` rewritten with each metadata value `mutate` returns (nil: unchanged; a
    /// key `mutate` drops is left out) and each tensor as it was.
    private func rewrite(_ source: GGUFFile, mutate: (String, GGUFValue) -> GGUFValue??) throws -> [UInt8] {
        var writer = try GGUFWriter(version: 3, alignment: source.alignment)
        for key in source.metadataKeys where key != "general.alignment" {
            guard let value = source.metadata[key] else { continue }
            switch mutate(key, value) {
            case .none: try writer.addMetadata(key, value)
            case .some(.none): continue
            case let .some(.some(changed)): try writer.addMetadata(key, changed)
            }
        }
        for t in source.tensors {
            try writer.addTensor(name: t.name, type: t.type, dims: t.dims, data: Array(source.data(of: t)))
        }
        return try writer.bytes()
    }

    /// Loads `bytes` as the CLI does and evaluates two tokens on one thread with a 16-token
    /// context. Returns the error thrown, nil when it ran.
    private func loadAndRun(_ bytes: [UInt8], name: String) async -> Error? {
        do {
            let file = try GGUFFile(mapping: MappedFile(copying: bytes, name: name))
            let model = try Model(file: file)
            let tokenizer = try Tokenizer(gguf: file)
            _ = tokenizer.encode("Hello world, 12345 ümlaut 你好", addSpecial: true, parseSpecial: true)
            var options = EngineOptions(threads: 1, contextLength: 16)
            options.batchSize = 8
            let engine = try Engine(model: model, tokenizer: tokenizer, options: options)
            let session = try engine.makeSession()
            let logits = try await session.evaluate([0, Int32(min(1, model.config.vocabularySize - 1))])
            XCTAssertEqual(logits.count, model.config.vocabularySize, name)
            return nil
        } catch {
            XCTAssertFalse("\(error)".isEmpty, name)
            return error
        }
    }

    func testHostileHyperparametersAreRejectedOrRun() async throws {
        let path = try Shared.model("aidreams260K.Q8_0.gguf")
        let source = try GGUFFile(path: path)
        let unchanged = await loadAndRun(try rewrite(source) { _, _ in nil }, name: "unchanged")
        XCTAssertNil(unchanged, "the unchanged rewrite must run")
        let keys = source.metadataKeys.filter { $0 != "general.alignment" && $0 != "general.architecture" }
        var rng = SplitMix64(seed: 0xED6E)
        var rejected = 0, ran = 0
        let started = Date()
        for round in 0..<3000 {
            // One to three fields of each file changed (or dropped).
            var chosen: [String: GGUFValue?] = [:]
            for _ in 0...(rng.next() % 3) {
                let key = keys[Int(rng.next() % UInt64(keys.count))]
                chosen[key] = rng.next() % 10 == 0 ? .some(nil) : .some(hostile(like: source.metadata[key]!, &rng))
            }
            let bytes = try rewrite(source) { key, _ in chosen[key] }
            let name = "round \(round): " + chosen.keys.sorted().map { "\($0)=\(chosen[$0]!.map { "\($0)" } ?? "dropped")" }.joined(separator: ", ")
            if await loadAndRun(bytes, name: name) == nil { ran += 1 } else { rejected += 1 }
        }
        // Both outcomes happen: the campaign reaches the engine, not only the loader's first check.
        XCTAssertGreaterThan(rejected, 500)
        XCTAssertGreaterThan(ran, 50)
        print("hostile hyperparameters: \(rejected) rejected with an error, \(ran) ran, in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }

    /// Library callers get the same bounds as the CLI: a typed error naming the parameter.
    func testEngineOptionsOutOfBoundsAreTypedErrors() throws {
        let path = try Shared.model("aidreams260K.Q8_0.gguf")
        let model = try Model(path: path)
        let tokenizer = try Tokenizer(gguf: model.file)
        func rejected(_ change: (inout EngineOptions) -> Void, _ name: String, file: StaticString = #filePath, line: UInt = #line) {
            var o = EngineOptions(threads: 1, contextLength: 16)
            change(&o)
            do {
                _ = try Engine(model: model, tokenizer: tokenizer, options: o)
                XCTFail("\(name): accepted", file: file, line: line)
            } catch let RuntimeError.badParameter(n, _) {
                XCTAssertEqual(n, name, file: file, line: line)
            } catch {
                XCTFail("\(name): \(error)", file: file, line: line)
            }
        }
        rejected({ $0.contextLength = .max }, "context length")
        rejected({ $0.batchSize = .max }, "batch size")
        rejected({ $0.threads = 0 }, "thread count")
        rejected({ $0.memoryBudget = .max }, "memory budget")
        rejected({ $0.expectedGeneratedTokens = .max }, "expected generated tokens")
        rejected({ $0.expectedPromptTokens = -1 }, "expected prompt tokens")
        rejected({ $0.threadSpeeds = [.nan] }, "thread speeds")
        rejected({ $0.diskBytesPerSecond = -1 }, "disk bandwidth")
    }

    /// `generate` with a token count that would overflow the context check.
    func testHugeTokenCountIsAnError() async throws {
        let engine = try Engine(modelPath: try Shared.model("aidreams260K.Q8_0.gguf"), options: EngineOptions(threads: 1, contextLength: 16))
        let session = try engine.makeSession()
        do {
            for try await _ in session.generate(prompt: [1], maxTokens: .max, sampling: .greedy) {}
            XCTFail("generated")
        } catch let RuntimeError.promptTooLong(prompt, requested, context) {
            XCTAssertEqual([prompt, requested, context], [1, .max, 16])
        }
    }
}
