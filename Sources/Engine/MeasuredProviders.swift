// Provider clients wrapped so every call is counted by endpoint and outcome and timed, whichever
// engine makes it. The outcome is `ok` or the error's class (`VideoAPIError.Kind`): a closed set.

import Core
import Telemetry
import VideoAPI

struct MeasuredVideoProvider: VideoProvider {
    let inner: any VideoProvider
    /// The catalog's name for it (the metrics' `provider` label).
    let provider: String
    let metrics: ProcessMetrics

    init(_ inner: any VideoProvider, provider: String, metrics: ProcessMetrics = .shared) {
        self.inner = inner
        self.provider = provider
        self.metrics = metrics
    }

    func create(_ params: CreateVideo) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        try metrics.measure(.create, provider: provider) { () throws(VideoAPIError) in try inner.create(params) }
    }

    func retrieve(_ id: String) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        try metrics.measure(.retrieve, provider: provider) { () throws(VideoAPIError) in try inner.retrieve(id) }
    }

    func list(limit: Int, after: String?) throws(VideoAPIError) -> APIResult<VideoList> {
        try metrics.measure(.list, provider: provider) { () throws(VideoAPIError) in
            try inner.list(limit: limit, after: after)
        }
    }

    func delete(_ id: String) throws(VideoAPIError) -> APIResult<Bool> {
        try metrics.measure(.delete, provider: provider) { () throws(VideoAPIError) in try inner.delete(id) }
    }

    func remix(_ id: String, prompt: String, idempotencyKey: String?) throws(VideoAPIError) -> APIResult<ProviderVideo>
    {
        try metrics.measure(.remix, provider: provider) { () throws(VideoAPIError) in
            try inner.remix(id, prompt: prompt, idempotencyKey: idempotencyKey)
        }
    }

    func download(_ id: String, variant: ContentVariant, to path: String, maxBytes: Int) throws(VideoAPIError)
        -> APIResult<Download>
    {
        try metrics.measure(.download, provider: provider) { () throws(VideoAPIError) in
            try inner.download(id, variant: variant, to: path, maxBytes: maxBytes)
        }
    }
}

struct MeasuredChatProvider: ChatProvider {
    let inner: any ChatProvider
    let metrics: ProcessMetrics

    init(_ inner: any ChatProvider, metrics: ProcessMetrics = .shared) {
        self.inner = inner
        self.metrics = metrics
    }

    func complete(_ request: ChatRequest) -> ChatCall {
        metrics.measure(
            .chat, provider: "chat", outcome: { ProcessMetrics.outcome($0.result) }, { inner.complete(request) })
    }
}

extension ProcessMetrics {
    /// Times one provider call and counts it by its outcome.
    func measure<T>(_ endpoint: ProviderEndpoint, provider: String, _ call: () throws(VideoAPIError) -> T)
        throws(VideoAPIError) -> T
    {
        try measure(
            endpoint, provider: provider, outcome: Self.outcome, { Result { () throws(VideoAPIError) in try call() } }
        )
        .get()
    }

    /// The same for a call that reports its outcome in its value (a chat call and its unanswered attempts).
    func measure<T>(_ endpoint: ProviderEndpoint, provider: String, outcome: (T) -> String, _ call: () -> T) -> T {
        let started = monotonicNanoseconds()
        let value = call()
        providerCall(
            endpoint, provider: provider, outcome: outcome(value), nanoseconds: monotonicNanoseconds() - started)
        return value
    }

    /// `ok`, or the error's class (`VideoAPIError.Kind`): a closed set of label values.
    static func outcome<T>(_ result: Result<T, VideoAPIError>) -> String {
        switch result {
        case .success: "ok"
        case let .failure(error): error.kind.rawValue
        }
    }
}
