/// How far ``ModelSynthesizer/write(toFile:progress:)`` has got: reported after every chunk of
/// tensor data written (a few MiB), so a caller can show a rate without a timer.
public struct SynthesisProgress: Sendable, Equatable {
    /// Tensor data bytes written so far (without the header and padding).
    public var bytesWritten: Int
    /// Tensor data bytes in all.
    public var totalBytes: Int
    /// The tensor being written, and its position in file order (0-based) of `tensorCount`.
    public var tensorName: String
    public var tensorIndex: Int
    public var tensorCount: Int

    /// Fraction done, 0...1.
    public var fraction: Double { totalBytes == 0 ? 1 : Double(bytesWritten) / Double(totalBytes) }
}
