import BatonCore
import Foundation

/// A parsed replica URL: `file:///path` or a plain path (the embedded
/// default), or `s3://bucket/prefix?endpoint=…&region=…`.
public enum StoreURL: Equatable, Sendable {
    /// A directory on a local or mounted file system.
    case file(path: String)
    /// An S3-compatible bucket.
    case s3(bucket: String, prefix: String, query: [String: String])

    /// Parses `text`; throws `usage` with an example when it cannot.
    public init(_ text: String) throws {
        if text.hasPrefix("file://") {
            let path = String(text.dropFirst("file://".count))
            guard path.hasPrefix("/") else {
                throw BatonError(.usage, "store URL \(text) must be absolute: file:///path/to/dir")
            }
            self = .file(path: StoreURL.trimmed(path))
        } else if text.hasPrefix("s3://") {
            let rest = text.dropFirst("s3://".count)
            let pathAndQuery = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let parts = pathAndQuery[0].split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard let bucket = parts.first, !bucket.isEmpty else {
                throw BatonError(.usage, "store URL \(text) names no bucket: s3://bucket/prefix")
            }
            var query: [String: String] = [:]
            if pathAndQuery.count == 2 {
                for pair in pathAndQuery[1].split(separator: "&") {
                    let keyValue = pair.split(separator: "=", maxSplits: 1)
                    query[String(keyValue[0])] = keyValue.count == 2 ? String(keyValue[1]) : ""
                }
            }
            self = .s3(
                bucket: String(bucket), prefix: parts.count == 2 ? StoreURL.trimmed(String(parts[1])) : "", query: query
            )
        } else if text.contains("://") {
            throw BatonError(.usage, "unsupported store URL \(text): use file:///path or s3://bucket/prefix")
        } else {
            guard !text.isEmpty else { throw BatonError(.usage, "empty store URL") }
            self = .file(path: StoreURL.trimmed(text))
        }
    }

    private static func trimmed(_ path: String) -> String {
        var result = path
        while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// The URL of the replica of the group member called `name` (its prefix under this one).
    public func appending(_ name: String) -> StoreURL {
        switch self {
        case .file(let path):
            return .file(path: path == "/" ? "/" + name : path + "/" + name)
        case .s3(let bucket, let prefix, let query):
            return .s3(bucket: bucket, prefix: prefix.isEmpty ? name : prefix + "/" + name, query: query)
        }
    }

    /// The replica of `member` in a group whose store this URL names (the
    /// root itself for a single `database:`).
    public func replica(of member: DatabaseGroup.Member, in group: DatabaseGroup) -> StoreURL {
        group.prefixed ? appending(member.name) : self
    }

    /// Opens the store this URL names, counting its requests in `metrics`,
    /// its objects encrypted as `encryption` says (nil: written plain, and
    /// an encrypted one read is an error that says which option is missing).
    public func open(metrics: StoreMetrics = StoreMetrics(), encryption: StoreEncryption? = nil) throws
        -> any ObjectStore
    {
        let store: any ObjectStore
        switch self {
        case .file(let path):
            store = FileStore(root: path, metrics: metrics)
        case .s3(let bucket, let prefix, let query):
            let environment = ProcessInfo.processInfo.environment
            store = S3Store(
                configuration: try S3Configuration(
                    bucket: bucket, prefix: prefix, query: query, environment: environment), metrics: metrics)
        }
        return EncryptedStore(store, encryption: encryption)
    }
}
