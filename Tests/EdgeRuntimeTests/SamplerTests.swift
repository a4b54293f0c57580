import XCTest
import EdgeRuntime

/// The sampler's candidate selection and draws.
final class SamplerTests: XCTestCase {
    /// The heap selection of the top k gives exactly the first k of a full sort by (logit
    /// descending, id ascending), ties and duplicates included, for k from 1 to the vocabulary.
    func testTopKIsThePrefixOfTheFullSort() {
        var rng = SeededGenerator(seed: 7)
        for n in [1, 2, 17, 1000, 49152] {
            // Few distinct values, so that ties are everywhere.
            let logits = (0..<n).map { _ in Float(Int.random(in: -20...20, using: &rng)) / 4 }
            let sorted = Array(0..<n).sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            for k in Set([1, 2, 5, 40, n / 2, n - 1, n]) where k >= 1 && k <= n {
                XCTAssertEqual(Sampler.topK(logits, k), Array(sorted.prefix(k)), "n \(n), k \(k)")
            }
        }
    }

    /// Presence subtracts once per seen token, frequency once per occurrence (OpenAI's penalties),
    /// within the window; out-of-range values are refused.
    func testPresenceAndFrequencyPenalties() throws {
        let logits: [Float] = [3.0, 2.5, 2.0, 0]
        var p = SamplingParameters.greedy
        p.presencePenalty = 0.6
        var s = try Sampler(p)
        XCTAssertEqual(s.sample(logits, recent: [0]), 1, "3.0 - 0.6 < 2.5")
        XCTAssertEqual(s.sample(logits, recent: [0, 1]), 0, "both penalised alike: 2.4 > 1.9")
        p.presencePenalty = 0
        p.frequencyPenalty = 0.3
        s = try Sampler(p)
        XCTAssertEqual(s.sample(logits, recent: [0]), 0, "3.0 - 0.3 > 2.5")
        XCTAssertEqual(s.sample(logits, recent: [0, 0]), 1, "3.0 - 0.6 < 2.5")
        XCTAssertEqual(s.sample(logits, recent: [0, 0, 0, 0, 1, 1, 1]), 2, "1.8 and 1.6 below 2.0")
        p.repetitionWindow = 2
        s = try Sampler(p)
        XCTAssertEqual(s.sample(logits, recent: [0, 0, 0, 1, 2]), 0, "only the last two tokens count")
        for bad: Float in [2.5, -3, .nan] {
            var q = SamplingParameters.greedy
            q.frequencyPenalty = bad
            XCTAssertThrowsError(try Sampler(q))
            q.frequencyPenalty = 0
            q.presencePenalty = bad
            XCTAssertThrowsError(try Sampler(q))
        }
    }

    func testGreedyIsTheArgmaxWithTheLowestIdOnTies() throws {
        var s = try Sampler(.greedy)
        XCTAssertEqual(s.sample([0.5, 2, -1, 2, 1.5], recent: []), 1)
    }

    /// A seeded draw is reproducible, and with top-k only ever picks one of the k largest.
    func testSeededDrawsStayInTheTopKAndRepeat() throws {
        var params = SamplingParameters()
        params.topK = 3
        params.topP = 1
        params.minP = 0
        params.temperature = 1.5
        var rng = SeededGenerator(seed: 11)
        let logits = (0..<5000).map { _ in Float.random(in: -3...3, using: &rng) }
        let allowed = Set(Sampler.topK(logits, 3).map(Int32.init))
        var a = try Sampler(params), b = try Sampler(params)
        var seen = Set<Int32>()
        for _ in 0..<300 {
            let x = a.sample(logits, recent: [])
            XCTAssertEqual(x, b.sample(logits, recent: []))
            XCTAssertTrue(allowed.contains(x), "\(x) is not among the top 3 \(allowed)")
            seen.insert(x)
        }
        XCTAssertEqual(seen, allowed, "at temperature 1.5 each of three close candidates comes up in 300 draws")
    }
}
