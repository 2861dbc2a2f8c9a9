// Provider clients wrapped so every call is counted by endpoint and outcome and timed, whichever
// engine makes it. The outcome is `ok` or the error's class (`VideoAPIError.Kind`): a closed set.

import VideoAPI

struct MeasuredVideoProvider: VideoProvider {
    let inner: any VideoProvider
    let metrics: ProcessMetrics

    init(_ inner: any VideoProvider, metrics: ProcessMetrics = .shared) {
        self.inner = inner
        self.metrics = metrics
    }

    private func measure<T>(_ endpoint: ProviderEndpoint, _ call: () throws(VideoAPIError) -> T) throws(VideoAPIError) -> T {
        let started = monotonicNanoseconds()
        do {
            let value = try call()
            metrics.providerCall(endpoint, outcome: "ok", nanoseconds: monotonicNanoseconds() - started)
            return value
        } catch {
            metrics.providerCall(endpoint, outcome: error.kind.rawValue, nanoseconds: monotonicNanoseconds() - started)
            throw error
        }
    }

    func create(_ params: CreateVideo) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        try measure(.create) { () throws(VideoAPIError) in try inner.create(params) }
    }

    func retrieve(_ id: String) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        try measure(.retrieve) { () throws(VideoAPIError) in try inner.retrieve(id) }
    }

    func list(limit: Int, after: String?) throws(VideoAPIError) -> APIResult<VideoList> {
        try measure(.list) { () throws(VideoAPIError) in try inner.list(limit: limit, after: after) }
    }

    func delete(_ id: String) throws(VideoAPIError) -> APIResult<Bool> {
        try measure(.delete) { () throws(VideoAPIError) in try inner.delete(id) }
    }

    func remix(_ id: String, prompt: String, idempotencyKey: String?) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        try measure(.remix) { () throws(VideoAPIError) in try inner.remix(id, prompt: prompt, idempotencyKey: idempotencyKey) }
    }

    func download(_ id: String, variant: ContentVariant, to path: String, maxBytes: Int) throws(VideoAPIError) -> APIResult<Download> {
        try measure(.download) { () throws(VideoAPIError) in try inner.download(id, variant: variant, to: path, maxBytes: maxBytes) }
    }
}

struct MeasuredChatProvider: ChatProvider {
    let inner: any ChatProvider
    let metrics: ProcessMetrics

    init(_ inner: any ChatProvider, metrics: ProcessMetrics = .shared) {
        self.inner = inner
        self.metrics = metrics
    }

    func complete(_ request: ChatRequest) throws(VideoAPIError) -> ChatCompletion {
        let started = monotonicNanoseconds()
        do {
            let answer = try inner.complete(request)
            metrics.providerCall(.chat, outcome: "ok", nanoseconds: monotonicNanoseconds() - started)
            return answer
        } catch {
            metrics.providerCall(.chat, outcome: error.kind.rawValue, nanoseconds: monotonicNanoseconds() - started)
            throw error
        }
    }
}
