import BatonCore
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Small HTTP requests from the CLI to a node API.
enum NodeControl {
    /// The operator's token from `BATON_TOKEN`.
    static func token() -> String? {
        ProcessInfo.processInfo.environment["BATON_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Sends a request; throws a readable error when the node cannot be reached.
    static func send(_ method: String, _ url: String, token: String?, body: Data? = nil) async throws -> (
        status: Int, body: [UInt8]
    ) {
        guard let target = URL(string: url) else { throw ValidationErrorText("not a URL: \(url)") }
        var request = URLRequest(url: target, timeoutInterval: 60)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, Array(data))
        } catch {
            throw ValidationErrorText("cannot reach \(url): \(error.localizedDescription)")
        }
    }
}
