import Synchronization

/// What a replica's LTX headers said, kept for the life of the process:
/// a rebuild or a restore lists thousands of files and needs each one's
/// epoch (to fence deposed holders) and time, one ranged read per file.
///
/// An entry is keyed by the store, the file's key and its ETag, so a file
/// that was deleted and written again under the same name (a new history
/// after a rewind) is never answered from the old one's header.
public final class ReplicaHeaderCache: Sendable {
    /// What a file's header says that a listing does not.
    public struct Entry: Equatable, Sendable {
        public var timestampMilliseconds: Int64
        public var epoch: UInt64
    }

    /// The process's cache.
    public static let shared = ReplicaHeaderCache(capacity: 500_000)

    private let capacity: Int
    private let entries = Mutex<[String: Entry]>([:])

    /// A cache of at most `capacity` entries (when full, it starts over).
    public init(capacity: Int) { self.capacity = capacity }

    /// The header of `key` in `store` as it was with `etag`, if read before.
    public func entry(store: String, key: String, etag: String) -> Entry? {
        entries.withLock { $0[Self.name(store, key, etag)] }
    }

    /// Remembers the header of `key` in `store` with `etag`.
    public func remember(_ entry: Entry, store: String, key: String, etag: String) {
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[Self.name(store, key, etag)] = entry
        }
    }

    /// How many headers it holds.
    public var count: Int { entries.withLock { $0.count } }

    private static func name(_ store: String, _ key: String, _ etag: String) -> String {
        "\(store)\n\(key)\n\(etag)"
    }
}
