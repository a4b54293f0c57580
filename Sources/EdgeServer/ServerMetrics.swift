import Foundation
import Prometheus

/// The server's figures in Prometheus's text format (`GET /metrics`).
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let running: Gauge
    let queued: Gauge
    /// Tokens of the responses that completed (the sums of their `usage`).
    let promptTokens: Counter
    let cachedPromptTokens: Counter
    let generatedTokens: Counter
    let requests: Counter
    let rejected: Counter
    let cancelled: Counter
    let timeToFirstToken: ValueHistogram
    let timePerToken: ValueHistogram

    init() {
        running = registry.makeGauge(name: "edgert_requests_running", help: "Requests in a sequence slot (evaluating their prompt or generating).")
        queued = registry.makeGauge(name: "edgert_requests_queued", help: "Requests waiting for a sequence slot.")
        promptTokens = registry.makeCounter(name: "edgert_prompt_tokens_total", help: "Prompt tokens of completed responses (usage.prompt_tokens).")
        cachedPromptTokens = registry.makeCounter(name: "edgert_prompt_tokens_cached_total",
                                                  help: "Prompt tokens of completed responses whose KV entries were reused.")
        generatedTokens = registry.makeCounter(name: "edgert_generated_tokens_total",
                                               help: "Generated tokens of completed responses (usage.completion_tokens).")
        requests = registry.makeCounter(name: "edgert_requests_completed_total", help: "Generation requests answered in full.")
        rejected = registry.makeCounter(name: "edgert_requests_rejected_total", help: "Generation requests refused with 503 (queue full, loading, shutting down).")
        cancelled = registry.makeCounter(name: "edgert_requests_cancelled_total", help: "Generation requests whose client went away before the end.")
        timeToFirstToken = registry.makeValueHistogram(
            name: "edgert_time_to_first_token_seconds", buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
            help: "Seconds from a request's arrival to its first generated token.")
        timePerToken = registry.makeValueHistogram(
            name: "edgert_time_per_output_token_seconds", buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
            help: "Mean seconds between generated tokens of one response.")
    }

    func text() -> String { registry.emitToString() }
}
