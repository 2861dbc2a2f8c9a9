// This process's own metrics, through swift-metrics into a swift-prometheus registry: requests by route
// and status with their duration, provider calls by endpoint and outcome with their latency, and media
// bytes stored. Every series carries `process` (serve, worker, or --metrics-name). Labels come only from
// closed sets (Route case names, status codes, provider endpoints, error kinds), never from raw paths.
// `MetricsListener` serves them; the instance-wide numbers come from PostgreSQL (`InstanceMetrics`).

import CoreMetrics
import Glibc
import Metrics
public import Prometheus
import Synchronization

public final class ProcessMetrics: Sendable {
    public let process: String
    public let registry: PrometheusCollectorRegistry
    let factory: HelpfulMetricsFactory

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

    // MARK: Names (the README lists them)

    static let requests = "promptreel_http_requests_total"
    static let requestDuration = "promptreel_http_request_duration_seconds"
    static let providerCalls = "promptreel_provider_calls_total"
    static let providerDuration = "promptreel_provider_call_duration_seconds"
    static let mediaBytes = "promptreel_media_stored_bytes_total"

    // MARK: Recording

    /// A request's counter; the App keeps these per thread, so the hot path does no shared lookup (the
    /// counter itself is atomic).
    func requestCounter(route: String, status: Int) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: Self.requests, dimensions: [("process", process), ("route", route), ("status", String(status))], factory: factory)
    }

    func requestTimer(route: String) -> Metrics.Timer {
        Metrics.Timer(label: Self.requestDuration, dimensions: [("process", process), ("route", route)], factory: factory)
    }

    /// One provider call: `outcome` is `ok` or a `VideoAPIError.Kind` raw value.
    func providerCall(_ endpoint: ProviderEndpoint, outcome: String, nanoseconds: Int64) {
        CoreMetrics.Counter(label: Self.providerCalls, dimensions: [("process", process), ("endpoint", endpoint.rawValue), ("outcome", outcome)],
                factory: factory).increment()
        Metrics.Timer(label: Self.providerDuration, dimensions: [("process", process), ("endpoint", endpoint.rawValue)], factory: factory)
            .recordNanoseconds(nanoseconds)
    }

    /// Bytes written to the media directory: `kind` is a media asset (video, thumbnail, spritesheet) or `reference`.
    public func mediaStored(bytes: Int, kind: String) {
        guard bytes > 0 else { return }
        CoreMetrics.Counter(label: Self.mediaBytes, dimensions: [("process", process), ("kind", kind)], factory: factory).increment(by: bytes)
    }

    /// The Prometheus text exposition of everything recorded so far.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// The provider calls PromptReel makes.
enum ProviderEndpoint: String, Sendable {
    case create, retrieve, list, delete, remix, download, chat
}

/// Nanoseconds on the monotonic clock (a vDSO call: cheap on the request path).
func monotonicNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}

/// swift-metrics' factory over the Prometheus registry, adding each family's HELP line and buckets
/// (swift-prometheus's own factory leaves HELP empty).
struct HelpfulMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry
    private let fallback: PrometheusMetricsFactory

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
        fallback = PrometheusMetricsFactory(registry: registry)
    }

    static let help: [String: String] = [
        ProcessMetrics.requests: "Requests answered by this process, by route (the route's name) and HTTP status.",
        ProcessMetrics.requestDuration: "Time to answer a request in this process, by route.",
        ProcessMetrics.providerCalls: "Calls to the video and chat providers, by endpoint and outcome (ok or the error class).",
        ProcessMetrics.providerDuration: "Latency of provider calls, by endpoint (a download includes its transfer).",
        ProcessMetrics.mediaBytes: "Bytes of media written to the media directory, by kind.",
    ]

    static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name] ?? "")
    }

    static let requestBuckets: [Duration] = [0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }
    static let providerBuckets: [Duration] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
        .map { Duration.nanoseconds(Int64($0 * 1e9)) }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: Self.descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        fallback.makeRecorder(label: label, dimensions: dimensions, aggregate: aggregate)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        fallback.makeMeter(label: label, dimensions: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = label == ProcessMetrics.requestDuration ? Self.requestBuckets : Self.providerBuckets
        return registry.makeDurationHistogram(descriptor: Self.descriptor(label), labels: dimensions, buckets: buckets)
    }

    func destroyCounter(_ handler: any CounterHandler) { fallback.destroyCounter(handler) }
    func destroyMeter(_ handler: any MeterHandler) { fallback.destroyMeter(handler) }
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) { fallback.destroyFloatingPointCounter(handler) }
    func destroyRecorder(_ handler: any RecorderHandler) { fallback.destroyRecorder(handler) }
    func destroyTimer(_ handler: any TimerHandler) { fallback.destroyTimer(handler) }
}

extension Route {
    /// The route's case name: the `route` label (bounded, unlike raw paths).
    var metricName: String {
        switch self {
        case .home: "home"
        case .healthz: "healthz"
        case .login: "login"
        case .signup: "signup"
        case .logout: "logout"
        case .dashboard: "dashboard"
        case .projects: "projects"
        case .project: "project"
        case .editProject: "editProject"
        case .deleteProject: "deleteProject"
        case .newVideo: "newVideo"
        case .projectVideos: "projectVideos"
        case .video: "video"
        case .editVideo: "editVideo"
        case .deleteVideo: "deleteVideo"
        case .copyVideo: "copyVideo"
        case .generateVideo: "generateVideo"
        case .latestGeneration: "latestGeneration"
        case .generation: "generation"
        case .cancelGeneration: "cancelGeneration"
        case .remixGeneration: "remixGeneration"
        case .videoTakes: "videoTakes"
        case .videoRoundtables: "videoRoundtables"
        case .roundtable: "roundtable"
        case .roundtableAccept: "roundtableAccept"
        case .roundtableEdit: "roundtableEdit"
        case .roundtableRetry: "roundtableRetry"
        case .videoReferenceImage: "videoReferenceImage"
        case .videoReferenceImageDelete: "videoReferenceImageDelete"
        case .videoReferencePreview: "videoReferencePreview"
        case .account: "account"
        case .tokens: "tokens"
        case .accountPreferences: "accountPreferences"
        case .deleteToken: "deleteToken"
        case .adminUsers: "adminUsers"
        case .adminUser: "adminUser"
        case .adminBudgets: "adminBudgets"
        case .webhooks: "webhooks"
        case .webhook: "webhook"
        case .deleteWebhook: "deleteWebhook"
        case .redeliverWebhook: "redeliverWebhook"
        case .usage: "usage"
        case .usageCSV: "usageCSV"
        case .apiProjects: "apiProjects"
        case .apiProject: "apiProject"
        case .apiProjectVideos: "apiProjectVideos"
        case .apiVideos: "apiVideos"
        case .apiVideo: "apiVideo"
        case .apiVideoCopy: "apiVideoCopy"
        case .apiModels: "apiModels"
        case .apiEstimate: "apiEstimate"
        case .apiGenerate: "apiGenerate"
        case .apiStatus: "apiStatus"
        case .apiVideoGenerations: "apiVideoGenerations"
        case .apiGeneration: "apiGeneration"
        case .apiCancelGeneration: "apiCancelGeneration"
        case .apiReferenceImage: "apiReferenceImage"
        case .apiRemixGeneration: "apiRemixGeneration"
        case .apiVideoRoundtable: "apiVideoRoundtable"
        case .apiVideoRoundtables: "apiVideoRoundtables"
        case .apiRoundtable: "apiRoundtable"
        case .apiRoundtableAccept: "apiRoundtableAccept"
        case .apiRoundtableRetry: "apiRoundtableRetry"
        case .apiWebhooks: "apiWebhooks"
        case .apiWebhook: "apiWebhook"
        case .apiWebhookDeliveries: "apiWebhookDeliveries"
        case .apiRedeliverWebhook: "apiRedeliverWebhook"
        case .apiUsage: "apiUsage"
        case .media: "media"
        case .metrics: "metrics"
        }
    }
}
