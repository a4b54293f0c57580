import EdgeCore
import EdgeDevices
import EdgeTopology
import Foundation

/// Host profiles and device specs on disk, and finding this host's own profile.
enum HostProfileLookup {
    /// `--profile FILE`, `--device FILE`, or this host's profile from `Profiles/`.
    static func load(profile: String?, device: String?) throws -> (profile: HostProfile, path: String) {
        if let path = profile ?? device {
            let p = try read(path)
            if device != nil, p.kind != .spec {
                throw HostLookupError.wrongKind(path, expected: "a device spec (kind \"spec\"); use --profile for a measured profile")
            }
            return (p, path)
        }
        guard let found = try findOwn() else {
            throw HostLookupError.noOwnProfile(searched: profileDirectories())
        }
        return found
    }

    static func read(_ path: String) throws -> HostProfile {
        try HostProfile.load(path: path)
    }

    /// Directories that may hold this checkout's `Profiles/`: the current directory's, then the
    /// one of the checkout this binary was built in (`<root>/.build/<config>/edgert`).
    static func profileDirectories() -> [String] {
        var dirs = [FileManager.default.currentDirectoryPath + "/Profiles"]
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            dirs.append(dir.appendingPathComponent("Profiles").path)
            dir.deleteLastPathComponent()
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert($0).inserted }
    }

    /// This host's file name in `Profiles/` (`edgert profile`'s naming rule).
    static func ownName() -> String {
        let cpus = WorkerPool.allowedCPUs()
        return HostName.identifier(cpuModel: CPUIdentity.read(from: LinuxHost(), cpus: cpus).model, cpuCount: cpus.count)
    }

    /// The kernel-relevant ISA features of this CPU, in the profile's spelling.
    static func ownFeatures() -> [String] {
        CPUIdentity.read(from: LinuxHost(), cpus: WorkerPool.allowedCPUs()).features
    }

    /// The name a profile of this host gets when a profile of another CPU under the same name
    /// exists (a cloud VM's model string hides the generation: an "AMD EPYC" with AVX-512 and one
    /// without read alike): the name plus the features, e.g. `amd-epyc-2c-avx2`.
    static func featureQualifiedName(base: String = ownName(), features: [String] = ownFeatures()) -> String {
        base + "-" + (features.isEmpty ? "scalar" : features.joined(separator: "-").replacingOccurrences(of: "_", with: ""))
    }

    /// The measured profile of this host: `Profiles/<this host's name>.json` (or the
    /// feature-qualified name) in one of ``profileDirectories()`` whose CPU features are this
    /// CPU's. A profile of the same name measured on a CPU with other features (other kernels
    /// run there) is passed over, and returned as `mismatch` for the message.
    static func findOwn() throws -> (profile: HostProfile, path: String)? { try lookOwn().found }

    private static func lookOwn() throws -> (found: (profile: HostProfile, path: String)?, mismatch: (path: String, features: [String])?) {
        let own = ownFeatures()
        let features = Set(own)
        var mismatch: (String, [String])?
        for name in [ownName(), featureQualifiedName(features: own)] {
            for dir in profileDirectories() {
                let path = dir + "/" + name + ".json"
                guard FileManager.default.fileExists(atPath: path) else { continue }
                let profile = try read(path)
                if Set(profile.cpu.features) == features { return ((profile, path), nil) }
                if mismatch == nil { mismatch = (path, profile.cpu.features) }
            }
        }
        return (nil, mismatch)
    }

    /// This host's profile, measured quickly (`edgert profile --quick`) and saved into the
    /// checkout's `Profiles/` when there is none yet.
    static func ownOrQuickProfile() async throws -> (profile: HostProfile, path: String) {
        let look = try lookOwn()
        if let found = look.found {
            guard found.profile.kind == .measured, found.profile.schemaVersion < HostProfile.currentVersion else { return found }
            // An older schema lacks what the cost model now reads (the memory hierarchy, the disk
            // curve): measure again, in place.
            printError("\(found.path) is a version \(found.profile.schemaVersion) profile, without the memory hierarchy and disk curve "
                + "this version predicts from: measuring this host again quickly (edgert profile --quick, in a child process)")
            return try quickProfile(name: found.profile.host.name, path: found.path)
        }
        let dirs = profileDirectories()
        // The checkout's Profiles/ (where the committed ones are), else the current directory's.
        let dir = dirs.dropFirst().first { FileManager.default.fileExists(atPath: $0) } ?? dirs[0]
        let features = ownFeatures()
        let name = look.mismatch == nil ? ownName() : featureQualifiedName(features: features)
        let path = dir + "/" + name + ".json"
        if let (other, features) = look.mismatch {
            printError("\(other) was measured on a CPU with \(features.isEmpty ? "no SIMD features" : features.joined(separator: " ")); this one has "
                + "\(features.isEmpty ? "none" : features.joined(separator: " ")), so other kernels run here: "
                + "measuring this host quickly first as \(name) (edgert profile --quick, in a child process)")
        } else {
            printError("no profile of this host (\(name)) yet: measuring it quickly first (edgert profile --quick, in a child process)")
        }
        return try quickProfile(name: name, path: path)
    }

    /// Runs `edgert profile --quick` in a child process writing `path`, and reads the result.
    private static func quickProfile(name: String, path: String) throws -> (profile: HostProfile, path: String) {
        let storage = (try? DefaultModel.locate()).map { URL(fileURLWithPath: $0).deletingLastPathComponent().path }
            ?? FileManager.default.currentDirectoryPath
        // In a child process: the probes' buffers (a 1 GiB bandwidth probe) never count in this
        // run's memory, its peak RSS or its cgroup's usage. Its progress goes to our stderr.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = ["profile", "--quick", "--out", path, "--storage-path", storage, "--name", name]
        child.standardInput = FileHandle.nullDevice
        child.standardOutput = FileHandle.nullDevice
        try child.run()
        child.waitUntilExit()
        guard child.terminationReason == .exit, child.terminationStatus == 0 else {
            throw QuickProfileFailed(status: child.terminationStatus, signalled: child.terminationReason == .uncaughtSignal)
        }
        let profile = try read(path)
        printError("profile written to \(path)")
        return (profile, path)
    }

    /// The quick profile's child process failed (its own error is on standard error above).
    struct QuickProfileFailed: Error, CustomStringConvertible {
        let status: Int32
        let signalled: Bool
        var description: String {
            "the quick profile of this host failed (\(signalled ? "signal" : "status") \(status)); run `edgert profile --quick` to see why, or pass --profile FILE"
        }
    }
}

enum HostLookupError: Error, CustomStringConvertible {
    case missing(String, what: String)
    case wrongKind(String, expected: String)
    case noOwnProfile(searched: [String])
    case invalidPlan(String, detail: String)

    var description: String {
        switch self {
        case let .missing(p, what): "\(p): no such \(what) file"
        case let .wrongKind(p, e): "\(p): expected \(e)"
        case let .noOwnProfile(s):
            "no profile of this host in \(s.joined(separator: ", ")); run `edgert profile` first, or pass --profile FILE or --device FILE"
        case let .invalidPlan(p, d): "\(p): not a readable edgert plan (\(d))"
        }
    }
}
