// What the generation engine needs from a video provider. `VideoAPIClient` speaks it over HTTP; the
// engine's tests script it, so every transition is tested without a socket.

public protocol VideoProvider {
    /// Starts a paid job. Implementations must not resend on their own: the engine decides.
    func create(_ params: CreateVideo) throws(VideoAPIError) -> APIResult<ProviderVideo>
    func retrieve(_ id: String) throws(VideoAPIError) -> APIResult<ProviderVideo>
    func list(limit: Int, after: String?) throws(VideoAPIError) -> APIResult<VideoList>
    func delete(_ id: String) throws(VideoAPIError) -> APIResult<Bool>
    /// Starts a paid job from a finished one; same rule as `create`. `idempotencyKey` as on a create.
    func remix(_ id: String, prompt: String, idempotencyKey: String?) throws(VideoAPIError) -> APIResult<ProviderVideo>
    /// Streams one asset to `path`, refusing more than `maxBytes`.
    func download(_ id: String, variant: ContentVariant, to path: String, maxBytes: Int) throws(VideoAPIError)
        -> APIResult<Download>
}

extension VideoAPIClient {
    /// The engine's create: no retries inside the client, since the engine requeues what was surely
    /// not taken and never resends the rest.
    public func create(_ params: CreateVideo) throws(VideoAPIError) -> APIResult<ProviderVideo> {
        try create(params, maxRetries: 0)
    }

    /// Like `create(_:)`: one attempt; the engine decides what happens next.
    public func remix(_ id: String, prompt: String, idempotencyKey: String?) throws(VideoAPIError) -> APIResult<
        ProviderVideo
    > {
        try remix(id, prompt: prompt, idempotencyKey: idempotencyKey, maxRetries: 0)
    }

    public func list(limit: Int, after: String?) throws(VideoAPIError) -> APIResult<VideoList> {
        try list(limit: limit, after: after, order: "desc")
    }
}
