import BatonCore
import BatonSystem
import Foundation

/// An `ObjectStore` in an S3-compatible bucket (AWS S3, R2, Tigris, B2,
/// MinIO…): SigV4-signed HTTP requests (AsyncHTTPClient, `S3HTTPClient`)
/// with timeouts and retries; a cancelled task cancels its request.
///
/// Conditional writes map to `If-None-Match: *` and `If-Match`; a 412 is
/// `preconditionFailed`. A conditional put that is retried after an attempt
/// whose outcome is unknown (connection lost, 5xx) and then fails its
/// condition is resolved by reading the object back: if it holds exactly
/// what was sent, the earlier attempt won and the put succeeds.
public final class S3Store: ObjectStore, @unchecked Sendable {
    /// Where the bucket is and how to sign.
    public let configuration: S3Configuration
    /// Request counters.
    public let metrics: StoreMetrics
    let signer: SigV4Signer

    /// A store for `configuration`.
    public init(configuration: S3Configuration, metrics: StoreMetrics = StoreMetrics()) {
        self.configuration = configuration
        self.metrics = metrics
        signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
    }

    /// `s3://bucket/prefix`.
    public var displayURL: String { configuration.displayURL }

    // MARK: ObjectStore

    /// Lists with ListObjectsV2, following continuation tokens.
    public func list(prefix: String, startAfter: String?) async throws -> [ObjectInfo] {
        let fullPrefix = configuration.objectKey(prefix)
        let strip = configuration.prefix.isEmpty ? 0 : configuration.prefix.count + 1
        var results: [ObjectInfo] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", fullPrefix)]
            if let token {
                query.append(("continuation-token", token))
            } else if let startAfter {
                query.append(("start-after", configuration.objectKey(startAfter)))
            }
            let response = try await send(S3Request(method: "GET", objectKey: nil, query: query, kind: "list"))
            let xml = String(decoding: response.body, as: UTF8.self)
            for block in S3XML.values("Contents", in: xml) {
                guard let key = S3XML.value("Key", in: block), key.count >= strip else { continue }
                results.append(
                    ObjectInfo(
                        key: String(key.dropFirst(strip)), size: Int64(S3XML.value("Size", in: block) ?? "0") ?? 0,
                        etag: (S3XML.value("ETag", in: block) ?? "").replacingQuotes(),
                        modifiedMilliseconds: S3Store.parseISOTime(S3XML.value("LastModified", in: block) ?? "")))
            }
            token = S3XML.value("IsTruncated", in: xml) == "true" ? S3XML.value("NextContinuationToken", in: xml) : nil
        } while token != nil
        return results.sorted { $0.key < $1.key }
    }

    /// One delimiter listing (more pages only past 1,000 folders).
    public func folders(under prefix: String) async throws -> [String] {
        let fullPrefix = configuration.objectKey(prefix)
        var names: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", fullPrefix), ("delimiter", "/")]
            if let token { query.append(("continuation-token", token)) }
            let response = try await send(S3Request(method: "GET", objectKey: nil, query: query, kind: "list"))
            let xml = String(decoding: response.body, as: UTF8.self)
            for block in S3XML.values("CommonPrefixes", in: xml) {
                guard let folder = S3XML.value("Prefix", in: block), folder.hasPrefix(fullPrefix) else { continue }
                names.append(String(folder.dropFirst(fullPrefix.count).dropLast(folder.hasSuffix("/") ? 1 : 0)))
            }
            token = S3XML.value("IsTruncated", in: xml) == "true" ? S3XML.value("NextContinuationToken", in: xml) : nil
        } while token != nil
        return names.sorted()
    }

    /// Reads the whole object.
    public func get(_ key: String) async throws -> [UInt8] {
        try ObjectKey.validate(key)
        return try await send(S3Request(method: "GET", objectKey: configuration.objectKey(key), kind: "get")).body
    }

    /// One GET: the body, its ETag and the `Date` it was answered at.
    public func fetch(_ key: String) async throws -> FetchedObject? {
        let response: S3Response
        do {
            response = try await send(S3Request(method: "GET", objectKey: configuration.objectKey(key), kind: "get"))
        } catch let error as BatonError where error.code == .notFound {
            return nil
        }
        guard let etag = response.etag else {
            throw BatonError(.io, "\(displayURL)/\(key): the server sent no ETag")
        }
        var time = response.headers["date"].flatMap(S3Store.parseHTTPDate)
        if time == nil { time = try await storeTimeMilliseconds() }
        return FetchedObject(bytes: response.body, etag: etag, storeTimeMilliseconds: time ?? 0)
    }

    /// Reads a byte range.
    public func get(_ key: String, range: Range<Int64>) async throws -> [UInt8] {
        guard !range.isEmpty else { return [] }
        let request = S3Request(
            method: "GET", objectKey: configuration.objectKey(key),
            headers: [("range", "bytes=\(range.lowerBound)-\(range.upperBound - 1)")], kind: "get")
        return try await send(request).body
    }

    /// Downloads the object into `scratchDirectory` (a temporary file the caller removes).
    public func localCopy(_ key: String, scratchDirectory: String) async throws -> (path: String, isTemporary: Bool) {
        let path = FileSystem.temporaryPath(next: scratchDirectory + "/download")
        do {
            let file = try LocalFile(path, .createNew)
            var offset: Int64 = 0
            let chunk = Int64(configuration.partSize)
            while true {
                let bytes: [UInt8]
                do {
                    bytes = try await get(key, range: offset..<(offset + chunk))
                } catch is S3RangeNotSatisfiable {
                    // The end: an empty object, or one whose size is a multiple of the part size.
                    break
                }
                try file.write(bytes, at: offset)
                offset += Int64(bytes.count)
                if Int64(bytes.count) < chunk { break }
            }
            return (path, true)
        } catch {
            try? FileSystem.remove(path)
            throw error
        }
    }

    /// Puts bytes, honoring the condition; resolves ambiguous retries by reading back.
    @discardableResult
    public func put(_ key: String, data: [UInt8], condition: PutCondition) async throws -> String {
        try ObjectKey.validate(key)
        var headers: [(String, String)] = []
        switch condition {
        case .none: break
        case .ifNoneMatch: headers.append(("if-none-match", "*"))
        case .ifMatch(let etag): headers.append(("if-match", "\"\(etag)\""))
        }
        let request = S3Request(
            method: "PUT", objectKey: configuration.objectKey(key), headers: headers, body: .bytes(data), kind: "put")
        do {
            let response = try await send(request, conditional: condition != .none)
            return response.etag ?? ""
        } catch let error as S3AmbiguousPreconditionFailure {
            // An earlier attempt may have written the object before its answer was lost.
            if let stored = try? await send(
                S3Request(method: "GET", objectKey: configuration.objectKey(key), kind: "get")),
                stored.body == data
            {
                return stored.etag ?? ""
            }
            throw error.underlying
        }
    }

    /// Uploads a local file: one PUT, or a multipart upload above the threshold.
    @discardableResult
    public func upload(_ key: String, fromFile path: String, condition: PutCondition) async throws -> String {
        try ObjectKey.validate(key)
        let file = try LocalFile(path, .read)
        let size = try file.size()
        if size > configuration.multipartThreshold {
            return try await multipartUpload(key, file: file, size: size)
        }
        return try await put(key, data: try file.read(at: 0, count: Int(size)), condition: condition)
    }

    /// Deletes the object (only while its ETag matches, when given).
    public func delete(_ key: String, ifMatch: String?) async throws {
        try ObjectKey.validate(key)
        let headers = ifMatch.map { [("if-match", "\"\($0)\"")] } ?? []
        do {
            _ = try await send(
                S3Request(method: "DELETE", objectKey: configuration.objectKey(key), headers: headers, kind: "delete"),
                conditional: ifMatch != nil)
        } catch let error as BatonError where error.code == .notFound {
            return
        } catch let error as S3AmbiguousPreconditionFailure {
            // A retried conditional delete that finds nothing: the first attempt deleted it.
            if (try? await get(key, range: 0..<1)) == nil { return }
            throw error.underlying
        }
    }

    /// The store's clock: the `Date` header of a cheap request, in ms since the epoch.
    public func storeTimeMilliseconds() async throws -> Int64 {
        let response = try await send(
            S3Request(
                method: "GET", objectKey: nil,
                query: [("list-type", "2"), ("max-keys", "0"), ("prefix", configuration.objectKey("lease"))],
                kind: "time"))
        guard let date = response.headers["date"], let milliseconds = S3Store.parseHTTPDate(date) else {
            throw BatonError(.io, "\(displayURL): the server sent no usable Date header")
        }
        return milliseconds
    }

    // MARK: Time formats

    static func parseISOTime(_ text: String) -> Int64 {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return Int64(date.timeIntervalSince1970 * 1000) }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970 * 1000) } ?? 0
    }

    static func parseHTTPDate(_ text: String) -> Int64? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text).map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    static func amzDate(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}

/// A conditional request failed its condition after an earlier attempt's
/// outcome was unknown; the caller resolves it by reading back.
struct S3AmbiguousPreconditionFailure: Error {
    var underlying: BatonError
}
