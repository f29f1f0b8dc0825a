import BatonCore
import BatonStore
import BatonSystem

/// Sealed LTX files waiting on local disk until the store confirms them.
///
/// A file lands here complete and fsynced (temp name, rename), so a crash or
/// a store outage loses nothing: the next upload (or the next start) sends
/// what is left, oldest transaction first, and deletes each file only after
/// the store accepted it.
final class PendingSegments {
    let directory: String
    /// Uploaded level-0 files kept for the next level-1 compaction.
    let uploaded: UploadedSegments

    /// The folder `directory`, keeping up to `keepUploadedBytes` of uploaded level-0 files in `uploaded/`.
    init(directory: String, keepUploadedBytes: Int64 = 0) throws {
        self.directory = directory
        try FileSystem.makeDirectories(directory)
        uploaded = try UploadedSegments(directory: directory + "/uploaded", maxBytes: keepUploadedBytes)
        // Half-written files of a process that was killed: never sealed, never needed.
        for name in try FileSystem.list(directory) where name.hasPrefix(".tmp-") {
            try FileSystem.remove(directory + "/" + name)
        }
    }

    /// Waiting files, in upload order (by last transaction, snapshots after segments).
    func files() throws -> [LTXFileInfo] {
        try FileSystem.list(directory).compactMap { name -> LTXFileInfo? in
            let parts = name.split(separator: "_", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            return LTXFileInfo(key: "ltx/\(parts[0])/\(parts[1])")
        }.sorted { ($0.maxTXID, $0.level) < ($1.maxTXID, $1.level) }
    }

    /// The local path a sealed file for `info` takes.
    func path(for info: LTXFileInfo) -> String {
        directory + "/\(info.level)_\(LTXFileInfo.hex(info.minTXID))-\(LTXFileInfo.hex(info.maxTXID)).ltx"
    }

    /// Seals an LTX file durably into the directory (temporary name, fsync,
    /// rename): `pages` writes the page frames, the trailer gets `postApply()`.
    func write(
        _ header: LTXHeader, level: Int, pages: (inout LTXEncoder) throws -> Void, postApply: () -> UInt64
    ) throws -> LTXFileInfo {
        guard let info = try write(header, level: level, pages: pages, postApply: postApply, keep: { true }) else {
            preconditionFailure("a file that is always kept was dropped")
        }
        return info
    }

    /// As `write`, but when `keep` says no once the pages are written the
    /// file never appears (an uploader shipping the directory concurrently
    /// must never see it) and the result is nil.
    func write(
        _ header: LTXHeader, level: Int, pages: (inout LTXEncoder) throws -> Void, postApply: () -> UInt64,
        keep: () -> Bool
    ) throws -> LTXFileInfo? {
        let info = LTXFileInfo(level: level, minTXID: header.minTXID, maxTXID: header.maxTXID)
        let temporary = temporaryPath()
        do {
            try LTXFileWriter.write(to: temporary, header: header, pages: pages, postApply: postApply)
            guard keep() else {
                try FileSystem.remove(temporary)
                return nil
            }
            try FileSystem.rename(temporary, to: path(for: info))
        } catch {
            try? FileSystem.remove(temporary)
            throw error
        }
        return info
    }

    /// A fresh temporary path in the directory.
    func temporaryPath() -> String { FileSystem.temporaryPath(next: directory + "/x") }

    /// Uploads every waiting file in order; stops at the first failure and rethrows it.
    /// Returns the number of files (and of level-0 files) and bytes uploaded.
    func upload(to store: any ObjectStore) async throws -> (
        files: Int, levelZero: Int, bytes: Int64, maxTXID: UInt64, headers: [HeaderCacheJournal.Line]
    ) {
        var headers: [HeaderCacheJournal.Line] = []
        var count = 0
        var levelZero = 0
        var bytes: Int64 = 0
        var maxTXID: UInt64 = 0
        for info in try files() {
            let local = path(for: info)
            var etag = ""
            do {
                etag = try await store.upload(info.key, fromFile: local, condition: .ifNoneMatch)
            } catch let error as BatonError where error.code == .preconditionFailed {
                // Sent before a crash, or written by someone else: only the former is fine.
                let stored = try await store.get(info.key)
                let mine = try LocalFile(local, .read).readAll()
                if stored != mine {
                    // A deposed holder's late write at the same TXIDs may be replaced by a newer epoch, never the reverse.
                    let ours = try LTXHeader(decoding: Array(mine.prefix(LTXHeader.size))).nodeID
                    let theirs = try LTXHeader(decoding: Array(stored.prefix(LTXHeader.size))).nodeID
                    guard ours > theirs,
                        let object = try await store.list(prefix: info.key).first(where: { $0.key == info.key })
                    else {
                        throw BatonError(
                            .preconditionFailed,
                            "\(store.displayURL)/\(info.key) already exists with other contents (epoch \(theirs), ours \(ours)): "
                                + "another process is writing this replica; refusing to overwrite it")
                    }
                    etag = try await store.upload(info.key, fromFile: local, condition: .ifMatch(object.etag))
                }
            }
            // Only a cache: failing to fill it never fails an upload.
            if !etag.isEmpty, let line = try? rememberHeader(of: local, as: info.key, etag: etag, in: store) {
                headers.append(line)
            }
            bytes += FileSystem.attributes(local)?.size ?? 0
            // What the store has is done with here; a level-0 file may serve the next compaction.
            do { try uploaded.keep(local, as: info) } catch { try FileSystem.remove(local) }
            count += 1
            if info.level == 0 { levelZero += 1 }
            maxTXID = max(maxTXID, info.maxTXID)
        }
        return (count, levelZero, bytes, maxTXID, headers)
    }

    /// Puts what an uploaded file's header says in `ReplicaHeaderCache`, so
    /// that this process's rebuilds and restores need not read it back.
    private func rememberHeader(of local: String, as key: String, etag: String, in store: any ObjectStore) throws
        -> HeaderCacheJournal.Line
    {
        let header = try LTXHeader(decoding: try LocalFile(local, .read).read(at: 0, count: LTXHeader.size))
        let entry = ReplicaHeaderCache.Entry(timestampMilliseconds: header.timestampMilliseconds, epoch: header.nodeID)
        ReplicaHeaderCache.shared.remember(entry, store: store.displayURL, key: key, etag: etag)
        return HeaderCacheJournal.Line(key: key, etag: etag, entry: entry)
    }
}
