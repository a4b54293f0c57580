import ArgumentParser
import EdgeCore
import EdgeRuntime
import EdgeTopology
import Foundation

struct ProfileCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "Measure this host and write its profile (Profiles/<host>.json).",
        discussion: """
            Measures main-memory read bandwidth (one core and all cores of each NUMA node, and across nodes), \
            one core's matvec and 64-token matmul throughput for every weight type on each core class, each \
            CPU's speed on the Q4_K matvec (to confirm the core classes CPUID reports), the NUMA layout \
            (libnuma), the storage holding the models (sequential and 4 KiB random O_DIRECT reads of a \
            temporary file, removed afterwards) and lists visible GPUs. The profile follows Profiles/SCHEMA.md \
            and is validated before it is written. Progress goes to standard error, a summary (or, with \
            --json, the profile) to standard output. --quick takes about 10-20 s, a full run under 90 s.
            """)

    @Flag(name: .long, help: "Shorter measurements: smaller storage file, fewer passes and repetitions.")
    var quick = false

    @Option(name: .long, help: ArgumentHelp("Where to write the profile (default: Profiles/<name>.json in the current directory).", valueName: "file"))
    var out: String?

    @Option(name: .long, help: ArgumentHelp("The host's identifier (default: from the CPU model and CPU count, e.g. amd-epyc-9r45-2c).", valueName: "name"))
    var name: String?

    @Option(name: .long, help: ArgumentHelp("A directory on the storage to measure (default: the default model's directory, else the current directory).", valueName: "dir"))
    var storagePath: String?

    @Flag(name: .long, help: "Print the profile's JSON instead of the summary.")
    var json = false

    func validate() throws {
        if let name, name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) {
            throw ValidationError("--name '\(name)': use letters, digits, '-', '_' or '.'")
        }
        if let storagePath {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: storagePath, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--storage-path \(storagePath): no such directory")
            }
        }
    }

    /// The directory whose storage is measured, and why that one.
    private func storageDirectory() -> (path: String, why: String) {
        if let storagePath { return (storagePath, "--storage-path") }
        if let model = try? DefaultModel.locate() {
            return (URL(fileURLWithPath: model).deletingLastPathComponent().standardizedFileURL.path, "the default model's directory")
        }
        return (FileManager.default.currentDirectoryPath, "the current directory; the default model was not found")
    }

    /// The name to measure under when neither --out nor a profile path decides it: `name` (or this
    /// host's), unless `Profiles/<that>.json` is a profile of a CPU with other ISA features (a
    /// cloud VM's model string hides the generation: an AMD EPYC with AVX-512 and one without read
    /// alike); then the feature-qualified name (`amd-epyc-2c-avx2`) that `run` also looks for, so
    /// one host's profile never overwrites another's.
    static func nameKeepingOthers(_ name: String?) -> String? {
        let plain = name ?? HostProfileLookup.ownName()
        let path = "Profiles/\(plain).json"
        let own = HostProfileLookup.ownFeatures()
        guard FileManager.default.fileExists(atPath: path),
              let existing = try? HostProfileLookup.read(path),
              Set(existing.cpu.features) != Set(own) else { return name }
        let qualified = HostProfileLookup.featureQualifiedName(base: plain, features: own)
        printError("edgert profile: \(path) is a profile of a CPU with other features (\(existing.cpu.features.joined(separator: " "))); writing Profiles/\(qualified).json")
        return qualified
    }

    func run() async throws {
        try await reportingErrors {
            let storage = storageDirectory()
            var options = quick ? ProbeOptions.quick(storageDirectory: storage.path) : ProbeOptions.full(storageDirectory: storage.path)
            printError("edgert profile\(quick ? " --quick" : ""): measuring this host; storage: \(storage.path) (\(storage.why))")
            // The bandwidth probe's buffer within what this process may use (a memory cgroup's
            // limit): half of it at most, so that profiling in a small container is not killed.
            let allowance = MemoryAllowance.current()
            if let allowed = allowance.allowedBytes, allowed / 2 < options.memoryProbeBytes {
                options.memoryProbeBytes = max(allowed / 2, 64 << 20)
                printError("edgert profile: memory probe buffer reduced to \(options.memoryProbeBytes >> 20) MiB to fit what this process may use, \(allowance)")
            }
            let result = try await HostProber(options: options).probe(name: out == nil ? Self.nameKeepingOthers(name) : name) { p in
                printError(p.finished ? "       \(p.message)" : "[\(p.step)/\(p.steps)] \(p.message) ...")
            }
            let path = out ?? "Profiles/\(result.profile.host.name).json"
            try result.profile.write(path: path)
            // The same profile drawn, beside it: the curves are easier to look at than to read.
            let svgPath = (path.hasSuffix(".json") ? String(path.dropLast(5)) : path) + ".svg"
            do {
                try Data(ProfileChart.svg(result.profile).utf8).write(to: URL(fileURLWithPath: svgPath), options: .atomic)
                printError("edgert profile: drawn as \(svgPath)")
            } catch {
                printError("edgert profile: could not write the chart \(svgPath): \(error.localizedDescription)")
            }
            if json {
                print(String(decoding: try result.profile.encoded(), as: UTF8.self))
            } else {
                print(ProfileSummary.text(result, path: path), terminator: "")
            }
        }
    }
}
