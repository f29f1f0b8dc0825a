import Hummingbird
import NIOCore

/// The request context of the front proxy and the node API: Hummingbird's
/// basics plus the client's address (the proxy's `X-Forwarded-For`, the
/// relay's rate limit).
struct ClientRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connected client.
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
