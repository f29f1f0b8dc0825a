import BatonCore

/// The one protocol every storage backend implements: a flat key space with
/// list, get, put (optionally conditional) and delete. Keys are relative to
/// the replica's prefix and use `/` as separator.
public protocol ObjectStore: Sendable {
    /// The store's URL, for messages.
    var displayURL: String { get }

    /// Every object whose key starts with `prefix` and, when `startAfter` is
    /// given, sorts after it (S3's `start-after`), in key order.
    func list(prefix: String, startAfter: String?) async throws -> [ObjectInfo]

    /// The names of the folders directly under `prefix` (which ends in
    /// `/`): `ltx/` → `["0", "1", "9"]`, in order. S3 answers it in one
    /// request (a `delimiter` listing) however many objects lie below.
    func folders(under prefix: String) async throws -> [String]

    /// The whole object; throws `notFound` if it does not exist.
    func get(_ key: String) async throws -> [UInt8]

    /// Bytes `range` of the object.
    func get(_ key: String, range: Range<Int64>) async throws -> [UInt8]

    /// The last `count` bytes of the object, whose listed size is
    /// `storedSize` (an encrypted store's plaintext is shorter than what it
    /// stores, so a range cannot be computed from a listing).
    func getTail(_ key: String, count: Int, storedSize: Int64) async throws -> [UInt8]

    /// The whole object with its ETag and the store's time; nil if it does
    /// not exist. S3 answers all three in one GET (the lease is read so,
    /// every second or two by every node).
    func fetch(_ key: String) async throws -> FetchedObject?

    /// A local file holding the object: the object itself for local stores,
    /// a downloaded copy in `scratchDirectory` otherwise. The flag says whether
    /// the caller should delete the path when done.
    func localCopy(_ key: String, scratchDirectory: String) async throws -> (path: String, isTemporary: Bool)

    /// Stores `data` under `key` if `condition` holds; returns the new ETag.
    /// A failed condition throws `preconditionFailed`.
    @discardableResult
    func put(_ key: String, data: [UInt8], condition: PutCondition) async throws -> String

    /// Stores the contents of a local file under `key` if `condition` holds
    /// (`.ifNoneMatch`: only if nothing is stored there yet); returns the new
    /// ETag ("" when the store did not say).
    @discardableResult
    func upload(_ key: String, fromFile path: String, condition: PutCondition) async throws -> String

    /// Deletes `key` (if `ifMatch` is given, only while its ETag matches). Missing keys are fine.
    func delete(_ key: String, ifMatch: String?) async throws

    /// The store's current time in ms since the epoch (S3: its `Date` header),
    /// the clock lease expiry is judged by.
    func storeTimeMilliseconds() async throws -> Int64
}

extension ObjectStore {
    /// A range ending at the stored size.
    public func getTail(_ key: String, count: Int, storedSize: Int64) async throws -> [UInt8] {
        try await get(key, range: max(0, storedSize - Int64(count))..<storedSize)
    }

    /// From a whole listing under `prefix` (stores without a cheaper way).
    public func folders(under prefix: String) async throws -> [String] {
        let names = try await list(prefix: prefix).compactMap { object -> String? in
            let rest = object.key.dropFirst(prefix.count)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            return String(rest[..<slash])
        }
        return Array(Set(names)).sorted()
    }

    /// Every object whose key starts with `prefix`, in key order.
    public func list(prefix: String) async throws -> [ObjectInfo] {
        try await list(prefix: prefix, startAfter: nil)
    }

    /// Three requests: a listing for the ETag, the object, the store's clock.
    public func fetch(_ key: String) async throws -> FetchedObject? {
        guard let object = try await list(prefix: key).first(where: { $0.key == key }) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try await get(key)
        } catch let error as BatonError where error.code == .notFound {
            return nil
        }
        return FetchedObject(bytes: bytes, etag: object.etag, storeTimeMilliseconds: try await storeTimeMilliseconds())
    }
}
