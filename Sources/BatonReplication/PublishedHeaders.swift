import BatonCore
import BatonStore
import BatonSystem

/// What the replica's LTX headers say, published in the store beside the
/// files (`ltx-headers/<epoch>-<time>.txt`), so that a restore or a rebuild
/// on any machine reads a few segments instead of one header per file
/// (a ranged read each, for thousands of files).
///
/// Only a cache: an entry is used only while its file's ETag in the listing
/// is the one it names, so a missing, stale or partial segment costs header
/// reads, never a wrong epoch. The holder writes a segment of the files it
/// uploaded every `publishEvery` files or `publishMilliseconds`, and merges
/// segments of like size (`HeaderPublisher`). Litestream and older Baton
/// versions ignore the folder.
///
///     baton-ltx-headers 1
///     <key> <etag> <epoch> <timestamp ms>
public enum PublishedHeaders {
    /// Where the segments are, under the replica's prefix.
    public static let prefix = "ltx-headers/"
    /// A segment is written once this many files are waiting...
    static let publishEvery = 64
    /// ...or once the oldest waiting file has waited this long.
    static let publishMilliseconds: Int64 = 10_000
    /// A listing with this many headers unknown reads the segments first.
    static let worthReading = 8
    /// Segments larger than this are not read (a cache is not worth it).
    static let largestSegment: Int64 = 256 << 20

    private static let firstLine = "baton-ltx-headers 1"

    /// A new segment's key: the writer's epoch, the time and a random part
    /// (a merge may follow a segment within the same millisecond).
    static func segmentKey(epoch: UInt64, nowMilliseconds: Int64) -> String {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return prefix + LTXFileInfo.hex(epoch) + "-" + LTXFileInfo.hex(UInt64(max(0, nowMilliseconds))) + "-"
            + random + ".txt"
    }

    /// When the segment named `key` was written (its writer's clock); nil for other keys.
    static func writtenMilliseconds(segment key: String) -> Int64? {
        guard key.hasPrefix(prefix), key.hasSuffix(".txt") else { return nil }
        let parts = key.dropFirst(prefix.count).dropLast(4).split(separator: "-")
        guard parts.count == 3, let time = UInt64(parts[1], radix: 16), time <= UInt64(Int64.max) else { return nil }
        return Int64(time)
    }

    /// The bytes of a segment holding `lines`.
    static func encode(_ lines: [HeaderCacheJournal.Line]) -> [UInt8] {
        var text = firstLine + "\n"
        for line in lines where HeaderCacheJournal.writable(line) { text += HeaderCacheJournal.format(line) }
        return Array(text.utf8)
    }

    /// The lines of a segment; nothing when it is not one, a torn last line dropped.
    static func decode(_ bytes: [UInt8]) -> [HeaderCacheJournal.Line] {
        let rows = TextLines.whole(bytes)
        guard rows.first.map(String.init) == firstLine else { return [] }
        return rows.dropFirst().compactMap(HeaderCacheJournal.parse)
    }

    /// Reads the segments `ReplicaHeaderCache.shared` has not read yet and
    /// remembers each line whose file is in `etags` (a listing: key → ETag)
    /// with that same ETag; every line when `etags` is nil (a partial
    /// listing: an entry is used only for a file listed with its ETag).
    static func load(from store: any ObjectStore, etags: [String: String]?) async throws {
        let cache = ReplicaHeaderCache.shared
        let storeName = store.displayURL
        let segments = try await store.list(prefix: prefix).filter {
            $0.size <= largestSegment && !cache.hasRead(segment: $0.key, etag: $0.etag, store: storeName)
        }
        let contents = try await BoundedConcurrency.map(segments, width: 8) { segment in
            // A segment removed by a merge since the listing: its lines are in the merged one.
            (segment, try await store.fetch(segment.key)?.bytes ?? [])
        }
        // Parsing and the cache's file writes: on a blocking-work thread, not the lease's.
        try await BlockingWork.run {
            for (segment, bytes) in contents {
                let lines = decode(bytes)
                cache.remember(
                    etags.map { etags in lines.filter { etags[$0.key] == $0.etag } } ?? lines, store: storeName)
                cache.markRead(segment: segment.key, etag: segment.etag, store: storeName)
            }
        }
    }
}
