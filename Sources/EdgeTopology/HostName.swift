/// The identifier `edgert profile` names a host by, and its profile file by
/// (`Profiles/<name>.json`): the CPU's name and the number of CPUs this process may use.
///
/// Rule: take the CPU model; drop the vendors' marks `(R)`, `(TM)`, `(tm)`, the words `CPU`,
/// `Processor`, what follows ` with ` or ` w/ ` (integrated graphics) and an `N-Core` word, and everything from `@` (a clock); lower-case;
/// every run of characters other than letters and digits becomes one `-`; append `-<n>c` with n the
/// CPU count. `AMD EPYC 9R45` with 2 CPUs -> `amd-epyc-9r45-2c`; `Intel(R) Core(TM) Ultra 7 155H`
/// with 22 -> `intel-core-ultra-7-155h-22c`.
public enum HostName {
    public static func identifier(cpuModel: String, cpuCount: Int) -> String {
        var s = cpuModel
        if let at = s.firstIndex(of: "@") { s = String(s[..<at]) }
        for mark in ["(R)", "(r)", "(TM)", "(tm)"] { s = s.replacingOccurrences(of: mark, with: " ") }
        for tail in [" with ", " w/ "] { if let r = s.range(of: tail) { s = String(s[..<r.lowerBound]) } }
        let words = s.split(separator: " ").filter { w in
            let l = w.lowercased()
            return l != "cpu" && l != "processor" && !(l.hasSuffix("-core") && l.count > 5 && l.dropLast(5).allSatisfy { $0.isLetter || $0.isNumber })
        }
        var out = ""
        for ch in words.joined(separator: " ").lowercased() {
            if ch.isASCII && (ch.isLetter || ch.isNumber) {
                out.append(ch)
            } else if !out.isEmpty && out.last != "-" {
                out.append("-")
            }
        }
        while out.hasSuffix("-") { out.removeLast() }
        return (out.isEmpty ? "host" : out) + "-\(max(cpuCount, 0))c"
    }
}
