import BatonCore
import BatonSystem
import Synchronization

/// Level-0 files the store has confirmed, kept on local disk (up to
/// `maxBytes`, oldest dropped first) as the inputs of the next level-1
/// compaction: merging them then costs no downloads, so level 1 can run
/// as often as files pile up and a restore or a rebuild fetches a few
/// compacted files instead of thousands of single-write ones.
///
/// Only this process's uploads of this run are kept: the folder is emptied
/// when it opens, so a copy never stands for a file another holder wrote
/// under the same name since. Compaction verifies every input as always.
final class UploadedSegments: Sendable {
    let directory: String
    let maxBytes: Int64
    private let kept = Mutex(Kept())

    private struct Kept {
        /// Kept files by key, with their sizes, oldest first.
        var order: [(key: String, size: Int64)] = []
        var sizes: [String: Int64] = [:]
        var bytes: Int64 = 0
    }

    /// Opens (and empties) `directory`; with `maxBytes` 0 nothing is kept.
    init(directory: String, maxBytes: Int64) throws {
        self.directory = directory
        self.maxBytes = maxBytes
        try FileSystem.makeDirectories(directory)
        for name in try FileSystem.list(directory) { try FileSystem.remove(directory + "/" + name) }
    }

    /// The local copy of `info`, if kept.
    func path(for info: LTXFileInfo) -> String? {
        kept.withLock { $0.sizes[info.key] == nil ? nil : localPath(info.key) }
    }

    /// How many files are kept.
    var count: Int { kept.withLock { $0.order.count } }

    /// Takes the uploaded file at `path` (moved here, or removed when it is
    /// not a level-0 file or cannot be kept).
    func keep(_ path: String, as info: LTXFileInfo) throws {
        let size = FileSystem.attributes(path)?.size ?? 0
        guard info.level == 0, maxBytes > 0, size <= maxBytes else {
            try FileSystem.remove(path)
            return
        }
        try FileSystem.rename(path, to: localPath(info.key))
        let evicted = kept.withLock { kept -> [String] in
            if let old = kept.sizes[info.key] {
                kept.bytes -= old
                kept.order.removeAll { $0.key == info.key }
            }
            kept.order.append((info.key, size))
            kept.sizes[info.key] = size
            kept.bytes += size
            var evicted: [String] = []
            while kept.bytes > maxBytes, let oldest = kept.order.first {
                kept.order.removeFirst()
                kept.sizes[oldest.key] = nil
                kept.bytes -= oldest.size
                evicted.append(oldest.key)
            }
            return evicted
        }
        for key in evicted { try? FileSystem.remove(localPath(key)) }
    }

    /// Drops the copies of `files` (merged into a compaction the store has).
    func forget(_ files: [LTXFileInfo]) {
        let keys = Set(files.map(\.key))
        kept.withLock { kept in
            kept.order.removeAll { keys.contains($0.key) }
            for key in keys { if let size = kept.sizes.removeValue(forKey: key) { kept.bytes -= size } }
        }
        for key in keys { try? FileSystem.remove(localPath(key)) }
    }

    private func localPath(_ key: String) -> String {
        directory + "/" + key.split(separator: "/").joined(separator: "_")
    }
}
