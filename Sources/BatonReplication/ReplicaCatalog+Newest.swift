import BatonCore
import BatonStore

extension ReplicaCatalog {
    /// What a replica's newest state is made of, found without listing its
    /// whole history: the snapshots, then each compaction level from the
    /// highest down and level 0 last, each listed only from where the live
    /// files above it reach (S3's `start-after`). A replica keeps every
    /// level-0 file for its retention window, tens of thousands of keys,
    /// while its newest state needs the few after the last compactions.
    /// Fencing needs every epoch's start, which the `epochs/` markers give;
    /// a replica with files of an unmarked epoch (written before markers) is
    /// listed whole. Headers are read for every file returned.
    public struct Newest: Sendable {
        /// The files listed (not fenced), with their headers.
        public var files: [LTXFileInfo]
        /// Where each marked epoch starts.
        public var epochStarts: [UInt64: UInt64]
        /// Whether the whole replica was listed.
        public var listedWhole: Bool
        /// Why the partial listing could not be used, when the whole was listed.
        public var wholeListingReason: String?

        /// The files a deposed holder did not write too late.
        public var live: [LTXFileInfo] { RestorePlan.fenced(files, epochStarts: epochStarts) }
    }

    /// The files a restore of the newest state (and a new holder) needs; see
    /// `Newest`. `markers`: the `epochs/` markers, when already read; `width`:
    /// header reads in flight.
    public static func newest(
        in store: any ObjectStore, markers: [UInt64: UInt64]? = nil, width: Int = headerReadWidth
    ) async throws -> Newest {
        var starts = markers ?? [:]
        if markers == nil { starts = try await EpochMarkers.load(from: store) }
        guard !starts.isEmpty else {
            var newest = try await whole(in: store, epochStarts: starts, width: width)
            newest.wholeListingReason = "the replica has no \(EpochStart.prefix) markers"
            return newest
        }
        var refusal: PartialListingRefused
        switch try await levelByLevel(in: store, epochStarts: starts, width: width) {
        case .success(let partial):
            return Newest(files: partial, epochStarts: starts, listedWhole: false)
        case .failure(let reason):
            refusal = reason
        }
        // A new holder marks its epoch before its first upload, so a file of an epoch the markers
        // did not name was most often uploaded after they were read: read them once more.
        if let epoch = refusal.unmarkedEpoch {
            let again = try await EpochMarkers.load(from: store)
            if again[epoch] != nil {
                starts = again.merging(starts, uniquingKeysWith: min)
                switch try await levelByLevel(in: store, epochStarts: starts, width: width) {
                case .success(let partial):
                    return Newest(files: partial, epochStarts: starts, listedWhole: false)
                case .failure(let reason):
                    refusal = reason
                }
            }
        }
        var newest = try await whole(in: store, epochStarts: starts, width: width)
        newest.wholeListingReason = refusal.message
        return newest
    }

    /// Why a partial listing cannot stand for the whole.
    struct PartialListingRefused: Error {
        var message: String
        /// The epoch of a listed file that has no marker, when that is why.
        var unmarkedEpoch: UInt64?
    }

    /// Every file, with headers, and the markers given.
    static func whole(in store: any ObjectStore, epochStarts: [UInt64: UInt64], width: Int = headerReadWidth)
        async throws -> Newest
    {
        Newest(
            files: try await files(in: store, headers: true, width: width), epochStarts: epochStarts,
            listedWhole: true)
    }

    /// The partial listing; refused when a listed file's epoch is not marked
    /// or no live snapshot is listed (the whole listing decides then).
    private static func levelByLevel(in store: any ObjectStore, epochStarts: [UInt64: UInt64], width: Int)
        async throws -> Result<[LTXFileInfo], PartialListingRefused>
    {
        // One request says which levels hold files: most of levels 1–8 are empty, and each listing
        // of one costs a request (on moto, a scan of the whole bucket).
        let present = Set(try await store.folders(under: "ltx/").compactMap(Int.init))
        var listed =
            present.contains(LTXFileInfo.snapshotLevel)
            ? try await level(LTXFileInfo.snapshotLevel, after: nil, in: store, width: width) : []
        if let unmarked = unmarked(listed, epochStarts) { return .failure(unmarked) }
        guard let base = RestorePlan.fenced(listed, epochStarts: epochStarts).map(\.maxTXID).max() else {
            return .failure(.init(message: "no snapshot of a live epoch is in ltx/\(LTXFileInfo.snapshotLevel)/"))
        }
        var reach = base
        for number in (0..<LTXFileInfo.snapshotLevel).reversed() where present.contains(number) {
            let found = try await level(number, after: reach, in: store, width: width)
            if let unmarked = unmarked(found, epochStarts) { return .failure(unmarked) }
            listed += found
            reach = RestorePlan.reach(from: reach, over: RestorePlan.fenced(found, epochStarts: epochStarts))
        }
        return .success(listed.sorted())
    }

    /// One level's files whose first transaction is at or after `after`, with headers.
    private static func level(_ number: Int, after: UInt64?, in store: any ObjectStore, width: Int) async throws
        -> [LTXFileInfo]
    {
        let prefix = "ltx/\(number)/"
        var files: [LTXFileInfo] = []
        var etags: [String: String] = [:]
        for object in try await store.list(prefix: prefix, startAfter: after.map { prefix + LTXFileInfo.hex($0) }) {
            guard let info = LTXFileInfo(key: object.key, size: object.size) else { continue }
            files.append(info)
            etags[info.key] = object.etag
        }
        let cache = ReplicaHeaderCache.shared
        let unknown = files.filter { file in
            etags[file.key].map { cache.entry(store: store.displayURL, key: file.key, etag: $0) == nil } ?? true
        }.count
        if unknown >= PublishedHeaders.worthReading {
            // Only a cache: a store without segments (or refusing them) costs the header reads below.
            try? await PublishedHeaders.load(from: store, etags: nil)
        }
        return try await withHeaders(files, in: store, etags: etags, width: width)
    }

    /// A listed file whose epoch (beyond 0) is not marked, as a refusal.
    private static func unmarked(_ files: [LTXFileInfo], _ epochStarts: [UInt64: UInt64]) -> PartialListingRefused? {
        guard let file = files.first(where: { file in file.epoch.map { $0 != 0 && epochStarts[$0] == nil } ?? false })
        else { return nil }
        return .init(
            message: "\(file.key) is of epoch \(file.epoch ?? 0), which has no \(EpochStart.prefix) marker",
            unmarkedEpoch: file.epoch)
    }
}
