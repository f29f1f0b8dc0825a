/// An object read whole with what a conditional write on it needs: its
/// ETag, and the store's clock when it answered.
public struct FetchedObject: Sendable {
    /// The object's bytes.
    public var bytes: [UInt8]
    /// Its ETag; a `put(..., condition: .ifMatch(etag))` replaces exactly what
    /// was read. Never newer than `bytes` (a store that cannot read both at
    /// once reads the ETag first), so a stale pair fails the condition.
    public var etag: String
    /// The store's time when it answered, ms since the epoch.
    public var storeTimeMilliseconds: Int64

    /// An object read from its parts.
    public init(bytes: [UInt8], etag: String, storeTimeMilliseconds: Int64) {
        self.bytes = bytes
        self.etag = etag
        self.storeTimeMilliseconds = storeTimeMilliseconds
    }
}
