// This process's own metrics, through swift-metrics into a swift-prometheus registry: requests by route
// and status with their duration, provider calls by endpoint and outcome with their latency, and media
// bytes stored. Every series carries `process` (serve, worker, or --metrics-name). Labels come only from
// closed sets (Route case names, status codes, provider endpoints, error kinds), never from raw paths.
// `MetricsListener` serves them; the instance-wide numbers come from PostgreSQL (`InstanceMetrics`).

package import CoreMetrics
import Glibc
package import Metrics
public import Prometheus
import Synchronization

public final class ProcessMetrics: Sendable {
    public let process: String
    public let registry: PrometheusCollectorRegistry
    package let factory: HelpfulMetricsFactory

    /// The process's metrics; until `start` a private registry nobody scrapes (tests, commands).
    public static var shared: ProcessMetrics { current.withLock { $0 } }
    private static let current = Mutex(ProcessMetrics(process: "promptreel"))

    public init(process: String) {
        self.process = process
        registry = PrometheusCollectorRegistry()
        factory = HelpfulMetricsFactory(registry: registry)
    }

    /// Makes these the process's metrics and swift-metrics' backend. Call once, before threads start.
    @discardableResult
    public static func start(process: String) -> ProcessMetrics {
        let metrics = ProcessMetrics(process: process)
        current.withLock { $0 = metrics }
        MetricsSystem.bootstrap(metrics.factory)
        return metrics
    }

    // MARK: Names (docs/operations.md lists them)

    package static let requests = "promptreel_http_requests_total"
    package static let requestDuration = "promptreel_http_request_duration_seconds"
    package static let providerCalls = "promptreel_provider_calls_total"
    package static let providerDuration = "promptreel_provider_call_duration_seconds"
    package static let mediaBytes = "promptreel_media_stored_bytes_total"
    package static let mails = "promptreel_mail_attempts_total"

    // MARK: Recording

    /// A request's counter; the App keeps these per thread, so the hot path does no shared lookup (the
    /// counter itself is atomic).
    package func requestCounter(route: String, status: Int) -> CoreMetrics.Counter {
        CoreMetrics.Counter(
            label: Self.requests, dimensions: [("process", process), ("route", route), ("status", String(status))],
            factory: factory)
    }

    package func requestTimer(route: String) -> Metrics.Timer {
        Metrics.Timer(
            label: Self.requestDuration, dimensions: [("process", process), ("route", route)], factory: factory)
    }

    /// One provider call: `provider` is the catalog's provider name (`chat` for the roundtable's chat
    /// endpoint), `outcome` is `ok` or a `VideoAPIError.Kind` raw value.
    package func providerCall(_ endpoint: ProviderEndpoint, provider: String, outcome: String, nanoseconds: Int64) {
        CoreMetrics.Counter(
            label: Self.providerCalls,
            dimensions: [
                ("process", process), ("provider", provider), ("endpoint", endpoint.rawValue), ("outcome", outcome),
            ],
            factory: factory
        ).increment()
        Metrics.Timer(
            label: Self.providerDuration,
            dimensions: [("process", process), ("provider", provider), ("endpoint", endpoint.rawValue)],
            factory: factory
        )
        .recordNanoseconds(nanoseconds)
    }

    /// Bytes written to the media directory: `kind` is a media asset (video, thumbnail, spritesheet) or `reference`.
    public func mediaStored(bytes: Int, kind: String) {
        guard bytes > 0 else { return }
        CoreMetrics.Counter(
            label: Self.mediaBytes, dimensions: [("process", process), ("kind", kind)], factory: factory
        ).increment(by: bytes)
    }

    /// One attempt of the mail sender: `outcome` is sent, retry, failed or cancelled.
    package func mailAttempt(outcome: String) {
        CoreMetrics.Counter(
            label: Self.mails, dimensions: [("process", process), ("outcome", outcome)], factory: factory
        )
        .increment()
    }

    /// The Prometheus text exposition of everything recorded so far.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// The provider calls PromptReel makes.
package enum ProviderEndpoint: String, Sendable {
    case create, retrieve, list, delete, remix, download, chat
}

/// Nanoseconds on the monotonic clock (a vDSO call: cheap on the request path).
package func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// swift-metrics' factory over the Prometheus registry, adding each family's HELP line and buckets
/// (swift-prometheus's own factory leaves HELP empty).
package struct HelpfulMetricsFactory: MetricsFactory {
    package let registry: PrometheusCollectorRegistry
    private let fallback: PrometheusMetricsFactory

    package init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        fallback = PrometheusMetricsFactory(registry: registry)
    }

    package static let help: [String: String] = [
        ProcessMetrics.requests: "Requests answered by this process, by route (the route's name) and HTTP status.",
        ProcessMetrics.requestDuration: "Time to answer a request in this process, by route.",
        ProcessMetrics.providerCalls:
            "Calls to the video and chat providers, by provider, endpoint and outcome (ok or the error class).",
        ProcessMetrics.providerDuration: "Latency of provider calls, by endpoint (a download includes its transfer).",
        ProcessMetrics.mediaBytes: "Bytes of media written to the media directory, by kind.",
        ProcessMetrics.mails:
            "Mails the sender tried to hand to the SMTP relay, by outcome (sent, retry, failed, cancelled).",
    ]

    package static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "")
    }

    package static let requestBuckets: [Duration] = [
        0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
    ]
    .map { Duration.nanoseconds(Int64($0 * 1e9)) }
    package static let providerBuckets: [Duration] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }

    package func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    package func makeFloatingPointCounter(label: String, dimensions: [(String, String)])
        -> any FloatingPointCounterHandler
    {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    package func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        fallback.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }

    package func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        fallback.makeMeter(label: label, dimensions: dimensions)
    }

    package func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = label == ProcessMetrics.requestDuration ? Self.requestBuckets : Self.providerBuckets
        return registry.makeDurationHistogram(descriptor: Self.descriptor(label), labels: dimensions, buckets: buckets)
    }

    package func destroyCounter(_ handler: any CounterHandler) { fallback.destroyCounter(handler) }
    package func destroyMeter(_ handler: any MeterHandler) { fallback.destroyMeter(handler) }
    package func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        fallback.destroyFloatingPointCounter(handler)
    }
    package func destroyRecorder(_ handler: any RecorderHandler) { fallback.destroyRecorder(handler) }
    package func destroyTimer(_ handler: any TimerHandler) { fallback.destroyTimer(handler) }
}
