import BatonCore
import BatonReplication
import BatonStore
import BatonSystem

extension NodeDriver {
    /// What promotion learned about one database's local copy and its replica (between its steps).
    struct PromotionFacts {
        var copyTXID: UInt64?
        var copyChecksum: UInt64?
        var copyEpoch: UInt64 = 0
        var storeFiles: [LTXFileInfo] = []
        /// The transactions the copy applied lately (sealed if the store lacks them).
        var recent: RecentTransactions?
        /// The standby copy while it is still its own record of its position:
        /// forgotten once the store holds everything it has (the replicator
        /// started), so a promotion failing before that leaves the position known.
        var copy: StandbyDatabase?
    }

    /// Performs one step the promotion machine asked for and reports its
    /// outcome back; returns the machine's next action.
    func performPromotion(_ step: PromotionStateMachine.Action) async -> NodeStateMachine.Action {
        switch step {
        case .none:
            return .none
        case .stopFollowing:
            await stopFollowing()
            promotionFacts = [:]
            for database in node.databases {
                let copy = standbys[database.name]
                promotionFacts[database.name] = PromotionFacts(
                    copyTXID: copy?.txid, copyChecksum: copy?.checksum, copyEpoch: copy?.epoch ?? 0,
                    recent: copy?.recent)
                copy?.close()
            }
            return machine.promotion(.followingStopped)
        case .inspect(let name):
            do {
                return machine.promotion(try await inspect(member(name)))
            } catch {
                return machine.promotion(.failed(reason: "\(name): \(error)"))
            }
        case .checkHistory(let name):
            do {
                let database = member(name)
                let facts = promotionFacts[name] ?? PromotionFacts()
                var contains = true  // no content: nothing that could be lost by replacing it
                var checksum = facts.copyChecksum
                if checksum == nil {
                    let path = database.path
                    // Reads the whole file: on a blocking-work thread.
                    checksum = try await BlockingWork.run { try LocalDatabase.checksum(path) }
                }
                if let checksum {
                    contains = try await StoreHistory.contains(
                        txid: facts.copyTXID, checksum: checksum, files: facts.storeFiles, in: database.store)
                }
                return machine.promotion(.historyChecked(database: name, contains: contains))
            } catch {
                return machine.promotion(.failed(reason: "\(name): \(error)"))
            }
        case .restore(let name, let keepAside):
            do {
                let database = member(name)
                let copyEpoch = promotionFacts[name]?.copyEpoch ?? 0
                let keep = node.config.divergedCopiesKept
                if keepAside,
                    let (aside, removed) = try LocalDatabase.setAside(
                        database.path, epoch: copyEpoch > 0 ? copyEpoch : machine.epoch, keep: keep)
                {
                    log(database, "the local copy is not a state of the store's history; kept it as \(aside)")
                    for old in removed { log(database, "removed \(old) (diverged.keep: \(keep ?? 0))") }
                }
                // The file is replaced: its standby record no longer describes it.
                standbys[name]?.forget()
                let result = try await Restorer(store: database.store).restore(
                    to: database.path, target: .latest, integrity: .quick, force: true)
                log(
                    database,
                    "restored the store's transaction \(result.txid) (\(result.filesApplied) files, \(result.timings.summary))"
                )
                return machine.promotion(.restored(database: name))
            } catch {
                return machine.promotion(.failed(reason: "\(name): \(error)"))
            }
        case .startReplicating(let after):
            do {
                for database in node.databases where (after[database.name] ?? 0) > 0 {
                    await recallOwnUnconfirmedTransactions(database)
                }
                // Every file is opened and checked before any database writes to the store.
                for database in node.databases {
                    try openReplicator(database, afterTXID: after[database.name] ?? 0)
                }
                for database in node.databases { try await startReplicating(database) }
                await startShipping()
                update { $0.epoch = max($0.epoch, machine.epoch) }
                return machine.promotion(.replicating)
            } catch {
                return machine.promotion(.failed(reason: "\(error)"))
            }
        case .startApp:
            do {
                try await startApp(epoch: machine.epoch)
                return machine.promotion(.appReady)
            } catch {
                return machine.promotion(.failed(reason: "\(error)"))
            }
        case .end(let outcome):
            promotionFacts = [:]
            switch outcome {
            case .serving:
                // The store holds everything this node has: the baton need no longer be kept for it alone.
                node.lease.dropInheritedSyncStandby()
                // A lease lost meanwhile is noticed by the next round, which fences.
                let serving = node.lease.mayWrite
                update {
                    $0.holdingTraffic = false
                    $0.serving = serving
                }
                let at = node.databases.map { database in
                    let txid = replicators[database.name]?.sealedTXID ?? 0
                    return node.databases.count > 1 ? "\(database.name) \(txid)" : String(txid)
                }
                let noun = node.databases.count > 1 ? "transactions" : "transaction"
                log("serving as holder (epoch \(machine.epoch), \(noun) \(at.joined(separator: ", ")))")
            case .failed(let reason):
                update { $0.holdingTraffic = false }
                log("could not become holder: \(reason)")
            case .leaseLost:
                update { $0.holdingTraffic = false }
                log("could not become holder: the lease was lost while starting")
            }
            return machine.promotionEnded(now: clock.now())
        }
    }

    /// Looks at the copy of `database` and at its newest file in the store.
    private func inspect(_ database: NodeDatabase) async throws -> PromotionStateMachine.Event {
        // The live history: a deposed holder's late upload past it is not the store's position.
        let files = try await ReplicaCatalog.liveFiles(in: database.store)
        promotionFacts[database.name, default: PromotionFacts()].storeFiles = files
        let facts = promotionFacts[database.name] ?? PromotionFacts()
        let copy = PromotionStateMachine.LocalCopy(
            txid: facts.copyTXID, epoch: facts.copyEpoch,
            exists: (FileSystem.attributes(database.path)?.size ?? 0) > 0)
        guard let newest = files.max(by: { ($0.maxTXID, -$0.level) < ($1.maxTXID, -$1.level) }) else {
            return .inspected(database: database.name, local: copy, store: nil)
        }
        // The listing read the headers: the epoch is known unless the cache gave up on it.
        var storeEpoch = newest.epoch ?? 0
        if newest.epoch == nil { storeEpoch = try await ReplicaCatalog.header(of: newest, in: database.store).nodeID }
        let local = facts.copyTXID.map(String.init) ?? "unknown"
        log(
            database,
            "local copy at transaction \(local) of epoch \(facts.copyEpoch); the store has \(newest.maxTXID) of epoch \(storeEpoch)"
        )
        return .inspected(
            database: database.name, local: copy, store: .init(txid: newest.maxTXID, epoch: storeEpoch))
    }

    /// Opens the replicator of `database` under the new epoch after
    /// `afterTXID` (0: the state the store gave); checks the file, writes nothing yet.
    private func openReplicator(_ database: NodeDatabase, afterTXID: UInt64) throws {
        promotionFacts[database.name, default: PromotionFacts()].copy = standbys.removeValue(forKey: database.name)
        var options = ReplicatorOptions()
        options.epoch = machine.epoch
        options.startAfterTXID = afterTXID
        options.enableWAL = true
        options.batchWindowMilliseconds = Int(config.storeBatchWindowMilliseconds)
        options.stateDirectory = database.stateDirectory
        options.retentionMilliseconds = config.retentionMilliseconds
        options.keepHourly = config.retentionHourly
        options.keepDaily = config.retentionDaily
        options.keepWeekly = config.retentionWeekly
        options.snapshotIntervalSeconds = config.snapshotIntervalMilliseconds / 1000
        do {
            try setAsideEarlierTerms(database)
            try LocalDatabase.createIfMissing(database.path)
            let replicator = try Replicator(
                databasePath: database.path, store: database.store, options: options, log: logger(for: database))
            // A kept copy may be ahead of the store: what it applied lately (as a standby), or what it
            // sealed and kept unconfirmed when it fenced itself (as this node's last term), saves a snapshot.
            if afterTXID > 0 { replicator.copyTail = promotionFacts[database.name]?.recent }
            // The copy kept its pages' checksums as it applied them: no whole read of the file for them.
            replicator.knownFileTable = promotionFacts[database.name]?.copy?.fileTable
            replicators[database.name] = replicator
        } catch let error as BatonError where !error.message.contains(database.path) {
            throw BatonError(error.code, "\(database.path): \(error.message)")
        }
    }

    /// A copy with no record of the stream (this node held the baton last):
    /// the transactions it sealed under the copy's epoch and the store never
    /// confirmed (kept aside when it stepped down, or still pending) become
    /// its record. Reads files: on a blocking-work thread.
    private func recallOwnUnconfirmedTransactions(_ database: NodeDatabase) async {
        let facts = promotionFacts[database.name] ?? PromotionFacts()
        guard facts.recent?.kept.isEmpty ?? true, facts.copyEpoch > 0 else { return }
        let (directory, epoch) = (database.stateDirectory, facts.copyEpoch)
        let recent = try? await BlockingWork.run { () -> RecentTransactions in
            let names = (try? FileSystem.list(directory)) ?? []
            let folders = names.filter { $0.hasPrefix("unconfirmed-") || $0 == "pending" }.map { directory + "/" + $0 }
            return SealedTransactions.record(inFolders: folders, epoch: epoch)
        }
        if let recent, !recent.kept.isEmpty { promotionFacts[database.name]?.recent = recent }
    }

    /// Sealed files an earlier term left unconfirmed (a holder killed before
    /// it uploaded them, or whose start failed) are moved aside, never
    /// uploaded by this term: they may show a history the store has since
    /// replaced, and whatever they hold that this node kept is in its copy.
    private func setAsideEarlierTerms(_ database: NodeDatabase) throws {
        let aside = "\(database.stateDirectory)/unconfirmed-before-epoch-\(machine.epoch)-\(clock.now())"
        let keep = config.divergedCopiesKept
        let (count, removed, failures) = try LocalDatabase.setAsideUnconfirmed(
            database.stateDirectory + "/pending", to: aside, keep: keep)
        if count > 0 {
            log(
                database,
                "\(count) sealed files of an earlier term the store never confirmed are kept in \(aside), not uploaded")
        }
        for old in removed { log(database, "removed \(old) (diverged.keep: \(keep ?? 0))") }
        for failure in failures { log(database, "diverged.keep: \(failure)") }
    }

    /// Starts replicating `database` (opened by `openReplicator`) and streaming it to standbys.
    private func startReplicating(_ database: NodeDatabase) async throws {
        guard let replicator = replicators[database.name] else { return }
        try await replicator.start()
        // The store holds the copy's state now; from here on the app writes the file.
        promotionFacts[database.name]?.copy?.forget()
        replicator.attach(tap: database.feed)
        let start = replicator.stats.snapshotsWritten > 0 ? replicator.sealedTXID : replicator.sealedTXID + 1
        database.state.withLock {
            $0.epochStartTXID = start
            $0.holderTXID = nil
            // Only this term's uploads count: an older term's files may be fenced out.
            $0.storedTXID = 0
        }
    }
}
