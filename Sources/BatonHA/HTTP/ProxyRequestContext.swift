import Hummingbird
import NIOCore

/// The front proxy's request context: Hummingbird's basics plus the
/// client's address (for `X-Forwarded-For`).
struct ProxyRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The connected client.
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}
