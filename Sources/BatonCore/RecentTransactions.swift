/// What a standby's recent transactions changed: for each, its TXIDs, the
/// pages it wrote and the database checksums before and after it. A standby
/// promoted while the store lags its copy seals the transactions the store
/// lacks into one file from this (the pages' newest contents come from the
/// copy itself) instead of writing a snapshot of the whole database.
///
/// Entries are contiguous: one that does not continue the last starts over.
/// Bounded: past `maxPages` page numbers the oldest entries go.
public struct RecentTransactions: Sendable, Equatable {
    /// One applied transaction (or run of transactions sent as one file).
    public struct Entry: Sendable, Equatable {
        public var minTXID: UInt64
        public var maxTXID: UInt64
        /// The pages it wrote.
        public var pages: [UInt32]
        /// The database checksum before it.
        public var preApplyChecksum: UInt64
        /// The database checksum after it.
        public var postApplyChecksum: UInt64
        /// Its timestamp (ms since the Unix epoch).
        public var timestampMilliseconds: Int64

        public init(
            minTXID: UInt64, maxTXID: UInt64, pages: [UInt32], preApplyChecksum: UInt64, postApplyChecksum: UInt64,
            timestampMilliseconds: Int64
        ) {
            self.minTXID = minTXID
            self.maxTXID = maxTXID
            self.pages = pages
            self.preApplyChecksum = preApplyChecksum
            self.postApplyChecksum = postApplyChecksum
            self.timestampMilliseconds = timestampMilliseconds
        }
    }

    /// The most page numbers kept across entries.
    public let maxPages: Int
    private var entries: [Entry] = []
    private var first = 0
    private var pageCount = 0

    /// An empty record keeping up to `maxPages` page numbers.
    public init(maxPages: Int = 1 << 20) { self.maxPages = maxPages }

    /// The entries kept, oldest first.
    public var kept: ArraySlice<Entry> { entries[first...] }

    /// Records a transaction applied after the last one; one that does not
    /// continue it (a rebuilt or re-adopted copy) starts the record over.
    public mutating func record(_ entry: Entry) {
        if let last = kept.last,
            entry.minTXID != last.maxTXID + 1 || entry.preApplyChecksum != last.postApplyChecksum
        {
            reset()
        }
        entries.append(entry)
        pageCount += entry.pages.count
        while pageCount > maxPages, first < entries.count - 1 {
            pageCount -= entries[first].pages.count
            first += 1
        }
        // Drop what was evicted now and then, not on every record.
        if first > 1024 && first * 2 > entries.count {
            entries.removeFirst(first)
            first = 0
        }
    }

    /// Forgets everything (the copy was replaced).
    public mutating func reset() {
        entries.removeAll(keepingCapacity: true)
        first = 0
        pageCount = 0
    }

    /// The transactions after `after` merged into one entry (the pages any
    /// of them wrote, sorted; the checksum before the first and after the
    /// last); nil when nothing is recorded after it or the record does not
    /// reach back to `after + 1` exactly.
    public func tail(after: UInt64) -> Entry? {
        let recent = kept
        guard let start = recent.firstIndex(where: { $0.minTXID == after + 1 }), let last = recent.last,
            last.maxTXID > after
        else { return nil }
        var pages = Set<UInt32>()
        for entry in recent[start...] { pages.formUnion(entry.pages) }
        return Entry(
            minTXID: after + 1, maxTXID: last.maxTXID, pages: pages.sorted(),
            preApplyChecksum: recent[start].preApplyChecksum, postApplyChecksum: last.postApplyChecksum,
            timestampMilliseconds: last.timestampMilliseconds)
    }
}
