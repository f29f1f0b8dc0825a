import BatonCore
import BatonHA
import Foundation

/// Small HTTP requests from the CLI to a node API.
enum NodeControl {
    /// The operator's token from `BATON_TOKEN`.
    static func token() -> String? {
        ProcessInfo.processInfo.environment["BATON_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Sends a request; throws a readable error when the node cannot be reached.
    static func send(
        _ method: String, _ url: String, token: String?, body: Data? = nil,
        tls: ControlClient.TLSFiles = .init(ca: nil, cert: nil, key: nil)
    )
        async throws -> (status: Int, body: [UInt8])
    {
        guard URL(string: url)?.host != nil else { throw ValidationErrorText("not a URL: \(url)") }
        do {
            return try await ControlClient.send(
                method, url, token: token, body: body.map { Array($0) }, tls: tls)
        } catch let error as BatonError {
            throw ValidationErrorText(error.message)
        }
    }
}
