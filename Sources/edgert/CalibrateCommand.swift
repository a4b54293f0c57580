import ArgumentParser
import EdgeRuntime
import Foundation

struct CalibrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure how a model's feed-forward neurons fire, for --sparsity.",
        discussion: """
            Runs the dense model over a calibration text (a built-in one unless --text is given) and \
            writes the neuron statistics beside the model (<model>.neurons.gguf) or to --out: per layer \
            the distribution of |SiLU(gate)| (the threshold for any sparsity level follows from it), per \
            neuron how often it fires and how strongly, and the hot-to-cold order. The file is bound to \
            its model by size and fingerprint.
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Calibration text file (default: the built-in text, about 2,400 tokens).")
    var text: String?

    @Option(name: .long, help: "Most calibration tokens to use.")
    var tokens = 2048

    @Option(name: .long, help: "Where to write the statistics (default: the model's path + .neurons.gguf).")
    var out: String?

    func validate() throws {
        guard modelOptions.file.sparsity == .off else { throw ValidationError("calibrate measures the dense model: drop --sparsity") }
        guard modelOptions.file.gpuLayers == 0, modelOptions.file.gpuSplit == nil else {
            throw ValidationError("calibrate observes every feed-forward on the CPU: drop --gpu-layers and --gpu-split")
        }
        try checkBound(tokens, 16...1_048_576, "--tokens")
    }

    func run() async throws {
        try await reportingErrors {
            let source: String
            let body: String
            if let text {
                do { body = try String(contentsOfFile: text, encoding: .utf8) } catch {
                    throw ValidationError("cannot read text file \(text): \(error.localizedDescription)")
                }
                source = URL(fileURLWithPath: text).lastPathComponent
            } else {
                body = CalibrationText.builtIn
                source = "built-in"
            }
            let path = try modelOptions.resolvedModelPath()
            let destination = out ?? NeuronStatistics.defaultPath(forModel: path)
            let engine = try Engine(modelPath: path, options: modelOptions.engineOptions(contextOverride: modelOptions.ctx ?? 512))
            let t0 = Date()
            let stats = try await Calibration.run(engine: engine, text: body, source: source, tokens: tokens,
                                                 host: HostProfileLookup.ownName()) { pass, done, total in
                printError(pass < 3 ? "pass \(pass)/3: \(done)/\(total) tokens" : "pass 3/3: quality curve, \(done)/\(total) runs (then speed)")
            }
            try stats.write(to: destination)
            let seconds = Date().timeIntervalSince(t0)
            print("calibrated on \(stats.tokens) tokens (\(source)) in \(String(format: "%.1f", seconds)) s")
            for (level, name) in [(0.3, "30%"), (0.4, "40%"), (0.5, "50%"), (0.7, "70%")] {
                let taus = stats.layers.map { $0.threshold(sparsity: level) }
                print("threshold at \(name): layers \(String(format: "%.4g", taus.min() ?? 0))...\(String(format: "%.4g", taus.max() ?? 0))")
            }
            if stats.curve.isEmpty {
                print("no quality curve or speed: the sparse path runs on mapped weights (no memory budget, one CPU node, 8-bit activations); auto stays dense")
            } else {
                print(String(format: "generation, dense: %.1f tokens/s (tg32 on %@)", stats.denseTokensPerSecond, stats.speedHost))
            }
            for (p, tps) in zip(stats.curve, stats.sparseTokensPerSecond) {
                let speed = tps.map { String(format: ", %.1f tokens/s (%.2fx dense)", $0, $0 / max(stats.denseTokensPerSecond, 1e-9)) } ?? ""
                print(String(format: "sparsity %2.0f%%: perplexity on the calibration text %+.2f%% against dense%@", p.level * 100, p.perplexityIncrease * 100, speed))
            }
            print(stats.autoLevel > 0
                ? String(format: "auto: %.0f%% (the highest level within %.1f%% perplexity and %.2fx dense speed)", stats.autoLevel * 100,
                         NeuronStatistics.autoBound * 100, NeuronStatistics.autoSpeedup)
                : String(format: "auto: dense (no level stayed within %.1f%% perplexity and ran %.2fx dense speed on this host)",
                         NeuronStatistics.autoBound * 100, NeuronStatistics.autoSpeedup))
            let hot = stats.layers.map { l in l.fireRate.filter { $0 >= 0.9 }.count }
            print("neurons firing on >= 90% of tokens at 50% sparsity, per layer: \(hot.map(String.init).joined(separator: " "))")
            print("wrote \(destination)")
        }
    }
}
