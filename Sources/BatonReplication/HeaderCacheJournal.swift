import BatonCore
import BatonSystem

/// A file that keeps one store's part of `ReplicaHeaderCache` across
/// restarts: a node that crashed and must rebuild its copy would otherwise
/// read every header of the replica again (one ranged request per file;
/// ~24 s for ~10,000 files on an S3-compatible server in a chaos run).
///
/// Lines of text, appended as headers become known and never synced: it is
/// only a cache, so a torn or missing tail costs reads, never correctness
/// (an entry is used only while the file's ETag is unchanged). The first line
/// names the store; a journal of another store is ignored.
///
///     baton-ltx-headers 1 <store URL>
///     <key> <etag> <epoch> <timestamp ms>
final class HeaderCacheJournal {
    /// What a journal line records.
    struct Line: Equatable {
        var key: String
        var etag: String
        var entry: ReplicaHeaderCache.Entry
    }

    let path: String
    private let file: LocalFile
    private var end: Int64
    /// Lines written since the file was last rewritten (the rewrite keeps one per file).
    private(set) var lines: Int

    /// Opens (or starts) the journal at `path` for `store`; `known` is what
    /// it already holds. A journal of another store or of an unknown
    /// version is started over.
    static func open(path: String, store: String) throws -> (journal: HeaderCacheJournal, known: [Line]) {
        try FileSystem.makeDirectories(FileSystem.parent(of: path))
        let existing = FileSystem.exists(path) ? try LocalFile(path, .read).readAll() : []
        let rows = TextLines.whole(existing)
        guard rows.first.map(String.init) == firstLine(store) else {
            let journal = try HeaderCacheJournal(path: path, store: store, lines: [])
            return (journal, [])
        }
        let known = rows.dropFirst().compactMap(parse)
        let journal = try HeaderCacheJournal(path: path, store: store, lines: known)
        return (journal, known)
    }

    /// A journal holding exactly `lines` after its first line, put in place
    /// by a rename and never synced (a cache: a crash that loses it costs
    /// reads; no fsync on the threads that also renew the lease).
    private init(path: String, store: String, lines: [Line]) throws {
        var text = Self.firstLine(store) + "\n"
        for line in lines { text += Self.format(line) }
        try FileSystem.replaceUnsynced(path, with: Array(text.utf8))
        self.path = path
        file = try LocalFile(path, .readWrite)
        end = try file.size()
        self.lines = lines.count
    }

    /// Appends lines in one write (leaving out those whose key or ETag cannot be written on one line).
    func append(_ new: [Line]) throws {
        let writable = new.filter(Self.writable)
        guard !writable.isEmpty else { return }
        let bytes = Array(writable.map(Self.format).joined().utf8)
        try file.write(bytes, at: end)
        end += Int64(bytes.count)
        lines += writable.count
    }

    /// A journal with exactly `lines`, replacing this one's file (call when
    /// `lines` has grown well past the number of files still known).
    func rewritten(store: String, lines: [Line]) throws -> HeaderCacheJournal {
        try HeaderCacheJournal(path: path, store: store, lines: lines.filter(Self.writable))
    }

    private static func firstLine(_ store: String) -> String { "baton-ltx-headers 1 \(store)" }

    static func format(_ line: Line) -> String {
        "\(line.key) \(line.etag) \(line.entry.epoch) \(line.entry.timestampMilliseconds)\n"
    }

    static func writable(_ line: Line) -> Bool {
        !line.key.isEmpty && !line.etag.isEmpty
            && !line.key.contains(where: { $0 == " " || $0 == "\n" })
            && !line.etag.contains(where: { $0 == " " || $0 == "\n" })
    }

    static func parse(_ row: Substring) -> Line? {
        let fields = row.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 4, !fields[0].isEmpty, !fields[1].isEmpty,
            let epoch = UInt64(fields[2]), let timestamp = Int64(fields[3])
        else { return nil }
        return Line(
            key: String(fields[0]), etag: String(fields[1]),
            entry: .init(timestampMilliseconds: timestamp, epoch: epoch))
    }
}
