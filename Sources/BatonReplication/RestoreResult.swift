/// What a restore produced.
public struct RestoreResult: Sendable {
    /// The transaction the database is at.
    public var txid: UInt64
    /// Files applied.
    public var filesApplied: Int
    /// Bytes of LTX files read.
    public var bytesRead: Int64
    /// The database checksum of the result.
    public var checksum: UInt64
    /// Database size in pages.
    public var pageCount: UInt32
    /// Page size.
    public var pageSize: UInt32
}
