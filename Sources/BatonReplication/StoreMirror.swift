import BatonCore
import BatonStore
import BatonSystem
import Synchronization

/// Fills a second store (a disaster-recovery copy, often in another
/// region) from the primary: every epoch marker and LTX file, byte for byte
/// (encrypted objects stay encrypted), and the published headers. It runs
/// beside the shipper and never in its way: capture, the stream, the lease
/// and sync-mode acknowledgements depend on the primary only, and a second
/// store that is down or slow only falls behind, then catches up from the
/// primary (`MirrorProgress`: each folder listed after its mark). The lease
/// stays in the primary. The second store keeps its own retention window,
/// planned on its own listing: deletions in the primary are not copied, so
/// a primary emptied by mistake leaves the second one whole.
///
/// One task drives a mirror; `published` may be read from anywhere.
public final class StoreMirror: @unchecked Sendable {
    let source: any ObjectStore
    let target: any ObjectStore
    let scratchDirectory: String
    let retention: RetentionPolicy
    let log: (String) -> Void
    private var progress: MirrorProgress?
    private var passes = 0
    private var lastRetentionMilliseconds: Int64 = 0
    private let shared = Mutex<MirrorProgress?>(nil)

    /// Folders listed at every pass; the others (compactions, snapshots,
    /// headers) every `slowFoldersEvery` passes.
    static let everyPass: Set<String> = [EpochStart.prefix, "ltx/0/"]
    static let slowFoldersEvery = 10

    /// A mirror from `source` (the primary) to `target`, downloading through
    /// `scratchDirectory` when the primary is remote; `retentionMilliseconds`
    /// is the second store's window.
    public init(
        source: any ObjectStore, target: any ObjectStore, scratchDirectory: String, retention: RetentionPolicy,
        log: @escaping (String) -> Void
    ) {
        self.source = source
        self.target = target
        self.scratchDirectory = scratchDirectory
        self.retention = retention
        self.log = log
    }

    /// What the second store holds so far (nil before the first pass read it).
    public var published: MirrorProgress? { shared.withLock { $0 } }

    /// The second store's URL, for messages.
    public var targetURL: String { target.displayURL }

    /// The stores without decryption: objects are copied as stored.
    private var rawSource: any ObjectStore { (source as? EncryptedStore)?.inner ?? source }
    private var rawTarget: any ObjectStore { (target as? EncryptedStore)?.inner ?? target }

    /// Copies what the primary holds past the marks; returns how many
    /// objects were copied. `allFolders`: list the slow folders too (the
    /// last pass before stopping). `now`: the time (ms since the epoch).
    @discardableResult
    public func pass(allFolders: Bool = false, now: Int64? = nil) async throws -> Int {
        let now = now ?? Replicator.nowMilliseconds()
        if progress == nil { try FileSystem.makeDirectories(scratchDirectory) }
        var progress = try await loadProgress()
        let everything = allFolders || passes % Self.slowFoldersEvery == 0
        passes += 1
        var copied = 0
        for folder in MirrorProgress.folders where everything || Self.everyPass.contains(folder) {
            for object in try await rawSource.list(prefix: folder, startAfter: progress.startAfter(folder)) {
                try await copy(object)
                if let start = EpochStart(key: object.key) { progress.epochStarted(start) }
                progress.copied(object.key, in: folder, nowMilliseconds: now)
                copied += 1
            }
        }
        if everything { copied += try await syncHeaderSegments() }
        if copied > 0 {
            _ = try await rawTarget.put(MirrorProgress.key, data: try progress.encoded(), condition: .none)
        }
        self.progress = progress
        shared.withLock { $0 = progress }
        try await retainIfDue(now: now)
        return copied
    }

    /// The progress kept in the second store (none: copy everything).
    private func loadProgress() async throws -> MirrorProgress {
        if let progress { return progress }
        guard let object = try await rawTarget.fetch(MirrorProgress.key) else { return MirrorProgress() }
        do {
            return try MirrorProgress(decoding: object.bytes)
        } catch {
            log("\(target.displayURL)/\(MirrorProgress.key) is unreadable (\(error)); copying everything again")
            return MirrorProgress()
        }
    }

    /// Copies one object as stored. One already there (a copy made before
    /// the progress was saved, or listed again after a new epoch) is left
    /// when equal and replaced when not: the primary replaces a deposed
    /// holder's late file with a newer epoch's, and the second store follows.
    /// Equal sizes are compared byte for byte up to `comparedBytes`; larger
    /// objects of equal size (snapshots) are taken as equal.
    private func copy(_ object: ObjectInfo) async throws {
        let (path, isTemporary) = try await rawSource.localCopy(object.key, scratchDirectory: scratchDirectory)
        defer { if isTemporary { try? FileSystem.remove(path) } }
        do {
            try await rawTarget.upload(object.key, fromFile: path, condition: .ifNoneMatch)
        } catch let error as BatonError where error.code == .preconditionFailed {
            guard let existing = try await rawTarget.list(prefix: object.key).first(where: { $0.key == object.key })
            else { return }
            let size = FileSystem.attributes(path)?.size ?? -1
            if existing.size == size {
                guard size <= Self.comparedBytes else { return }
                let stored = try await rawTarget.get(object.key)
                let primary = try await BlockingWork.run { try LocalFile(path, .read).readAll() }
                if stored == primary { return }
            }
            try await rawTarget.upload(object.key, fromFile: path, condition: .ifMatch(existing.etag))
        }
    }

    /// The largest object compared byte for byte when it is already in the second store.
    static let comparedBytes: Int64 = 64 << 20

    /// The published headers are a cache: the second store gets the
    /// primary's segments and loses those a merge removed there.
    private func syncHeaderSegments() async throws -> Int {
        let primary = try await rawSource.list(prefix: PublishedHeaders.prefix)
        let second = try await rawTarget.list(prefix: PublishedHeaders.prefix)
        let present = Set(second.map(\.key))
        let wanted = Set(primary.map(\.key))
        var copied = 0
        for object in primary where !present.contains(object.key) {
            try await copy(object)
            copied += 1
        }
        for object in second where !wanted.contains(object.key) {
            try await rawTarget.delete(object.key, ifMatch: object.etag)
        }
        return copied
    }

    /// The second store's retention: as often as the shipper's, on its own listing.
    private func retainIfDue(now: Int64) async throws {
        let every = min(retention.pointInTimeMilliseconds / 10, 300_000)
        guard now - lastRetentionMilliseconds >= every else { return }
        lastRetentionMilliseconds = now
        let files = try await ReplicaCatalog.files(in: target, headers: false)
        let doomed = try await ReplicaShipper.retentionDeletions(
            files, in: target, nowMilliseconds: now, policy: retention)
        for file in doomed { try await rawTarget.delete(file.key, ifMatch: nil) }
        if !doomed.isEmpty {
            log("retention in \(target.displayURL): deleted \(doomed.count) files older than the window")
        }
    }

    /// Copies about every second until cancelled; a failing second store
    /// is retried less and less often (up to every 10 s), its errors
    /// logged without repeats. `mayWrite`: whether this process may write
    /// now (a holder that cannot prove its lease writes to no store);
    /// `sleep` waits that many milliseconds and throws when cancelled;
    /// `now` is the clock errors are timed by.
    public func keepCopying(
        mayWrite: () -> Bool, sleep: (Int64) async throws -> Void, now: () -> Int64
    ) async {
        var errors = RepeatingErrorFilter()
        var wait: Int64 = 1000
        while !Task.isCancelled {
            if mayWrite() {
                do {
                    try await pass()
                    if errors.succeeded() { log("the second store \(targetURL) takes copies again") }
                    wait = 1000
                } catch {
                    if Task.isCancelled { return }
                    if let line = errors.failed("\(error)", now: now()) {
                        log("second store \(targetURL) (the primary is not affected): \(line)")
                    }
                    wait = min(wait * 2, 10_000)
                }
            }
            do { try await sleep(wait) } catch { return }
        }
    }
}
