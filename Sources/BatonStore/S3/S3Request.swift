/// A request to the S3 endpoint before signing.
struct S3Request: Sendable {
    /// What the body comes from.
    enum Body: Sendable {
        /// No body.
        case none
        /// Bytes in memory.
        case bytes([UInt8])
    }

    /// HTTP method.
    var method: String
    /// Object key relative to the bucket (already prefixed); nil for the bucket.
    var objectKey: String?
    /// Raw query parameters.
    var query: [(String, String)] = []
    /// Extra headers (also signed).
    var headers: [(String, String)] = []
    /// Body.
    var body: Body = .none
    /// Kind, for metrics and messages: `get`, `put`, `list`…
    var kind: String

    /// Size of the body in bytes.
    var bodySize: Int {
        switch body {
        case .none: return 0
        case .bytes(let bytes): return bytes.count
        }
    }
}
