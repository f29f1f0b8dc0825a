import BatonCore
import Foundation

/// Where and how to reach one S3-compatible bucket, from the store URL and
/// the standard AWS environment variables.
public struct S3Configuration: Sendable {
    /// The bucket.
    public var bucket: String
    /// Key prefix inside the bucket (no leading or trailing slash).
    public var prefix: String
    /// Region used in signatures.
    public var region: String
    /// `http` or `https`.
    public var scheme: String
    /// Host (and `:port` when not the default) requests go to.
    public var host: String
    /// Bucket in the path (`/bucket/key`) rather than in the host name.
    public var pathStyle: Bool
    /// Signing credentials.
    public var credentials: SigV4Signer.Credentials
    /// Longest wait for any one request, in seconds.
    public var requestTimeoutSeconds: Double = 30
    /// Retries of failed requests.
    public var retry = RetryPolicy()
    /// Objects larger than this are uploaded in parts.
    public var multipartThreshold: Int64 = 64 * 1024 * 1024
    /// Size of each part of a multipart upload.
    public var partSize = 16 * 1024 * 1024
    /// Parts uploaded at once (memory is about this times `partSize`).
    public var partsInFlight = 2

    /// Reads the URL's query (`endpoint`, `region`, `forcePathStyle`,
    /// `timeout`, `multipartThresholdMiB`, `partSizeMiB`) and the environment (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
    /// `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`).
    public init(bucket: String, prefix: String, query: [String: String], environment: [String: String]) throws {
        let url = "s3://\(bucket)\(prefix.isEmpty ? "" : "/" + prefix)"
        self.bucket = bucket
        self.prefix = prefix
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty,
            let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty
        else {
            throw BatonError(.usage, "\(url): no credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        credentials = SigV4Signer.Credentials(
            accessKeyID: key, secretAccessKey: secret,
            sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 })
        region = query["region"] ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let endpoint =
            query["endpoint"].map { $0.removingPercentEncoding ?? $0 }
            ?? environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]
        if let endpoint {
            guard let parsed = URLComponents(string: endpoint), let scheme = parsed.scheme,
                scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
            else {
                throw BatonError(.usage, "\(url): endpoint \(endpoint) is not an http(s)://host[:port] URL")
            }
            self.scheme = scheme
            self.host = parsed.port.map { "\(host):\($0)" } ?? host
            pathStyle = query["forcePathStyle"].map { $0 != "false" } ?? true
        } else {
            scheme = "https"
            host = "s3.\(region).amazonaws.com"
            pathStyle = query["forcePathStyle"] == "true"
        }
        if !pathStyle { host = "\(bucket).\(host)" }
        for (name, minimum) in [("multipartThresholdMiB", 5), ("partSizeMiB", 5)] {
            guard let text = query[name] else { continue }
            guard let mebibytes = Int(text), mebibytes >= minimum else {
                throw BatonError(.usage, "\(url): \(name)=\(text) must be a whole number of MiB, at least \(minimum)")
            }
            if name == "partSizeMiB" { partSize = mebibytes << 20 } else { multipartThreshold = Int64(mebibytes) << 20 }
        }
        if let timeout = query["timeout"] {
            guard let seconds = Double(timeout.hasSuffix("s") ? String(timeout.dropLast()) : timeout), seconds > 0
            else {
                throw BatonError(.usage, "\(url): timeout=\(timeout) is not a number of seconds")
            }
            requestTimeoutSeconds = seconds
        }
    }

    /// The URL for messages.
    public var displayURL: String { "s3://\(bucket)\(prefix.isEmpty ? "" : "/" + prefix)" }

    /// The full object key for a key relative to the prefix.
    public func objectKey(_ key: String) -> String { prefix.isEmpty ? key : prefix + "/" + key }

    /// The encoded request path for an object key (nil: the bucket itself).
    public func path(forObjectKey key: String?) -> String {
        let encoded = key.map { SigV4Signer.uriEncode($0, encodeSlash: false) }
        if pathStyle { return "/\(bucket)" + (encoded.map { "/" + $0 } ?? "") }
        return "/" + (encoded ?? "")
    }
}
