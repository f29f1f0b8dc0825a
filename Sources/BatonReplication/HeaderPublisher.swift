import BatonCore
import BatonStore

/// The holder's side of `PublishedHeaders`: collects the headers of the
/// files it uploads, writes them as a segment when enough wait or the oldest
/// waited long enough, and merges segments of like size (four of a size
/// become one, so a replica with N files has O(log N) segments and each
/// line is rewritten O(log N) times). Failures cost only header reads
/// elsewhere: the first is logged, none fails shipping. One task drives it.
final class HeaderPublisher {
    private let store: any ObjectStore
    private let epoch: UInt64
    private let log: (String) -> Void
    private var waiting: [HeaderCacheJournal.Line] = []
    private var oldestWaitingMilliseconds: Int64?
    private var failureLogged = false
    /// The keys of the newest whole listing this process made (retention's), and when it began.
    private var listing: (keys: Set<String>, startedMilliseconds: Int64)?

    init(store: any ObjectStore, epoch: UInt64, log: @escaping (String) -> Void) {
        self.store = store
        self.epoch = epoch
        self.log = log
    }

    /// What a whole listing of `ltx/` that began at `startedMilliseconds` held
    /// (less what was deleted after it): merges drop the lines of files it
    /// lacks, from segments written before it began.
    func noteListing(keys: Set<String>, startedMilliseconds: Int64) {
        listing = (keys, startedMilliseconds)
    }

    /// Headers of files just uploaded.
    func add(_ lines: [HeaderCacheJournal.Line], now: Int64) {
        guard !lines.isEmpty else { return }
        if waiting.isEmpty { oldestWaitingMilliseconds = now }
        waiting += lines
    }

    /// Writes a segment when one is due (or whenever something waits, with
    /// `force`), then merges segments if a size tier is full.
    func publish(now: Int64, force: Bool = false) async {
        guard !waiting.isEmpty else { return }
        let due =
            force || waiting.count >= PublishedHeaders.publishEvery
            || now - (oldestWaitingMilliseconds ?? now) >= PublishedHeaders.publishMilliseconds
        guard due else { return }
        do {
            let key = PublishedHeaders.segmentKey(epoch: epoch, nowMilliseconds: now)
            let etag = try await store.put(key, data: PublishedHeaders.encode(waiting), condition: .ifNoneMatch)
            // Its lines are this process's own: nothing to read back.
            ReplicaHeaderCache.shared.markRead(segment: key, etag: etag, store: store.displayURL)
            waiting = []
            oldestWaitingMilliseconds = nil
            try await mergeFullTier()
        } catch {
            if !failureLogged {
                failureLogged = true
                log(
                    "cannot publish LTX headers in \(store.displayURL)/\(PublishedHeaders.prefix) (\(error)); "
                        + "restores elsewhere read each file's header instead")
            }
        }
    }

    /// Merges the segments of the smallest size tier holding four or more
    /// into one, the later line of a file winning. Lines of files the last
    /// whole listing (retention's) lacked are dropped from segments written
    /// before it began: every line of a segment names a file uploaded before
    /// the segment was written. No listing of its own: that would be the
    /// whole history (tens of thousands of keys) every few minutes; a stale
    /// line costs a reader one header read, since readers check ETags.
    private func mergeFullTier() async throws {
        let segments = try await store.list(prefix: PublishedHeaders.prefix)
        guard segments.count > 3 else { return }
        let tiers = Dictionary(grouping: segments) { Self.tier(of: $0.size) }
        guard let (_, members) = tiers.filter({ $0.value.count >= 4 }).min(by: { $0.key < $1.key }) else { return }
        var merged: [String: HeaderCacheJournal.Line] = [:]
        let ordered = members.sorted {
            (PublishedHeaders.writtenMilliseconds(segment: $0.key) ?? 0, $0.key)
                < (PublishedHeaders.writtenMilliseconds(segment: $1.key) ?? 0, $1.key)
        }
        for segment in ordered {
            guard let bytes = try await store.fetch(segment.key)?.bytes else { continue }
            let written = PublishedHeaders.writtenMilliseconds(segment: segment.key) ?? .max
            for line in PublishedHeaders.decode(bytes) {
                if let listing, written < listing.startedMilliseconds, !listing.keys.contains(line.key) { continue }
                merged[line.key] = line
            }
        }
        let now = Replicator.nowMilliseconds()
        let key = PublishedHeaders.segmentKey(epoch: epoch, nowMilliseconds: now)
        let lines = merged.values.sorted { $0.key < $1.key }
        let etag = try await store.put(key, data: PublishedHeaders.encode(lines), condition: .ifNoneMatch)
        ReplicaHeaderCache.shared.markRead(segment: key, etag: etag, store: store.displayURL)
        for segment in members { try await store.delete(segment.key, ifMatch: segment.etag) }
    }

    /// Size tiers by powers of four from 4 KiB (a segment of 64 lines is ~6 KB).
    static func tier(of size: Int64) -> Int {
        var tier = 0
        var bound: Int64 = 4096
        while size >= bound, tier < 30 {
            bound *= 4
            tier += 1
        }
        return tier
    }
}
