import BatonCore

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
    /// Where the time went, in milliseconds (monotonic clock).
    public var timings = Timings()

    /// The phases of a restore.
    public struct Timings: Sendable {
        /// Listing the replica and reading the headers not known yet.
        public var catalogMilliseconds: Int64 = 0
        /// Downloading and applying the planned files, and the fsync.
        public var applyMilliseconds: Int64 = 0
        /// SQLite's check of the result.
        public var checkMilliseconds: Int64 = 0
        /// Why the whole replica was listed (nil: the newest files sufficed, or a
        /// point-in-time target needed the whole history anyway).
        public var wholeListingReason: String?

        /// "listing 1.2 s, files 3.4 s, check 0.5 s", and why the whole replica was listed.
        public var summary: String {
            let phases = [("listing", catalogMilliseconds), ("files", applyMilliseconds), ("check", checkMilliseconds)]
                .map { "\($0.0) \(DurationText.format($0.1))" }.joined(separator: ", ")
            return phases + (wholeListingReason.map { "; listed the whole replica: \($0)" } ?? "")
        }
    }
}
