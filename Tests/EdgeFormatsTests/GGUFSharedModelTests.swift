import EdgeCore
import EdgeFormats
import Foundation
import XCTest

/// The real files in ../shared/models (counts from its README.md), and an independent oracle:
/// the PyPI `gguf` package's GGUFReader.
final class GGUFSharedModelTests: XCTestCase {
    private func typeCounts(_ f: GGUFFile) -> [TensorType: Int] {
        f.tensors.reduce(into: [:]) { $0[$1.type, default: 0] += 1 }
    }

    func testSmolLM2Q8_0() throws {
        let f = try GGUFFile(path: try sharedModel("SmolLM2-135M-Instruct.Q8_0.gguf"))
        XCTAssertEqual(f.fileSize, 144_811_072)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.tensors.count, 272)
        XCTAssertEqual(typeCounts(f), [.q8_0: 211, .f32: 61])
        XCTAssertEqual(try f.string("general.architecture"), "llama")
        XCTAssertEqual(try f.int("llama.block_count"), 30)
        XCTAssertEqual(try f.int("llama.embedding_length"), 576)
        XCTAssertEqual(try f.int("llama.feed_forward_length"), 1536)
        XCTAssertEqual(try f.int("llama.attention.head_count"), 9)
        XCTAssertEqual(try f.int("llama.attention.head_count_kv"), 3)
        XCTAssertEqual(try f.int("llama.context_length"), 8192)
        XCTAssertEqual(try f.optionalFloat("llama.rope.freq_base"), 100_000)
        XCTAssertEqual(try f.optionalFloat("llama.attention.layer_norm_rms_epsilon") ?? 0, 1e-5, accuracy: 1e-12)
        XCTAssertEqual(try f.string("tokenizer.ggml.model"), "gpt2")
        XCTAssertEqual(try f.string("tokenizer.ggml.pre"), "smollm")
        XCTAssertEqual(try f.optionalStringArray("tokenizer.ggml.tokens")?.count, 49152)
        XCTAssertEqual(try f.optionalStringArray("tokenizer.ggml.merges")?.count, 48900)
        XCTAssertEqual(try f.optionalStringArray("tokenizer.ggml.tokens")?[1], "<|im_start|>")
        XCTAssertEqual(try f.int("tokenizer.ggml.bos_token_id"), 1)
        XCTAssertEqual(try f.int("tokenizer.ggml.eos_token_id"), 2)
        XCTAssertEqual(try f.optionalBool("tokenizer.ggml.add_bos_token"), false)
        XCTAssertNil(f.tensor(named: "output.weight"))  // tied to token_embd
        XCTAssertEqual(f.tensor(named: "token_embd.weight")?.dims, [576, 49152])
        XCTAssertEqual(f.tensors.reduce(0) { $0 + $1.elementCount }, 134_515_008)
        assertConsistent(f, "SmolLM2 Q8_0")
    }

    func testSmolLM2Q4_K_M() throws {
        let f = try GGUFFile(path: try sharedModel("SmolLM2-135M-Instruct.Q4_K_M.gguf"))
        XCTAssertEqual(f.tensors.count, 272)
        XCTAssertEqual(typeCounts(f), [.q5_0: 166, .q8_0: 15, .q4_K: 16, .q6_K: 14, .f32: 61])
        XCTAssertEqual(f.tensor(named: "blk.0.ffn_down.weight")?.dims, [1536, 576])
        assertConsistent(f, "SmolLM2 Q4_K_M")
    }

    func testAidreams() throws {
        let expected: [(String, [TensorType: Int], Int)] = [
            ("aidreams260K.F32.gguf", [.f32: 39], 1_068_640),
            ("aidreams260K.Q8_0.gguf", [.q8_0: 26, .f16: 4, .f32: 9], 337_056),
            ("aidreams260K.Q4_0.gguf", [.q4_0: 25, .q8_0: 1, .f16: 4, .f32: 9], 243_872),
        ]
        for (name, types, size) in expected {
            let f = try GGUFFile(path: try sharedModel(name))
            XCTAssertEqual(f.fileSize, size, name)
            XCTAssertEqual(f.tensors.count, 39, name)
            XCTAssertEqual(typeCounts(f), types, name)
            XCTAssertEqual(try f.int("llama.block_count"), 4, name)
            XCTAssertEqual(try f.int("llama.embedding_length"), 64, name)
            XCTAssertEqual(try f.int("llama.context_length"), 128, name)
            XCTAssertEqual(try f.string("tokenizer.ggml.model"), "llama", name)
            XCTAssertEqual(try f.optionalStringArray("tokenizer.ggml.tokens")?.count, 512, name)
            XCTAssertEqual(try f.optionalStringArray("tokenizer.ggml.tokens")?[3], "<0x00>", name)
            XCTAssertEqual(try f.optionalFloatArray("tokenizer.ggml.scores")?.count, 512, name)
            XCTAssertNil(f.value("tokenizer.ggml.pre"), name)
            XCTAssertEqual(f.tensors.reduce(0) { $0 + $1.elementCount }, 263_744, name)
            assertConsistent(f, name)
        }
        // In the F32 file output.weight is bit-identical to token_embd.weight (README).
        let f = try GGUFFile(path: try sharedModel("aidreams260K.F32.gguf"))
        let embd = try XCTUnwrap(f.tensor(named: "token_embd.weight"))
        let out = try XCTUnwrap(f.tensor(named: "output.weight"))
        XCTAssertTrue(f.data(of: embd).elementsEqual(f.data(of: out)))
    }

    /// Re-writing a real file's metadata and tensors with GGUFWriter gives a file that reads the same.
    func testRewriteAidreamsThroughTheWriter() throws {
        let f = try GGUFFile(path: try sharedModel("aidreams260K.Q4_0.gguf"))
        var w = try GGUFWriter(version: f.version, alignment: f.alignment)
        for key in f.metadataKeys { try w.addMetadata(key, try XCTUnwrap(f.value(key))) }
        for t in f.tensors { try w.addTensor(name: t.name, type: t.type, dims: t.dims, data: Array(f.data(of: t))) }
        let g = try parse(try w.bytes())
        XCTAssertEqual(g.metadataKeys, f.metadataKeys)
        XCTAssertEqual(g.metadata, f.metadata)
        XCTAssertEqual(g.tensors.map(\.name), f.tensors.map(\.name))
        XCTAssertEqual(g.tensors.map(\.dims), f.tensors.map(\.dims))
        // The original was written by llama.cpp with the same layout rules.
        XCTAssertEqual(g.dataOffset, f.dataOffset)
        XCTAssertEqual(g.tensors.map(\.fileOffset), f.tensors.map(\.fileOffset))
        for (a, b) in zip(f.tensors, g.tensors) { XCTAssertTrue(f.data(of: a).elementsEqual(g.data(of: b)), a.name) }
    }

    // MARK: oracle

    /// Lists, per file: data offset and alignment; each key with its type tags, element count and
    /// integer value; each tensor with type, dims, absolute offset and size. Exit 3: no gguf.
    private static let oracleScript = """
    import sys
    try:
        import gguf
    except ImportError:
        sys.exit(3)
    V = gguf.GGUFValueType
    INT = {V.UINT8, V.INT8, V.UINT16, V.INT16, V.UINT32, V.INT32, V.UINT64, V.INT64}
    for path in sys.argv[1:]:
        r = gguf.GGUFReader(path)
        print("F", path, r.data_offset, r.alignment, sep="\\t")
        for k, f in r.fields.items():
            if k.startswith("GGUF."):
                continue
            val = str(int(f.parts[f.data[0]][0])) if len(f.types) == 1 and f.types[0] in INT else ""
            n = len(f.data) if f.types[0] == V.ARRAY else 1
            print("K", k, ",".join(str(int(t)) for t in f.types), n, val, sep="\\t")
        for t in r.tensors:
            dims = ",".join(str(int(d)) for d in t.shape)
            print("T", t.name, int(t.tensor_type), dims, int(t.data_offset), int(t.n_bytes), sep="\\t")
    """

    /// The same listing from our reader, with gguf-py's conventions: an array's type tags are its
    /// own followed by its first element's (so an empty array has one tag), and its count is the
    /// number of scalars in it, nested arrays flattened.
    private func ourListing(_ f: GGUFFile) -> [String] {
        func shape(_ v: GGUFValue) -> (tags: [UInt32], count: Int) {
            switch v {
            case let .stringArray(a): return ([9] + (a.isEmpty ? [] : [8]), a.count)
            case let .int32Array(a): return ([9] + (a.isEmpty ? [] : [5]), a.count)
            case let .float32Array(a): return ([9] + (a.isEmpty ? [] : [6]), a.count)
            case let .array(_, items): return ([9] + (items.first.map { shape($0).tags } ?? []), items.reduce(0) { $0 + shape($1).count })
            default: return ([v.valueType.rawValue], 1)
            }
        }
        func integer(_ v: GGUFValue) -> String {
            switch v {
            case let .uint8(x): String(x)
            case let .int8(x): String(x)
            case let .uint16(x): String(x)
            case let .int16(x): String(x)
            case let .uint32(x): String(x)
            case let .int32(x): String(x)
            case let .uint64(x): String(x)
            case let .int64(x): String(x)
            default: ""
            }
        }
        var lines = ["F\t\(f.path)\t\(f.dataOffset)\t\(f.alignment)"]
        for key in f.metadataKeys {
            let v = f.metadata[key]!
            let (tags, count) = shape(v)
            lines.append("K\t\(key)\t\(tags.map(String.init).joined(separator: ","))\t\(count)\t\(integer(v))")
        }
        for t in f.tensors {
            let dims = t.dims.map(String.init).joined(separator: ",")
            lines.append("T\t\(t.name)\t\(t.type.rawValue)\t\(dims)\t\(t.fileOffset)\t\(t.byteCount)")
        }
        return lines
    }

    func testAgainstPythonGGUFReader() throws {
        let names = ["aidreams260K.F32.gguf", "aidreams260K.Q8_0.gguf", "aidreams260K.Q4_0.gguf",
                     "SmolLM2-135M-Instruct.Q4_K_M.gguf"]
        let paths = try names.map { try sharedModel($0) }
        let dir = try temporaryDirectory(self)
        let written = dir.appendingPathComponent("written.gguf").path
        try sampleWriter(version: 2, alignment: 64).write(toFile: written)

        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", Self.oracleScript] + paths + [written]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch { throw XCTSkip("python3 could not be started (\(error)); oracle comparison skipped") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus == 3 || p.terminationStatus == 127 {
            throw XCTSkip("python3 or its 'gguf' package is missing (pip install gguf); oracle comparison skipped")
        }
        XCTAssertEqual(p.terminationStatus, 0, "the oracle script failed")
        let theirs = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)

        var ours: [String] = []
        for path in paths + [written] { ours += ourListing(try GGUFFile(path: path)) }
        XCTAssertEqual(ours.count, theirs.count)
        XCTAssertGreaterThan(theirs.filter { $0.hasPrefix("T\t") }.count, 3 * 39 + 272)
        for (a, b) in zip(ours, theirs) where a != b {
            XCTFail("ours:   \(a)\ntheirs: \(b)")
        }
    }
}
