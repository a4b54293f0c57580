import Foundation
import XCTest

/// What one run of the `edgert` executable left behind.
struct CLIResult {
    let arguments: [String]
    /// The exit status, or the signal number when ``crashed``.
    let status: Int32
    /// True when the process ended by a signal (a trap, an abort, a kill) instead of exiting.
    let crashed: Bool
    let stdout: Data
    let stderr: Data

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
    /// Standard output's lines, without empty ones.
    var outLines: [String] { out.split(separator: "\n").map(String.init) }
    /// Standard error's lines, without empty ones.
    var errLines: [String] { err.split(separator: "\n").map(String.init) }

    /// A summary for assertion messages.
    var summary: String {
        "edgert \(arguments.joined(separator: " ")) -> \(crashed ? "signal" : "status") \(status)\n"
            + "--- stdout ---\n\(out)\n--- stderr ---\n\(err)"
    }
}

/// A failure of the test set-up itself, with a message that says what to do.
struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// Runs the `edgert` executable the package builds, as a subprocess.
enum CLI {
    static let binaryName = "edgert"

    /// The package root: two levels above this file's folder.
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Folders that may hold the executable, best first: the folder of the running test bundle
    /// (`.build/<triple>/<config>/` on Linux, so `swift test -c release` runs the release binary),
    /// then the package's `.build/debug` and `.build/release`.
    static var candidateFolders: [URL] {
        var dirs: [URL] = []
        if let override = ProcessInfo.processInfo.environment["EDGERT_CLI_DIR"], !override.isEmpty {
            dirs.append(URL(fileURLWithPath: override))
        }
        // Linux: the test runner is the executable `<Package>PackageTests.xctest` itself.
        dirs.append(URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent())
        // macOS: the `.xctest` bundle is loaded by `xctest`; the executable sits beside the bundle.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            dirs.append(bundle.bundleURL.deletingLastPathComponent())
        }
        dirs.append(Bundle.main.bundleURL)
        dirs.append(packageRoot.appendingPathComponent(".build/debug"))
        dirs.append(packageRoot.appendingPathComponent(".build/release"))
        return dirs
    }

    /// The `edgert` executable, or an error that lists where it was looked for.
    static func binary() throws -> URL { try located.get() }

    /// Looked up once per test process.
    private static let located: Result<URL, HarnessError> = {
        let dirs = candidateFolders
        let fallbacks = 2  // the package's .build/debug and .build/release, last in the list
        for (i, dir) in dirs.enumerated() {
            let url = dir.appendingPathComponent(binaryName)
            guard FileManager.default.isExecutableFile(atPath: url.path) else { continue }
            if i >= dirs.count - fallbacks {
                // Visible in the test log: this may be another configuration's or another scratch path's build.
                let note = "note: edgertCLITests: no edgert beside the test bundle; running \(url.path)\n"
                FileHandle.standardError.write(Data(note.utf8))
            }
            return .success(url)
        }
        return .failure(HarnessError(description: "the edgert executable was not found (looked in: "
            + dirs.map(\.path).joined(separator: ", ")
            + "). Build it first: `swift build` (or run `swift test`, which builds it), or set EDGERT_CLI_DIR."))
    }()

    /// Runs edgert with `arguments` and waits for it.
    ///
    /// Output goes to temporary files, not pipes, so a chatty process cannot block on a full pipe.
    /// The child inherits this process's environment without `EDGERT_MODEL` (so a developer's
    /// setting cannot change a test), plus `environment`.
    /// - Parameters:
    ///   - executable: another copy of the binary to run (default: ``binary()``).
    ///   - directory: the working directory (default: a fresh temporary folder).
    ///   - timeout: seconds after which the process is terminated and the test fails.
    ///   - whileRunning: called once the process has started, with a function that reads its
    ///     standard error so far (to act on the files it uses while it runs).
    static func run(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil,
                    executable: URL? = nil, timeout: Double = 60,
                    whileRunning: ((_ stderrSoFar: () -> String) throws -> Void)? = nil) throws -> CLIResult {
        let scratch = try TemporaryFolder()
        let outURL = scratch.url.appendingPathComponent("stdout")
        let errURL = scratch.url.appendingPathComponent("stderr")
        guard FileManager.default.createFile(atPath: outURL.path, contents: nil),
              FileManager.default.createFile(atPath: errURL.path, contents: nil) else {
            throw HarnessError(description: "cannot create output files in \(scratch.url.path)")
        }
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)

        let p = Process()
        p.executableURL = try executable ?? binary()
        p.arguments = arguments
        p.currentDirectoryURL = directory ?? scratch.url
        var env = ProcessInfo.processInfo.environment
        env["EDGERT_MODEL"] = nil
        env.merge(environment) { _, new in new }
        p.environment = env
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = outHandle
        p.standardError = errHandle
        try p.run()
        let start = Date()
        if let whileRunning {
            try whileRunning { String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self) }
        }
        // Polling (every 5 ms) keeps this free of timers and closures that would share the Process.
        while p.isRunning && Date().timeIntervalSince(start) < timeout { usleep(5_000) }
        let timedOut = p.isRunning
        if timedOut { p.terminate() }
        p.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        let result = CLIResult(arguments: arguments, status: p.terminationStatus,
                               crashed: p.terminationReason == .uncaughtSignal,
                               stdout: try Data(contentsOf: outURL), stderr: try Data(contentsOf: errURL))
        if timedOut {
            throw HarnessError(description: "edgert ran longer than \(timeout) s and was terminated\n\(result.summary)")
        }
        return result
    }
}

/// A temporary folder removed when the value is released.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("edgert-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
