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
        /// `edgert_<name>_<unit>` (an empty unit is left out).
        func named(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "edgert", metricName: name, unitName: unit, helpText: help)
        }
        running = registry.makeGauge(descriptor: named("requests_running", "", "Requests in a sequence slot (evaluating their prompt or generating)."))
        queued = registry.makeGauge(descriptor: named("requests_queued", "", "Requests waiting for a sequence slot."))
        promptTokens = registry.makeCounter(descriptor: named("prompt_tokens", "total", "Prompt tokens of completed responses (usage.prompt_tokens)."))
        cachedPromptTokens = registry.makeCounter(descriptor: named("prompt_tokens_cached", "total",
                                                                    "Prompt tokens of completed responses whose KV entries were reused."))
        generatedTokens = registry.makeCounter(descriptor: named("generated_tokens", "total",
                                                                 "Generated tokens of completed responses (usage.completion_tokens)."))
        requests = registry.makeCounter(descriptor: named("requests_completed", "total", "Generation requests answered in full."))
        rejected = registry.makeCounter(descriptor: named("requests_rejected", "total",
                                                          "Generation requests refused with 503 (queue full, loading, shutting down)."))
        cancelled = registry.makeCounter(descriptor: named("requests_cancelled", "total",
                                                           "Generation requests whose client went away before the end."))
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: named("time_to_first_token", "seconds", "Seconds from a request's arrival to its first generated token."),
            buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
        timePerToken = registry.makeValueHistogram(
            descriptor: named("time_per_output_token", "seconds", "Mean seconds between generated tokens of one response."),
            buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1])
    }

    func text() -> String { registry.emitToString() }
}
