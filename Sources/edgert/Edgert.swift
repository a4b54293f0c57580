import ArgumentParser
import Foundation

@main
struct Edgert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgert",
        abstract: "Run large language models on small and mixed hosts.",
        subcommands: [RunCommand.self, BenchCommand.self, TokenizeCommand.self, PerplexityCommand.self, SynthCommand.self,
                      ProfileCommand.self, PlanCommand.self, ServeCommand.self, CalibrateCommand.self, DevicesCommand.self],
        defaultSubcommand: nil)

    /// Parses and runs the command. Every ending is status 0 (success, `--help`, `--version`) or
    /// status 1 with one `error: …` line on standard error: a bad argument too (ArgumentParser's
    /// own exit would use status 64 and print the usage block), so a caller or a script sees one
    /// status and one message for every kind of failure.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(status: Self.status(reporting: error))
        }
    }

    /// Reports `error` the way the CLI does and returns the status to exit with.
    static func status(reporting error: Error) -> Int32 {
        if let code = error as? ExitCode {
            // Thrown by a command that has already printed its `error:` line.
            return code == .success ? 0 : 1
        }
        if exitCode(for: error) == .success {
            // --help, --version: the text goes to standard output.
            print(fullMessage(for: error))
            return 0
        }
        let message = message(for: error).trimmingCharacters(in: .whitespacesAndNewlines)
        printError("error: " + (message.isEmpty ? String(describing: error) : message))
        return 1
    }

    private static func exit(status: Int32) -> Never {
        fflush(nil)
        Foundation.exit(status)
    }
}
