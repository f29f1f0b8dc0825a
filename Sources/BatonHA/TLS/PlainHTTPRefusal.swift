import NIOCore

/// The first handler of a TLS listener: a connection whose first byte is
/// not a TLS handshake record (0x16) is a client speaking plain HTTP to the
/// TLS port. It gets a 400 naming the mistake and is closed, before the TLS
/// handler sees it; a TLS connection passes through and this handler leaves
/// the pipeline.
final class PlainHTTPRefusal: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The first byte of every TLS connection: a handshake record.
    private static let handshakeRecord: UInt8 = 0x16
    /// The answer was sent: the rest of the plain request is dropped.
    private var refused = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        if first == Self.handshakeRecord {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
            return
        }
        refused = true
        let text = "This port speaks HTTPS (TLS): use an https:// URL.\n"
        let answer =
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: \(text.utf8.count)\r\n"
            + "Connection: close\r\n\r\n" + text
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: answer))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
