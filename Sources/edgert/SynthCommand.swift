import ArgumentParser
import EdgeCore
import EdgeRuntime
import Foundation

struct SynthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth",
        abstract: "Write a GGUF model of a well-known layout with seeded random weights.",
        discussion: """
            The file has the metadata, tensor names, shapes and order llama.cpp would give the real \
            model, and a working byte-level BPE vocabulary, so `edgert run` loads and runs it (the \
            text is nonsense). Use it to exercise and measure streaming at sizes of gigabytes. \
            Progress goes to standard error; the size written and the time to standard output.
            """)

    @Option(name: .long, help: ArgumentHelp("Model layout: \(ModelShape.catalogueNames.joined(separator: ", ")).",
                                            valueName: "name"))
    var shape: String

    @Option(name: .long, help: ArgumentHelp(
        "Weight type of the matrices (norms stay F32): \(ModelSynthesizer.supportedTypes.map(\.description).joined(separator: ", ")).",
        valueName: "type"))
    var type: String = "Q8_0"

    @Option(name: .long, help: ArgumentHelp("Path of the GGUF file to write.", valueName: "file"))
    var out: String

    @Option(name: .long, help: "Seed of the random weights (the same seed gives the same bytes).")
    var seed: UInt64 = 42

    @Option(name: .long, help: ArgumentHelp("Keep only the first N blocks of the layout (a smaller file, same widths).",
                                            valueName: "n"))
    var layers: Int?

    @Flag(name: .long, help: "Replace the output file if it exists.")
    var force = false

    /// The requested type, matched case-insensitively against what the synthesizer can write.
    private var tensorType: TensorType? {
        ModelSynthesizer.supportedTypes.first { $0.description.caseInsensitiveCompare(type) == .orderedSame }
    }

    func validate() throws {
        do {
            let s = try ModelShape.named(shape)
            if let layers { _ = try s.withBlockCount(layers) }
        } catch {
            throw ValidationError("\(error)")
        }
        guard tensorType != nil else {
            throw ValidationError("unknown weight type '\(type)' (supported: "
                + ModelSynthesizer.supportedTypes.map(\.description).joined(separator: ", ") + ")")
        }
    }

    func run() async throws {
        try await reportingErrors {
            var s = try ModelShape.named(shape)
            if let layers { s = try s.withBlockCount(layers) }
            guard let tensorType else { throw ValidationError("unknown weight type '\(type)'") }
            if FileManager.default.fileExists(atPath: out), !force {
                throw OutputExists(path: out)
            }
            let synth = try ModelSynthesizer(shape: s, type: tensorType, seed: seed)
            let blocks = layers == nil ? "" : ", \(s.blockCount) block\(s.blockCount == 1 ? "" : "s")"
            printError("synth: \(s.name)\(blocks), \(tensorType), seed \(seed): "
                + "\(formatCount(s.parameterCount)) parameters, \(ByteCount(s.weightBytes(type: tensorType))) of weights")
            let meter = ProgressMeter()
            let t0 = monotonicSeconds()
            let layout = try synth.write(toFile: out) { meter.update($0) }
            let seconds = monotonicSeconds() - t0
            meter.finish()
            let rate = Double(layout.fileSize) / max(seconds, 1e-9) / 1e6
            print(String(format: "wrote %@: %@ (%lld bytes, %d tensors) in %.2f s, %.0f MB/s", out,
                         ByteCount(layout.fileSize).description, Int64(layout.fileSize), layout.tensors.count, seconds, rate))
        }
    }

    /// The output file is there and `--force` was not given.
    struct OutputExists: Error, CustomStringConvertible {
        let path: String
        var description: String { "\(path) already exists (pass --force to replace it)" }
    }
}

/// `1.24B`, `135M`: a parameter count as model cards write it.
private func formatCount(_ n: Int) -> String {
    let x = Double(n)
    if x >= 1e9 { return String(format: "%.2fB", x / 1e9) }
    if x >= 1e6 { return String(format: "%.0fM", x / 1e6) }
    return "\(n)"
}

/// Shows a synthesis's progress on standard error: one line redrawn in place on a terminal, a line
/// per tenth otherwise (logs and tests).
private final class ProgressMeter {
    private let start = monotonicSeconds()
    private var lastDraw = -1.0
    private var lastTenth = -1
    private let terminal = isatty(FileHandle.standardError.fileDescriptor) != 0

    func update(_ p: SynthesisProgress) {
        let now = monotonicSeconds()
        let elapsed = now - start
        let line = String(format: "%3.0f%%  %@ of %@  %.0f MB/s  %@", p.fraction * 100,
                          ByteCount(p.bytesWritten).description, ByteCount(p.totalBytes).description,
                          Double(p.bytesWritten) / max(elapsed, 1e-9) / 1e6, p.tensorName)
        if terminal {
            guard now - lastDraw >= 0.2 || p.bytesWritten == p.totalBytes else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
        } else {
            let tenth = Int(p.fraction * 10)
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            printError(line)
        }
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
