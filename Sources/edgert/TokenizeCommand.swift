import ArgumentParser
import EdgeTokenizer
import EdgeFormats
import Foundation

struct TokenizeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text.")

    @Option(name: .long, help: "Path of a GGUF model file (default: the default model).")
    var model: String?

    @Flag(name: .long, help: "Do not add the BOS (or EOS) tokens the model asks for.")
    var noBos = false

    @Flag(name: .long, help: "Turn special-token text such as <|im_start|> into its token.")
    var special = false

    @Flag(name: .long, help: "Print the ids as one JSON array.")
    var json = false

    @Argument(help: "The text.")
    var text: String

    func run() async throws {
        try await reportingErrors {
            let path = try model ?? DefaultModel.locate()
            let tokenizer = try Tokenizer(gguf: GGUFFile(path: path))
            let ids = tokenizer.encode(text, addSpecial: !noBos, parseSpecial: special)
            if json {
                print("[" + ids.map(String.init).joined(separator: ",") + "]")
            } else {
                for id in ids {
                    let piece = String(decoding: tokenizer.piece(id, renderSpecial: true), as: UTF8.self)
                    print("\(id)\t\(piece.debugDescription)")
                }
            }
        }
    }
}
