#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Python's text forms of values, reproduced where they reach a rendered prompt.
enum PythonFormat {
    /// `repr(float)`: shortest round-trip digits, fixed notation for decimal exponents in
    /// [-4, 16), otherwise `1e+16` / `1e-05` (CPython `float_repr_style = 'short'`).
    static func floatRepr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        if value == 0 { return value.sign == .minus ? "-0.0" : "0.0" }
        let (negative, digits, exponent) = shortestDigits(value)
        let sign = negative ? "-" : ""
        if exponent >= -4 && exponent < 16 {
            if exponent < 0 {
                return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits
            }
            if digits.count <= exponent + 1 {
                return sign + digits + String(repeating: "0", count: exponent + 1 - digits.count) + ".0"
            }
            let split = digits.index(digits.startIndex, offsetBy: exponent + 1)
            return sign + digits[..<split] + "." + digits[split...]
        }
        var mantissa = String(digits.first!)
        if digits.count > 1 { mantissa += "." + digits.dropFirst() }
        let expSign = exponent < 0 ? "-" : "+"
        let expDigits = String(abs(exponent))
        return sign + mantissa + "e" + expSign + (expDigits.count < 2 ? "0" + expDigits : expDigits)
    }

    /// The shortest round-trip decimal digits of a finite non-zero double (no leading or trailing
    /// zeros) and the decimal exponent of the first digit, taken from Swift's own shortest
    /// representation (`description`), which uses the same shortest-digits rule as CPython.
    private static func shortestDigits(_ value: Double) -> (negative: Bool, digits: String, exponent: Int) {
        var text = Substring(value.magnitude.description)
        var exp = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exp = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        var digits = ""
        var pointPosition = text.count
        for (i, c) in text.enumerated() {
            if c == "." { pointPosition = i } else { digits.append(c) }
        }
        // Value = 0.d1d2... * 10^(pointPosition + exp) before trimming leading zeros.
        var firstExponent = pointPosition - 1 + exp
        while digits.first == "0" {
            digits.removeFirst()
            firstExponent -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        return (value < 0, digits.isEmpty ? "0" : digits, firstExponent)
    }

    /// `repr(str)`: single quotes unless the text has a single quote and no double quote;
    /// backslash escapes for the quote, backslash, \t \n \r and non-printable characters.
    static func stringRepr(_ s: String) -> String {
        var builder = TextBuilder()
        writeStringRepr(s, into: &builder)
        return builder.text
    }

    /// `repr(str)` appended to `builder`, whose limit is checked before writing: at once when
    /// the worst case (4 bytes per byte, `\xNN`) fits, else after measuring the exact length.
    static func writeStringRepr(_ s: String, into builder: inout TextBuilder) {
        let useDouble = s.utf8.contains(UInt8(ascii: "'")) && !s.utf8.contains(UInt8(ascii: "\""))
        let quote: Unicode.Scalar = useDouble ? "\"" : "'"
        let bytes = s.utf8.count
        var needed = bytes <= (Int.max - 2) / 4 ? 4 * bytes + 2 : Int.max
        if !builder.fits(needed) {
            needed = 2
            for scalar in s.unicodeScalars { needed += escapedLength(scalar, quote: quote) }
        }
        let quoteByte = UInt8(quote.value)
        builder.append(atMost: needed) { out in
            out.unicodeScalars.append(quote)
            TextBytes.appendEscaped(s, to: &out, plainASCII: { b in b >= 0x20 && b < 0x7F && b != quoteByte && b != 0x5C }) { scalar in
                switch scalar {
                case "\\": return "\\\\"
                case "\t": return "\\t"
                case "\n": return "\\n"
                case "\r": return "\\r"
                default:
                    if scalar == quote { return "\\" + String(quote) }
                    if isPrintable(scalar) { return nil }
                    if scalar.value < 0x100 { return "\\x" + hex(scalar.value, width: 2) }
                    if scalar.value < 0x10000 { return "\\u" + hex(scalar.value, width: 4) }
                    return "\\U" + hex(scalar.value, width: 8)
                }
            }
            out.unicodeScalars.append(quote)
        }
    }

    /// Bytes `writeStringRepr` writes for one character.
    private static func escapedLength(_ scalar: Unicode.Scalar, quote: Unicode.Scalar) -> Int {
        switch scalar {
        case "\\", "\t", "\n", "\r": return 2
        default:
            if scalar == quote { return 2 }
            if isPrintable(scalar) { return UTF8.width(scalar) }
            return scalar.value < 0x100 ? 4 : (scalar.value < 0x10000 ? 6 : 10)
        }
    }

    /// `repr(value)` appended to `builder`: Python's text for a value inside a list or dict
    /// (`str` of a string is the string itself; callers handle that). Stops early once the
    /// builder is over its limit.
    static func writeRepr(_ value: TemplateValue, into builder: inout TextBuilder) {
        if builder.exceeded { return }
        switch value {
        case .undefined: break
        case .none: builder.append("None")
        case .bool(let b): builder.append(b ? "True" : "False")
        case .int(let i): builder.append(String(i))
        case .double(let d): builder.append(floatRepr(d))
        case .string(let s): writeStringRepr(s, into: &builder)
        case .array(let items):
            builder.append("[")
            for (i, item) in items.enumerated() {
                if builder.exceeded { return }
                if i > 0 { builder.append(", ") }
                writeRepr(item, into: &builder)
            }
            builder.append("]")
        case .object(let object):
            builder.append("{")
            writePairs(object, into: &builder)
            builder.append("}")
        case .namespace(let object):
            builder.append("<Namespace {")
            writePairs(object, into: &builder)
            builder.append("}>")
        case .callable(let c):
            switch c.kind {
            case .global("dict"): builder.append("<class 'dict'>")
            case .global("namespace"): builder.append("<class 'jinja2.utils.Namespace'>")
            case .global(let name), .macro(_, let name): builder.append("<function \(name)>")
            case .method(_, let name): builder.append("<built-in method \(name)>")
            case .loopCycle: builder.append("<bound method LoopContext.cycle>")
            case .loop(let context): builder.append("<LoopContext \(context.index0 + 1)/\(context.items.count)>")
            }
        }
    }

    private static func writePairs(_ object: TemplateObject, into builder: inout TextBuilder) {
        for (i, key) in object.keys.enumerated() {
            if builder.exceeded { return }
            if i > 0 { builder.append(", ") }
            writeStringRepr(key, into: &builder)
            builder.append(": ")
            if let value = object[key] { writeRepr(value, into: &builder) }
        }
    }

    /// An approximation of Python's `str.isprintable` for one character: not a control,
    /// format, separator (other than space), surrogate or unassigned code point.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator,
            .spaceSeparator:
            return false
        default:
            return true
        }
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// `datetime.fromtimestamp(seconds).strftime(format)`: CPython hands the format to the C
    /// library's strftime with the local time zone, so this does the same.
    static func strftime(_ format: String, seconds: Double) -> String {
        var time = time_t(seconds.rounded(.down))
        var parts = tm()
        localtime_r(&time, &parts)
        var capacity = 256
        while capacity <= 65536 {
            var buffer = [CChar](repeating: 0, count: capacity)
            let written = format.withCString { fmt in
                #if canImport(Glibc)
                Glibc.strftime(&buffer, capacity, fmt, &parts)
                #else
                Darwin.strftime(&buffer, capacity, fmt, &parts)
                #endif
            }
            if written > 0 || format.isEmpty {
                return String(decoding: buffer[..<written].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            capacity *= 4
        }
        return ""
    }
}
