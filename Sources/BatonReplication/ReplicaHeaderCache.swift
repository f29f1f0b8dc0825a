import Synchronization

/// What a replica's LTX headers said: a rebuild or a restore lists thousands
/// of files and needs each one's epoch (to fence deposed holders) and time,
/// one ranged read per file.
///
/// An entry is keyed by the store, the file's key and its ETag, so a file
/// that was deleted and written again under the same name (a new history
/// after a rewind) is never answered from the old one's header. A store's
/// entries can be kept in a file (`keep(inFile:for:)`) so that a restarted
/// node starts with what it knew.
public final class ReplicaHeaderCache: Sendable {
    /// What a file's header says that a listing does not.
    public struct Entry: Equatable, Sendable {
        public var timestampMilliseconds: Int64
        public var epoch: UInt64

        public init(timestampMilliseconds: Int64, epoch: UInt64) {
            self.timestampMilliseconds = timestampMilliseconds
            self.epoch = epoch
        }
    }

    /// The process's cache.
    public static let shared = ReplicaHeaderCache(capacity: 500_000)

    private struct Known {
        var etag: String
        var entry: Entry
    }

    private struct State {
        var stores: [String: [String: Known]] = [:]
        var journals: [String: HeaderCacheJournal] = [:]
        /// Published segments already read, per store: key → ETag.
        var segmentsRead: [String: [String: String]] = [:]

        /// Entries across stores (a handful of stores per process).
        var count: Int { stores.values.reduce(0) { $0 + $1.count } }
    }

    private let capacity: Int
    private let state = Mutex(State())

    /// A cache of at most `capacity` entries (when full, it starts over).
    public init(capacity: Int) { self.capacity = capacity }

    /// The header of `key` in `store` as it was with `etag`, if read before.
    public func entry(store: String, key: String, etag: String) -> Entry? {
        state.withLock { state in
            guard let known = state.stores[store]?[key], known.etag == etag else { return nil }
            return known.entry
        }
    }

    /// Remembers the header of `key` in `store` with `etag` (and writes it
    /// to the store's file, if it has one).
    public func remember(_ entry: Entry, store: String, key: String, etag: String) {
        remember([.init(key: key, etag: etag, entry: entry)], store: store)
    }

    /// Remembers several headers of `store` at once (one write to its file).
    func remember(_ lines: [HeaderCacheJournal.Line], store: String) {
        state.withLock { state in
            var new: [HeaderCacheJournal.Line] = []
            for line in lines {
                if let old = state.stores[store]?[line.key] {
                    if old.etag == line.etag && old.entry == line.entry { continue }
                } else if state.count >= capacity {
                    Self.startOver(&state)
                }
                state.stores[store, default: [:]][line.key] = Known(etag: line.etag, entry: line.entry)
                new.append(line)
            }
            if let journal = state.journals[store], !new.isEmpty {
                // Only a cache: a file that cannot be written is given up, never an error.
                do { try journal.append(new) } catch { state.journals[store] = nil }
            }
        }
    }

    /// Forgets the files of `store` that are not in `keys` (a full listing:
    /// files compacted away or removed by retention), so the cache and its
    /// file hold only what the store still has.
    public func retain(store: String, keys: Set<String>) {
        state.withLock { state in
            guard let known = state.stores[store] else { return }
            let kept = known.filter { keys.contains($0.key) }
            state.stores[store] = kept
            if let journal = state.journals[store], journal.lines > 2 * kept.count + 1024 {
                Self.rewrite(&state, store)
            }
        }
    }

    /// Keeps `store`'s entries in the file at `path` from now on, starting
    /// with those it already holds. A file that cannot be read or written
    /// throws here; later write failures only stop the keeping.
    public func keep(inFile path: String, for store: String) throws {
        try state.withLock { state in
            // Opened under the lock: the journal belongs to the cache's state from the start.
            let (journal, lines) = try HeaderCacheJournal.open(path: path, store: store)
            var known = state.stores[store] ?? [:]
            let room = capacity - state.count + known.count
            for line in lines where known[line.key] != nil || known.count < room {
                known[line.key] = Known(etag: line.etag, entry: line.entry)
            }
            state.stores[store] = known
            state.journals[store] = journal
            // Entries remembered before the file was opened, and one line per file.
            if journal.lines != state.stores[store]?.count ?? 0 { Self.rewrite(&state, store) }
        }
    }

    /// Whether the published segment `key` with `etag` was read (or written) by this process.
    public func hasRead(segment key: String, etag: String, store: String) -> Bool {
        state.withLock { $0.segmentsRead[store]?[key] == etag }
    }

    /// Notes that the published segment `key` with `etag` was read (or written).
    public func markRead(segment key: String, etag: String, store: String) {
        state.withLock { $0.segmentsRead[store, default: [:]][key] = etag }
    }

    /// How many headers it holds.
    public var count: Int { state.withLock { $0.count } }

    private static func startOver(_ state: inout State) {
        state.stores.removeAll(keepingCapacity: true)
        state.segmentsRead.removeAll()
        for store in state.journals.keys { rewrite(&state, store) }
    }

    /// Writes the store's file anew with one line per file it knows.
    private static func rewrite(_ state: inout State, _ store: String) {
        guard let journal = state.journals[store] else { return }
        let lines = (state.stores[store] ?? [:]).map { key, known in
            HeaderCacheJournal.Line(key: key, etag: known.etag, entry: known.entry)
        }
        // Only a cache: a file that cannot be written is given up, never an error.
        state.journals[store] = try? journal.rewritten(store: store, lines: lines)
    }
}
