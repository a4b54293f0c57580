import EdgeCore
import Foundation

/// Why a profile file could not be read or written; each case names the file.
public enum HostProfileFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file at `path`.
    case missing(path: String)
    /// The file exists but could not be read or written.
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)
    /// The file was read but is not a valid profile; the inner error names the field.
    case invalid(HostProfileError)

    public var description: String {
        switch self {
        case let .missing(path): "\(path): no such host profile"
        case let .unreadable(path, reason): "\(path): cannot read the host profile: \(reason)"
        case let .unwritable(path, reason): "\(path): cannot write the host profile: \(reason)"
        case let .invalid(e): e.description
        }
    }
}

extension HostProfile {
    /// Largest profile file read: 16 MiB, thousands of times a real profile (a few KiB).
    public static let maxFileBytes = 16 << 20

    /// Reads and validates the profile at `path`.
    public static func load(path: String) throws(HostProfileFileError) -> HostProfile {
        guard FileManager.default.fileExists(atPath: path) else { throw .missing(path: path) }
        // A profile is a few kilobytes; a file far larger is not one (and is not read into memory).
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        guard attributes?[.type] as? FileAttributeType == .typeRegular else {
            throw .unreadable(path: path, reason: "not a regular file")
        }
        let size = attributes?[.size] as? Int ?? 0
        guard size <= maxFileBytes else {
            throw .unreadable(path: path, reason: "\(size) bytes is larger than a host profile can be (\(maxFileBytes) bytes at most)")
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        do { return try decode(data, file: path) } catch { throw .invalid(error) }
    }

    /// Validates the profile and writes it to `path` (creating its directory), replacing any file there.
    public func write(path: String) throws(HostProfileFileError) {
        do { try validate(file: path) } catch { throw .invalid(error) }
        do {
            var data = try encoded()
            data.append(0x0A)
            let url = URL(fileURLWithPath: path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url, options: .atomic)
        } catch {
            throw .unwritable(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
