/// What a listing says about one object.
public struct ObjectInfo: Equatable, Sendable {
    /// Key relative to the store's prefix.
    public var key: String
    /// Size in bytes.
    public var size: Int64
    /// Changes whenever the object is replaced.
    public var etag: String
    /// Last modification, milliseconds since the Unix epoch.
    public var modifiedMilliseconds: Int64

    /// An object description from its parts.
    public init(key: String, size: Int64, etag: String, modifiedMilliseconds: Int64) {
        self.key = key
        self.size = size
        self.etag = etag
        self.modifiedMilliseconds = modifiedMilliseconds
    }
}
