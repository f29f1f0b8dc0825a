import BatonCore
import BatonSQLite
import BatonSystem

extension Replicator {
    /// Starts replicating: uploads files left from a previous run, then
    /// either resumes the replica from the WAL position its newest file
    /// records, or, when that cannot be proven continuous, writes a new
    /// snapshot under the next transaction ID. Never reuses a transaction ID.
    /// Uploads only: compaction and retention wait for the first `step` or
    /// shipping round (a promotion must not wait for a compaction's downloads).
    public func start() async throws {
        // A promoted copy's record describes the file as it is now, not later.
        defer { knownFileTable = nil }
        _ = try await shipper.sendPending()
        // A holder of a lease (HA) continues the live history, which a deposed holder's late upload may not be.
        let files =
            options.epoch > 0
            ? try await ReplicaCatalog.liveFiles(in: store) : try await ReplicaCatalog.files(in: store, headers: false)
        let (walHeader, transactions) = try await BlockingWork.runExclusive {
            let attached = try self.follower.attach()
            self.pageSize = try self.session.readerGeometry().pageSize
            self.spool = try SegmentSpool(
                path: self.pending.temporaryPath(), pageSize: self.pageSize, clock: Replicator.nowMilliseconds)
            return attached
        }

        guard let latest = files.max(by: { ($0.maxTXID, -$0.level) < ($1.maxTXID, -$1.level) }) else {
            log("\(store.displayURL) is empty; writing the first snapshot")
            try await BlockingWork.runExclusive {
                try self.writeSnapshot(
                    txid: self.options.startAfterTXID + 1, header: walHeader, position: self.follower.position)
            }
            _ = try await shipper.sendPending()
            return
        }
        let latestHeader = try await ReplicaCatalog.header(of: latest, in: store)
        guard latestHeader.pageSize == pageSize else {
            throw BatonError(
                .unsupportedDatabase,
                "\(store.displayURL) holds pages of \(latestHeader.pageSize) bytes but \(databasePath) uses \(pageSize); use a new replica URL"
            )
        }
        ownStats.txid = latest.maxTXID
        if let snapshot = files.filter({ $0.level == LTXFileInfo.snapshotLevel }).max(by: { $0.maxTXID < $1.maxTXID }) {
            lastSnapshotTXID = snapshot.maxTXID
            // Known when the listing read the headers (HA); one ranged read otherwise.
            if let known = snapshot.timestampMilliseconds {
                lastSnapshotMilliseconds = known
            } else {
                let header = try await ReplicaCatalog.header(of: snapshot, in: store)
                lastSnapshotMilliseconds = header.timestampMilliseconds
            }
        }
        let trailer = try await ReplicaCatalog.trailer(of: latest, in: store)
        if let recent = copyTail, !latestHeader.hasNoChecksum {
            copyTail = nil
            let (storeTXID, storeChecksum) = (latest.maxTXID, trailer.postApplyChecksum)
            if let sealed = try await BlockingWork.runExclusive({
                try self.sealCopyTail(
                    recent, storeTXID: storeTXID, storeChecksum: storeChecksum, walHeader: walHeader,
                    walTransactions: transactions)
            }) {
                log(
                    "the store ends at transaction \(storeTXID); sealed this copy's transactions \(sealed.minTXID)-\(sealed.maxTXID) as one file instead of a snapshot"
                )
                // The seal proved the whole state (WAL included) and the follower is at the WAL's end:
                // this is a resumed replica, with no need to read the database again.
                _ = try await shipper.sendPending()
                return
            }
        }

        let resumed = try await BlockingWork.runExclusive {
            try self.resume(latest: latest, header: latestHeader, trailer: trailer, wal: (walHeader, transactions))
        }
        switch resumed {
        case .resumed:
            return
        case .caughtUp:
            _ = try await shipper.sendPending()
            return
        case .cannotResume(let reason):
            let txid = max(ownStats.txid, options.startAfterTXID) + 1
            log(
                "cannot resume \(store.displayURL) from the WAL (\(reason)); writing a new snapshot as transaction \(txid)"
            )
            try await BlockingWork.runExclusive {
                try self.writeSnapshot(txid: txid, header: walHeader, position: self.follower.position)
            }
            _ = try await shipper.sendPending()
        }
    }

    /// Replicates until `shouldStop` says so, then seals and uploads
    /// everything captured. Store failures are logged and retried; other
    /// errors end the run.
    public func run(shouldStop: @escaping @Sendable () -> Bool) async throws {
        var storeFailing = false
        while !shouldStop() {
            do {
                try await step()
                if storeFailing { log("\(store.displayURL) is reachable again") }
                storeFailing = false
            } catch let error as BatonError where error.code == .io || error.code == .notFound || error.code == .busy {
                if !storeFailing { log("will retry: \(error.message)") }
                storeFailing = true
            }
            try await Task.sleep(nanoseconds: UInt64(options.pollIntervalMilliseconds) * 1_000_000)
        }
        try await finish()
    }

    /// Captures what the WAL holds and seals it locally without uploading:
    /// a holder fencing itself must not write to the store any more.
    public func sealCaptured() throws {
        try handle(try follower.capture(captureSink))
        try seal()
    }

    /// The folder of sealed files waiting for the store.
    public var pendingDirectory: String { pending.directory }

    /// One final capture; seals and uploads everything.
    public func finish() async throws {
        try await step(flushAll: true)
        await shipper.publishHeaders()
        let left = try pending.files().count
        if left > 0 {
            throw BatonError(
                .io, "\(left) sealed files could not be uploaded; they stay in \(pending.directory) for the next start")
        }
    }
}
