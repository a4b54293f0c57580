/// Bounds on the work, memory and nesting of parsing and rendering one template.
///
/// A chat template comes from a model file, that is from strangers: it is data, and no template
/// may hang the process, exhaust its memory or overflow its stack. Crossing a bound throws
/// `TemplateError.limit(kind, limit:, construct:, at:)` naming the bound, the construct that
/// crossed it and where it is.
///
/// The bounds are the protection: with every one at `Int.max` a template can ask for more
/// memory than exists, and a failed allocation ends the process. Raise them with care.
///
/// The defaults leave every published template unchanged and fast on conversations far longer
/// than a model's context (a 128k-token conversation is about 0.5 MB of text; the tests render
/// 3 MB), while a hostile template stops within about a second and a few hundred MB.
public struct TemplateLimits: Sendable, Hashable {
    /// The most evaluation steps one render may take. A step is one statement executed, one
    /// expression node evaluated, one loop iteration, one filter, test, method or macro call, or
    /// a unit of bulk work inside one: `bytesPerStep` (4) bytes of string created or scanned, a
    /// list or dict element created (`stepsPerElement`, 6), compared or walked.
    ///
    /// Default 20,000,000. Published templates take 190 to 940 steps for a 4-message chat and
    /// 1.6 M to 3.4 M for 2,001 messages and 3 MB of text (six 128k-token contexts), mostly for
    /// the bytes they copy: 20 M leaves them six times that. The costliest steps measured (a
    /// loop iteration 50 ns, a namespace assignment 110 ns, a macro call with an argument 135 ns;
    /// release build, x86-64, on a core shared with other work) stop a hostile render within
    /// 1 to 3 s; and since every 4 bytes a render allocates cost a step, a render keeps at most
    /// 80 MB of strings and lists alive (plus transients of a few times `maxStringBytes`).
    public var maxSteps: Int

    /// The most bytes (UTF-8) of rendered text. Default 16 MiB: 30 times a 128k-token prompt.
    public var maxOutputBytes: Int

    /// The deepest nesting of blocks (`if`, `for`, `macro`, ...) and of expressions (brackets,
    /// operator chains, calls, filters) in the source, of evaluation at render time (macro and
    /// filter calls included), and of lists and dicts (a value built by the template, or passed in
    /// the context). Parsing and rendering recurse once per level, so this bound is what keeps
    /// them inside a thread's stack.
    ///
    /// Default 200 in optimized builds. Published templates need 7 to 12 levels (parsed and
    /// rendered with tools: Qwen3 and DeepSeek-R1 12, Llama 3.1 9). At the limit, the deepest
    /// construct uses 184 KiB of stack (200 nested brackets, parsed; ~0.9 KiB per level), a
    /// macro recursing as deep as it may and then printing, serializing and comparing a
    /// 200-deep list 147 KiB, measured by painting a thread's stack (release build, x86-64,
    /// `TemplateDepthTests`). That is about a third of 512 KiB, the smallest stack a thread gets
    /// (Swift concurrency and secondary threads on Darwin), which leaves room for the caller's
    /// frames. Unoptimized (debug) builds use about 10 KiB per level (2 MiB at 200), so there the
    /// default is 24 (~250 KiB). Raise it only when rendering on threads with larger stacks.
    public var maxDepth: Int

    /// The most bytes (UTF-8) of any string a render creates: an operator's, filter's or
    /// method's result, a `{% set %}` block's capture, a macro's output. Default 16 MiB.
    public var maxStringBytes: Int

    /// The most elements of any list or dict a render creates (`range`, `list * n`, `split`,
    /// iterating a string). Default 1,048,576 (2^20): 1,000 times the messages of the longest
    /// conversations, ten times jinja2's own `range` bound (100,000).
    public var maxCollectionCount: Int

    public init(maxSteps: Int = 20_000_000, maxOutputBytes: Int = 16 << 20, maxDepth: Int = TemplateLimits.defaultMaxDepth,
                maxStringBytes: Int = 16 << 20, maxCollectionCount: Int = 1 << 20) {
        self.maxSteps = maxSteps
        self.maxOutputBytes = maxOutputBytes
        self.maxDepth = maxDepth
        self.maxStringBytes = maxStringBytes
        self.maxCollectionCount = maxCollectionCount
    }

    /// The documented defaults.
    public static let `default` = TemplateLimits()

    /// `maxDepth`'s default: what fits a 512 KiB stack with a wide margin in this build.
    #if DEBUG
    public static let defaultMaxDepth = 24
    #else
    public static let defaultMaxDepth = 200
    #endif

    /// Bytes a render may create or scan per step (see `maxSteps`). It ties memory to steps:
    /// a render allocates at most `maxSteps * bytesPerStep` bytes of strings and lists in all
    /// (80 MB with the defaults), so no loop can hold more than that alive.
    public static let bytesPerStep = 4

    /// Steps per list or dict element created: its bytes (`TemplateValue`'s stride, 24 on 64-bit
    /// platforms) over `bytesPerStep`.
    static let stepsPerElement = max(1, MemoryLayout<TemplateValue>.stride / bytesPerStep)

    func value(of kind: TemplateLimitKind) -> Int {
        switch kind {
        case .steps: return maxSteps
        case .outputBytes: return maxOutputBytes
        case .depth: return maxDepth
        case .stringBytes: return maxStringBytes
        case .collectionCount: return maxCollectionCount
        }
    }
}

/// Which of `TemplateLimits`' bounds a template crossed.
public enum TemplateLimitKind: String, Sendable, Hashable, CustomStringConvertible {
    /// `maxSteps`: the render did too much work.
    case steps
    /// `maxOutputBytes`: the rendered text grew too long.
    case outputBytes
    /// `maxDepth`: blocks, expressions, calls or values nested too deeply.
    case depth
    /// `maxStringBytes`: an intermediate string would be too long.
    case stringBytes
    /// `maxCollectionCount`: a list or dict would have too many elements.
    case collectionCount

    /// The bound's name in `TemplateLimits`.
    public var description: String {
        switch self {
        case .steps: return "maxSteps"
        case .outputBytes: return "maxOutputBytes"
        case .depth: return "maxDepth"
        case .stringBytes: return "maxStringBytes"
        case .collectionCount: return "maxCollectionCount"
        }
    }

    /// What crossing the bound means, for an error message: "more than 200 levels of nesting".
    func needs(_ limit: Int) -> String {
        switch self {
        case .steps: return "more than \(limit) evaluation steps"
        case .outputBytes: return "more than \(limit) bytes of output"
        case .depth: return "more than \(limit) levels of nesting"
        case .stringBytes: return "a string of more than \(limit) bytes"
        case .collectionCount: return "a list or dict of more than \(limit) items"
        }
    }
}
