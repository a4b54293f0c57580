import ArgumentParser

@main
struct Edgert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edgert",
        abstract: "Run large language models on small and mixed hosts.",
        subcommands: [RunCommand.self, BenchCommand.self, TokenizeCommand.self, PerplexityCommand.self, SynthCommand.self,
                      ProfileCommand.self, PlanCommand.self],
        defaultSubcommand: nil)
}
