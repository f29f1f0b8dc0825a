import BatonCore
import BatonSystem

/// Keeps a standby's `RecentTransactions` across restarts, so a standby
/// promoted right after it restarted (a crash, a deploy) still seals what
/// the store lacks from its copy instead of writing a snapshot of the whole
/// database.
///
/// One text line per applied transaction, appended after the copy recorded
/// its new position and never synced: only a hint. A torn or missing line
/// breaks the chain of checksums and starts the record over, a record that
/// does not end at the copy's position is dropped, and the promotion proves
/// the tail against the store and the copy before it uses it.
///
///     <min> <max> <pre-apply checksum> <post-apply checksum> <time ms> <page>,<page>,…
final class RecentTransactionsFile {
    let path: String
    private var file: LocalFile?
    private var end: Int64 = 0
    private var lines = 0

    init(path: String) { self.path = path }

    /// The record the file holds, if it ends exactly at `txid` with `checksum`; otherwise empty (and the file emptied).
    func load(endingAt txid: UInt64, checksum: UInt64) -> RecentTransactions {
        var recent = RecentTransactions()
        for row in TextLines.whole((try? LocalFile(path, .read).readAll()) ?? []) {
            guard let entry = Self.parse(row) else {
                recent.reset()
                continue
            }
            recent.record(entry)
        }
        guard let last = recent.kept.last, last.maxTXID == txid, last.postApplyChecksum == checksum else {
            reset()
            return RecentTransactions()
        }
        rewrite(recent)
        return recent
    }

    /// Appends the entries of one applied batch; rewrites the file with only
    /// what `recent` keeps once it has grown well past that.
    func append(_ entries: [RecentTransactions.Entry], keeping recent: RecentTransactions) {
        guard !entries.isEmpty else { return }
        if lines > 2 * recent.kept.count + 1024 {
            rewrite(recent)
            return
        }
        do {
            let handle = try opened()
            let bytes = Array(entries.map(Self.format).joined().utf8)
            try handle.write(bytes, at: end)
            end += Int64(bytes.count)
            lines += entries.count
        } catch {
            // A hint: a file that cannot be written costs a snapshot at a promotion, never correctness.
            reset()
        }
    }

    /// Empties the file (the copy was replaced or re-adopted).
    func reset() {
        file = nil
        end = 0
        lines = 0
        try? FileSystem.remove(path)
    }

    private func rewrite(_ recent: RecentTransactions) {
        file = nil
        let text = recent.kept.map(Self.format).joined()
        do {
            // A hint, rewritten on the standby's apply path: no fsync.
            try FileSystem.replaceUnsynced(path, with: Array(text.utf8))
            end = Int64(text.utf8.count)
            lines = recent.kept.count
        } catch {
            reset()
        }
    }

    private func opened() throws -> LocalFile {
        if let file { return file }
        let opened = try LocalFile(path, FileSystem.exists(path) ? .readWrite : .createNew)
        end = try opened.size()
        file = opened
        return opened
    }

    static func format(_ entry: RecentTransactions.Entry) -> String {
        "\(entry.minTXID) \(entry.maxTXID) \(entry.preApplyChecksum) \(entry.postApplyChecksum) "
            + "\(entry.timestampMilliseconds) \(entry.pages.map(String.init).joined(separator: ","))\n"
    }

    static func parse(_ row: Substring) -> RecentTransactions.Entry? {
        let fields = row.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 6, let min = UInt64(fields[0]), let max = UInt64(fields[1]), min <= max,
            let pre = UInt64(fields[2]), let post = UInt64(fields[3]), let time = Int64(fields[4])
        else { return nil }
        var pages: [UInt32] = []
        if !fields[5].isEmpty {
            for part in fields[5].split(separator: ",", omittingEmptySubsequences: false) {
                guard let page = UInt32(part) else { return nil }
                pages.append(page)
            }
        }
        return .init(
            minTXID: min, maxTXID: max, pages: pages, preApplyChecksum: pre, postApplyChecksum: post,
            timestampMilliseconds: time)
    }
}
