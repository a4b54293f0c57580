extension Array where Element == Double {
    /// The middle value (the mean of the two middle ones for an even count); nil when empty.
    /// Every median the profile and the planner take (passes of a probe, CPUs of a class, the
    /// main-memory points of a read curve) is this one.
    public var median: Double? {
        guard !isEmpty else { return nil }
        let s = sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
