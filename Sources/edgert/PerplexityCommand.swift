import ArgumentParser
import EdgeRuntime
import Foundation

struct PerplexityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Perplexity of a model on a text file, computed as llama.cpp's llama-perplexity does.",
        discussion: "Running values go to standard error as chunks finish; the final estimate is printed last.")

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .long, help: "Text file to evaluate.")
    var file: String

    func run() async throws {
        try await reportingErrors {
            let n = modelOptions.ctx ?? 512
            let text: String
            // A regular file of bounded size: a device or a FIFO (`/dev/zero`) would never end.
            let limit = 256 << 20
            if let attributes = try? FileManager.default.attributesOfItem(atPath: file) {
                guard attributes[.type] as? FileAttributeType == .typeRegular else {
                    throw ValidationError("cannot read text file \(file): not a regular file")
                }
                if let size = attributes[.size] as? Int, size > limit {
                    throw ValidationError("text file \(file) has \(size) bytes; perplexity reads at most \(limit)")
                }
            }
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read text file \(file): \(error.localizedDescription)")
            }
            let engine = try Engine(modelPath: try modelOptions.resolvedModelPath(), options: modelOptions.engineOptions(contextOverride: n))
            reportAutomaticBudget(engine)
            let r = try await Perplexity.evaluate(engine: engine, text: text, contextLength: n) { k, total, value in
                printError(String(format: "[%d/%d] %.4f", k, total, value))
            }
            print("tokens: \(r.tokenCount), chunks: \(r.chunkCount) of \(n), \(String(format: "%.2f", r.seconds)) s")
            print(String(format: "uncertainty: +/- %.5f", r.uncertainty))
            print(String(format: "Final estimate: PPL = %.4f", r.value))
            if let d = r.dense, let sparse = engine.sparse {
                print(String(format: "sparse feed-forward %.0f%%: %.1f%% of neurons computed; dense PPL = %.4f (sparse %+.2f%%), mean KL divergence %.5f nats, top-1 agreement %.2f%%",
                             sparse.level * 100, d.density * 100, d.perplexity, (r.value / d.perplexity - 1) * 100, d.meanKLDivergence, d.top1Agreement * 100))
            }
        }
    }
}
