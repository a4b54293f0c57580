/// Cuts generated text at the first stop string, so that no stop string ever reaches the output,
/// not even split over several tokens or chunks: text that could still be the start of a stop
/// string is held back until the next piece decides it.
public struct StopMatcher: Sendable {
    /// The stop strings (empty ones are ignored).
    public let stops: [String]
    /// Text decoded but not yet released: a suffix that is a prefix of some stop string.
    private var held = ""

    public init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Adds `text`; returns what may be released, and whether a stop string was found (then the
    /// release is the text before it and the matcher is done).
    public mutating func feed(_ text: String) -> (release: String, stopped: Bool) {
        guard !stops.isEmpty else { return (text, false) }
        held += text
        let scalars = Array(held.unicodeScalars)
        // The earliest occurrence of any stop string.
        var earliest: Int?
        for stop in stops {
            let s = Array(stop.unicodeScalars)
            guard s.count <= scalars.count else { continue }
            var i = 0
            while i + s.count <= scalars.count, i < (earliest ?? Int.max) {
                if scalars[i] == s[0], Array(scalars[i..<i + s.count]) == s { earliest = i; break }
                i += 1
            }
        }
        if let at = earliest {
            held = ""
            return (Self.string(scalars[..<at]), true)
        }
        // Hold back the longest suffix that some stop string starts with.
        var keep = 0
        for stop in stops {
            let s = Array(stop.unicodeScalars)
            for length in stride(from: min(s.count - 1, scalars.count), to: keep, by: -1)
            where Array(scalars[(scalars.count - length)...]) == Array(s[..<length]) {
                keep = length
                break
            }
        }
        held = Self.string(scalars[(scalars.count - keep)...])
        return (Self.string(scalars[..<(scalars.count - keep)]), false)
    }

    /// What is held back at the end of generation (no stop string followed it).
    public mutating func finish() -> String {
        defer { held = "" }
        return held
    }

    private static func string(_ s: ArraySlice<Unicode.Scalar>) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s)
        return String(out)
    }
}
