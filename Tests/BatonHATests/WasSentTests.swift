import Foundation
import Testing

@testable import BatonHA

#if canImport(Glibc)
    import Glibc
#endif

/// The proxy and the relay send a failed write again only when it cannot
/// have reached the holder: the typed check on real connection failures.
@Suite struct WasSentTests {
    /// A loopback port with a listening socket that accepts and closes at
    /// once (`accepting`), or a port nobody listens on.
    func port(accepting: Bool) throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        if accepting {
            listen(fd, 8)
        } else {
            close(fd)  // bound once, now free: connecting is refused
        }
        return (fd, port)
    }

    @Test func aRefusedConnectionWasNotSent() async throws {
        let (_, port) = try self.port(accepting: false)
        do {
            _ = try await PeerClient(token: nil).send(
                .POST, "http://127.0.0.1:\(port)/write", body: [1], timeoutMilliseconds: 2000)
            Issue.record("the request to a closed port succeeded")
        } catch {
            #expect(!FrontProxy.wasSent(error), "\(error)")
        }
    }

    @Test func aConnectionClosedAfterAcceptingMayHaveBeenSent() async throws {
        let (fd, port) = try self.port(accepting: true)
        defer { close(fd) }
        let closer = Thread {
            let client = accept(fd, nil, nil)
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = read(client, &buffer, buffer.count)  // the request arrived
            close(client)
        }
        closer.start()
        do {
            _ = try await PeerClient(token: nil).send(
                .POST, "http://127.0.0.1:\(port)/write", body: [1], timeoutMilliseconds: 2000)
            Issue.record("the request to a closing server succeeded")
        } catch {
            #expect(FrontProxy.wasSent(error), "\(error)")
        }
    }
}
