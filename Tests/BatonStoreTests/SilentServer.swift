import BatonCore

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback port that takes connections (the kernel completes them into
/// the listen backlog) and never answers: a store that went silent, as
/// behind a partition that drops packets.
final class SilentServer {
    let port: Int
    private let descriptor: Int32

    init() throws {
        (descriptor, port) = try SilentServer.bindLoopback(listening: true)
    }

    func stop() { close(descriptor) }

    /// A TCP socket bound to a free loopback port (listening when asked),
    /// with that port; the caller closes it.
    static func bindLoopback(listening: Bool) throws -> (descriptor: Int32, port: Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(descriptor, pointer, length) == 0, !listening || listen(descriptor, 16) == 0 else {
                    return -1
                }
                return getsockname(descriptor, pointer, &length)
            }
        }
        guard bound == 0 else {
            close(descriptor)
            throw BatonError(.io, "cannot bind a loopback port")
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }
}
