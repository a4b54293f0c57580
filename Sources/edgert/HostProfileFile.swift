import EdgeCore
import Foundation

/// Host profiles and device specs on disk, and finding this host's own profile.
enum HostProfileFile {
    /// `--profile FILE`, `--device FILE`, or this host's profile from `Profiles/`.
    static func load(profile: String?, device: String?) throws -> (profile: HostProfile, path: String) {
        if let path = profile ?? device {
            let p = try read(path)
            if device != nil, p.kind != .spec {
                throw HostProfileFileError.wrongKind(path, expected: "a device spec (kind \"spec\"); use --profile for a measured profile")
            }
            return (p, path)
        }
        guard let found = try findOwn() else {
            throw HostProfileFileError.noOwnProfile(searched: profileDirectories())
        }
        return found
    }

    static func read(_ path: String) throws -> HostProfile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HostProfileFileError.missing(path, what: "host profile")
        }
        return try HostProfile.decode(data, file: path)
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

    /// The measured profile of this host: same CPU model and number of CPUs.
    static func findOwn() throws -> (profile: HostProfile, path: String)? {
        let model = cpuModelName()
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        for dir in profileDirectories() {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names.sorted() where name.hasSuffix(".json") {
                let path = dir + "/" + name
                guard let p = try? read(path), p.kind == .measured else { continue }
                if p.cpu.model == model, p.cpu.cpuIDs.count == cpus { return (p, path) }
            }
        }
        return nil
    }

    /// The CPU's name as /proc/cpuinfo gives it.
    static func cpuModelName() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let colon = line.firstIndex(of: ":") {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return "unknown"
    }
}

enum HostProfileFileError: Error, CustomStringConvertible {
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
