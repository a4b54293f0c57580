/// The ranges edgert accepts for the numbers a user, a saved plan or a request gives it. Every
/// command line option and library parameter is checked against these (and against what the host
/// and the model allow) before anything is allocated, so that no arithmetic on a user's value can
/// overflow: with every value inside these ranges, products such as positions × bytes per
/// position stay far below `Int.max`.
public enum InputBounds {
    /// Context length in tokens: 4 Mi positions, 32× the longest trained context of the models we
    /// run (128 Ki for Llama 3.1); its KV cache alone would be terabytes for a 7B model.
    public static let contextTokens: ClosedRange<Int> = 1...(1 << 22)
    /// Tokens to generate: no run can generate more than its context holds.
    public static let generateTokens: ClosedRange<Int> = 0...(1 << 22)
    /// Prompt tokens (and a benchmark's prompt or generation length): the context bound.
    public static let promptTokens: ClosedRange<Int> = 0...(1 << 22)
    /// Compute threads: far above any host we plan for (the largest device spec has 192 CPUs);
    /// commands that run also check the CPUs this process may use.
    public static let threads: ClosedRange<Int> = 1...4096
    /// Tokens one prompt batch evaluates.
    public static let batchTokens: ClosedRange<Int> = 1...(1 << 16)
    /// Memory budgets and sizes in bytes: 1 byte to 1 PiB.
    public static let memoryBytes: ClosedRange<Int> = 1...(1 << 50)
    /// Benchmark repetitions.
    public static let repetitions: ClosedRange<Int> = 1...10_000
    /// Sampling temperature (0 or less: greedy). Above ~10 every token is equally likely already.
    public static let temperature: ClosedRange<Float> = 0...1000
    /// Top-k (0: the whole vocabulary; larger than the vocabulary means the whole vocabulary).
    public static let topK: ClosedRange<Int> = 0...(1 << 31)
    /// Repetition penalty (1: off).
    public static let repetitionPenalty: ClosedRange<Float> = 1e-3...1000

    /// Throws an error naming `name`, the value and the range unless `value` lies in `range`.
    /// Every bound check (CLI, engine, planner) goes through here, so the message reads alike.
    public static func check<T: Comparable>(_ value: T, in range: ClosedRange<T>, _ name: String) throws(OutOfBounds) {
        guard range.contains(value) else { throw OutOfBounds(name: name, value: "\(value)", bounds: "\(range.lowerBound)...\(range.upperBound)") }
    }
}

/// A number outside the range edgert accepts for it.
public struct OutOfBounds: Error, Sendable, Hashable, CustomStringConvertible {
    /// The option or parameter, as the user wrote it (`-n`, `--ctx`, `max_tokens`).
    public var name: String
    public var value: String
    /// The accepted range, as text (`1...4194304`).
    public var bounds: String

    public init(name: String, value: String, bounds: String) {
        self.name = name
        self.value = value
        self.bounds = bounds
    }

    public var description: String { "\(name) \(value) is out of range: it must be in \(bounds)" }
}
