import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// A Hummingbird child channel that speaks TLS before HTTP/1.1, taking the
/// node's TLS context at each new connection (so a reloaded certificate
/// serves the next connection), and answers a plain-HTTP request on the
/// TLS port with a 400 that says so instead of a failed handshake.
struct TLSServerChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    /// Which listener: the node API (client certificates with
    /// `clientAuth: require`) or the front proxy (never).
    enum Listener: Sendable {
        case api
        case proxy
    }

    let base: HTTP1Channel
    let tls: NodeTLS
    let listener: Listener

    /// HTTP/1.1 for `responder`, behind TLS.
    init(responder: @escaping HTTPChannelHandler.Responder, tls: NodeTLS, listener: Listener) {
        base = HTTP1Channel(responder: responder)
        self.tls = tls
        self.listener = listener
    }

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let material = tls.material
        let context = listener == .api ? material.apiContext : material.proxyContext
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(PlainHTTPRefusal())
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 behind the node's TLS (`TLSServerChannel`).
    static func tls(_ tls: NodeTLS, listener: TLSServerChannel.Listener) -> HTTPServerBuilder {
        .init { responder in TLSServerChannel(responder: responder, tls: tls, listener: listener) }
    }
}
