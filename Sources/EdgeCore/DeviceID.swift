/// What kind of resource a device is.
public enum DeviceKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// A CPU NUMA node: its cores and its local memory.
    case cpu
    /// A GPU with its own (or shared) memory.
    case gpu
    /// The storage the model file is streamed from.
    case disk
}

/// The name of one device of a host: `cpu0`, `cpu1` (NUMA nodes), `gpu0` (GPUs, in the profile's
/// order), `disk` (the model file's storage). Written as that string in plans and profiles.
public struct DeviceID: Sendable, Hashable, Comparable, CustomStringConvertible, Codable, CodingKeyRepresentable {
    public let kind: DeviceKind
    /// Node or GPU number (0 for the disk).
    public let index: Int

    public static func cpu(_ node: Int) -> DeviceID { DeviceID(kind: .cpu, index: node) }
    public static func gpu(_ index: Int) -> DeviceID { DeviceID(kind: .gpu, index: index) }
    public static let disk = DeviceID(kind: .disk, index: 0)

    private init(kind: DeviceKind, index: Int) {
        self.kind = kind
        self.index = index
    }

    /// Parses `cpuN`, `gpuN` (N a decimal number without sign) or `disk`; nil for anything else.
    public init?(_ text: String) {
        if text == "disk" {
            self = .disk
            return
        }
        for kind in [DeviceKind.cpu, .gpu] where text.hasPrefix(kind.rawValue) {
            let digits = text.dropFirst(kind.rawValue.count)
            guard !digits.isEmpty, digits.count <= 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(digits) else { return nil }
            self.init(kind: kind, index: n)
            return
        }
        return nil
    }

    public var description: String { kind == .disk ? "disk" : "\(kind.rawValue)\(index)" }

    public static func < (a: DeviceID, b: DeviceID) -> Bool {
        (a.kind.rawValue, a.index) < (b.kind.rawValue, b.index)
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = DeviceID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "'\(text)' is not a device name (cpuN, gpuN or disk)"))
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// As a dictionary key in JSON: the name (`{"cpu0": ...}`).
    public var codingKey: CodingKey { Name(stringValue: description) }

    public init?<T: CodingKey>(codingKey: T) { self.init(codingKey.stringValue) }

    private struct Name: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
