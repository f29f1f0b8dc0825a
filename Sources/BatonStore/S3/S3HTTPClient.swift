import AsyncHTTPClient
import BatonCore
import NIOConcurrencyHelpers
import NIOCore

/// The HTTP clients S3 stores send with (AsyncHTTPClient, one per read
/// timeout, shared by every store of the process and never shut down).
///
/// A request is cancelled with the task that sent it: a holder that fences
/// itself or a node that shuts down stops its store requests at once
/// instead of waiting out a timeout on a connection nobody answers.
enum S3HTTPClient {
    private static let clients = NIOLockedValueBox<[Int64: HTTPClient]>([:])

    /// The client whose idle read timeout is `readTimeoutMilliseconds`: a
    /// connection on which nothing arrives for that long fails the request
    /// (a partition that drops packets is noticed within it).
    static func client(readTimeoutMilliseconds: Int64) -> HTTPClient {
        clients.withLockedValue { clients in
            if let client = clients[readTimeoutMilliseconds] { return client }
            var pool = HTTPClient.Configuration.ConnectionPool(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16)
            // A refused connection fails the request at once; the store's own retry policy
            // (with backoff, counted in its metrics) decides whether to try again.
            pool.retryConnectionEstablishment = false
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: .init(
                    redirectConfiguration: .disallow,
                    timeout: .init(
                        connect: .milliseconds(min(readTimeoutMilliseconds, 10_000)),
                        read: .milliseconds(readTimeoutMilliseconds)),
                    connectionPool: pool,
                    decompression: .disabled))
            clients[readTimeoutMilliseconds] = client
            return client
        }
    }
}
