/// Text built piece by piece that never grows past `limit` bytes (UTF-8): an append that would
/// cross it is refused and marks the builder `exceeded`, and every later append is ignored.
///
/// Writers of nested values (`repr`, JSON) check `exceeded` to stop early, so their work is
/// bounded by the limit whatever the value: each element they visit writes at least one byte.
/// The renderer turns `exceeded` into `TemplateError.limit(.stringBytes, ...)`.
struct TextBuilder {
    private(set) var text = ""
    let limit: Int
    private(set) var exceeded = false

    init(limit: Int = .max) {
        self.limit = limit
    }

    /// Whether `bytes` more bytes fit.
    @inline(__always)
    func fits(_ bytes: Int) -> Bool {
        !exceeded && bytes <= limit - text.utf8.count
    }

    @inline(__always)
    mutating func append(_ piece: String) {
        guard fits(piece.utf8.count) else {
            exceeded = true
            return
        }
        text += piece
    }

    /// Lets `write` append at most `bytes` bytes, if they fit; otherwise marks `exceeded`.
    @inline(__always)
    mutating func append(atMost bytes: Int, _ write: (inout String) -> Void) {
        guard fits(bytes) else {
            exceeded = true
            return
        }
        write(&text)
    }

    /// Marks the builder as over its limit.
    mutating func markExceeded() {
        exceeded = true
    }
}
