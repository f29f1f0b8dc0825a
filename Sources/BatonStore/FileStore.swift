import BatonCore
import BatonSystem

#if canImport(Glibc)
    import Glibc
#endif

/// An `ObjectStore` in a local directory: each key is a file under `root`.
///
/// Puts are atomic (temp file, fsync, rename, fsync the directory), so a
/// reader sees the old object or the new one, never a mix. Conditional puts
/// and deletes are serialized across processes with `flock` on `root/.lock`
/// (held only for the check and the rename; a write waits at most
/// `lockWaitMilliseconds` for another's, then fails retryably).
/// ETags are derived from inode, size and modification time, which change on
/// every replace. Every operation runs on `BlockingWork`'s threads (an fsync
/// or a wait for the lock never holds a cooperative thread).
public struct FileStore: ObjectStore {
    /// The directory holding the objects.
    public let root: String
    /// Operation counters, as for every store.
    public let metrics: StoreMetrics

    /// A store rooted at `root` (created on first write).
    public init(root: String, metrics: StoreMetrics = StoreMetrics(), lockWaitMilliseconds: Int64 = 5000) {
        self.root = root
        self.metrics = metrics
        self.lockWaitMilliseconds = lockWaitMilliseconds
    }

    /// How long a conditional write waits for another process's: past it,
    /// that process is stopped or stuck inside its check-and-rename, and the
    /// write fails (retryably) instead of hanging.
    let lockWaitMilliseconds: Int64

    /// Runs `body`, counting it under `kind` with its outcome.
    private func counted<T>(_ kind: String, up: Int64 = 0, _ body: () throws -> T) rethrows -> T {
        do {
            let result = try body()
            metrics.record(kind, "ok", up: up, down: (result as? [UInt8]).map { Int64($0.count) } ?? 0)
            return result
        } catch let error as BatonError {
            let outcome: String
            switch error.code {
            case .notFound: outcome = "not_found"
            case .preconditionFailed: outcome = "precondition_failed"
            default: outcome = "error"
            }
            metrics.record(kind, outcome)
            throw error
        }
    }

    /// `file://` plus the root.
    public var displayURL: String { "file://\(root)" }

    private func path(_ key: String) throws -> String {
        guard !key.isEmpty, !key.hasPrefix("/"), !key.split(separator: "/").contains(where: { $0 == ".." || $0 == "." })
        else {
            throw BatonError(.usage, "invalid object key \(key)")
        }
        return root + "/" + key
    }

    /// Lists objects recursively; temporary files are skipped.
    public func list(prefix: String, startAfter: String?) async throws -> [ObjectInfo] {
        try await BlockingWork.run { [self] in
            try counted("list") {
                let all = try listFiles(prefix: prefix)
                guard let startAfter else { return all }
                return all.filter { $0.key > startAfter }
            }
        }
    }

    public func folders(under prefix: String) async throws -> [String] {
        try await BlockingWork.run { [self] in
            try counted("list") {
                let directory =
                    prefix.isEmpty ? root : root + "/" + String(prefix.dropLast(prefix.hasSuffix("/") ? 1 : 0))
                return try FileSystem.list(directory).filter {
                    !$0.hasPrefix(".") && FileSystem.isDirectory(directory + "/" + $0)
                }.sorted()
            }
        }
    }

    private func listFiles(prefix: String) throws -> [ObjectInfo] {
        var results: [ObjectInfo] = []
        func walk(_ relative: String) throws {
            let directory = relative.isEmpty ? root : root + "/" + relative
            for name in try FileSystem.list(directory) where !name.hasPrefix(".") {
                let key = relative.isEmpty ? name : relative + "/" + name
                let full = root + "/" + key
                if FileSystem.isDirectory(full) {
                    if prefix.hasPrefix(key + "/") || key.hasPrefix(prefix) || prefix.isEmpty { try walk(key) }
                } else if key.hasPrefix(prefix), let attributes = FileSystem.attributes(full) {
                    results.append(
                        ObjectInfo(
                            key: key, size: attributes.size, etag: etag(attributes),
                            modifiedMilliseconds: attributes.modifiedNanoseconds / 1_000_000))
                }
            }
        }
        try walk("")
        return results.sorted { $0.key < $1.key }
    }

    private func etag(_ attributes: (size: Int64, modifiedNanoseconds: Int64, inode: UInt64)) -> String {
        "\(attributes.inode)-\(attributes.size)-\(attributes.modifiedNanoseconds)"
    }

    /// Reads the whole object.
    public func get(_ key: String) async throws -> [UInt8] {
        try await BlockingWork.run { [self] in
            try counted("get") {
                let file = try LocalFile(path(key), .read)
                return try file.read(at: 0, count: Int(try file.size()))
            }
        }
    }

    /// The object with its ETag (taken before the read: never newer than the bytes).
    /// On a blocking-work thread, as every FileStore operation (the lease is read so).
    public func fetch(_ key: String) async throws -> FetchedObject? {
        let now = try await storeTimeMilliseconds()
        return try await BlockingWork.run { [self] () throws -> FetchedObject? in
            let file = try path(key)
            guard let attributes = FileSystem.attributes(file) else { return nil }
            do {
                let bytes = try counted("get") {
                    let opened = try LocalFile(file, .read)
                    return try opened.read(at: 0, count: Int(try opened.size()))
                }
                return FetchedObject(bytes: bytes, etag: etag(attributes), storeTimeMilliseconds: now)
            } catch let error as BatonError where error.code == .notFound {
                return nil
            }
        }
    }

    /// Reads a byte range of the object.
    public func get(_ key: String, range: Range<Int64>) async throws -> [UInt8] {
        try await BlockingWork.run { [self] in
            try counted("get") { try LocalFile(path(key), .read).read(at: range.lowerBound, count: Int(range.count)) }
        }
    }

    /// The object's own path: nothing to download.
    public func localCopy(_ key: String, scratchDirectory: String) async throws -> (path: String, isTemporary: Bool) {
        let full = try path(key)
        guard FileSystem.exists(full) else { throw BatonError(.notFound, "\(displayURL)/\(key) does not exist") }
        return (full, false)
    }

    /// Writes atomically, honoring the condition.
    @discardableResult
    public func put(_ key: String, data: [UInt8], condition: PutCondition) async throws -> String {
        try await BlockingWork.run { [self] in
            try counted("put", up: Int64(data.count)) { try putFile(key, data: data, condition: condition) }
        }
    }

    private func putFile(_ key: String, data: [UInt8], condition: PutCondition) throws -> String {
        let destination = try path(key)
        try FileSystem.makeDirectories(FileSystem.parent(of: destination))
        let temporary = FileSystem.temporaryPath(next: destination)
        defer { try? FileSystem.remove(temporary) }
        let file = try LocalFile(temporary, .createNew)
        try file.write(data, at: 0)
        try file.sync()
        try commit(temporary, as: key, at: destination, condition: condition)
        guard let attributes = FileSystem.attributes(destination) else {
            throw BatonError(.io, "\(destination) vanished right after it was written")
        }
        return etag(attributes)
    }

    /// Copies a local file in atomically; with `.ifNoneMatch` an existing
    /// object is never replaced (the copy is linked in, which fails if the name exists).
    @discardableResult
    public func upload(_ key: String, fromFile source: String, condition: PutCondition) async throws -> String {
        try await BlockingWork.run { [self] in
            let size = FileSystem.attributes(source)?.size ?? 0
            return try counted("put", up: size) { try uploadFile(key, fromFile: source, condition: condition) }
        }
    }

    private func uploadFile(_ key: String, fromFile source: String, condition: PutCondition) throws -> String {
        let destination = try path(key)
        try FileSystem.makeDirectories(FileSystem.parent(of: destination))
        let temporary = FileSystem.temporaryPath(next: destination)
        defer { try? FileSystem.remove(temporary) }
        let input = try LocalFile(source, .read)
        let output = try LocalFile(temporary, .createNew)
        var offset: Int64 = 0
        while true {
            let chunk = try input.read(at: offset, count: 1 << 20)
            if chunk.isEmpty { break }
            try output.write(chunk, at: offset)
            offset += Int64(chunk.count)
        }
        try output.sync()
        // The ETag of what we put in place (a rename or link keeps the inode, size and time),
        // not of whatever a writer after us may have put there since.
        let written = FileSystem.attributes(temporary).map(etag) ?? ""
        try commit(temporary, as: key, at: destination, condition: condition)
        return written
    }

    /// Puts the synced file `temporary` in place as `key` if `condition`
    /// holds. The data is written and synced before any lock: only the etag
    /// check and the rename hold it, so a writer that is paused (SIGSTOP, a
    /// stalled disk) holds up the store's other writers for microseconds,
    /// not for its fsync. A create needs no lock at all (an atomic link).
    private func commit(_ temporary: String, as key: String, at destination: String, condition: PutCondition) throws {
        switch condition {
        case .none:
            try FileSystem.rename(temporary, to: destination)
        case .ifNoneMatch:
            guard try FileSystem.linkIfAbsent(temporary, to: destination) else {
                throw BatonError(.preconditionFailed, "\(displayURL)/\(key) already exists")
            }
        case .ifMatch(let expected):
            try withStoreLock {
                guard FileSystem.attributes(destination).map(etag) == expected else {
                    throw BatonError(.preconditionFailed, "\(displayURL)/\(key) changed since it was read")
                }
                try FileSystem.rename(temporary, to: destination)
            }
            try FileSystem.syncDirectory(FileSystem.parent(of: destination))
        }
    }

    /// Removes the object, if its ETag matches when one is given.
    public func delete(_ key: String, ifMatch: String?) async throws {
        try await BlockingWork.run { [self] in try counted("delete") { try deleteFile(key, ifMatch: ifMatch) } }
    }

    private func deleteFile(_ key: String, ifMatch: String?) throws {
        let target = try path(key)
        guard let expected = ifMatch else {
            try FileSystem.remove(target)
            return
        }
        try withStoreLock {
            guard let attributes = FileSystem.attributes(target) else { return }
            guard etag(attributes) == expected else {
                throw BatonError(.preconditionFailed, "\(displayURL)/\(key) changed since it was read")
            }
            try FileSystem.remove(target)
        }
    }

    /// The local clock: a directory has no clock of its own.
    public func storeTimeMilliseconds() async throws -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    private func withStoreLock<T>(_ body: () throws -> T) throws -> T {
        try FileSystem.makeDirectories(root)
        let lock = try LocalFile(root + "/.lock", .readWrite)
        let started = MonotonicClock.now()
        while flock(lock.descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw LocalFile.error("cannot lock", lock.path) }
            guard MonotonicClock.now() - started < lockWaitMilliseconds else {
                throw BatonError(
                    .io,
                    "\(lock.path) has been locked by another process for \(DurationText.format(lockWaitMilliseconds)) (stopped or stuck in a write); retrying later"
                )
            }
            usleep(1000)
        }
        defer { flock(lock.descriptor, LOCK_UN) }
        return try body()
    }
}
