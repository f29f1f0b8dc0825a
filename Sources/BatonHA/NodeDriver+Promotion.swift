import BatonCore
import BatonNode
import BatonStore
import BatonSystem

extension NodeDriver {
    /// What promotion learned about the local copy and the store (between its steps).
    struct PromotionFacts {
        var copyTXID: UInt64?
        var copyChecksum: UInt64?
        var copyEpoch: UInt64 = 0
        var storeFiles: [LTXFileInfo] = []
    }

    /// Performs one step the promotion machine asked for and reports its
    /// outcome back; returns the machine's next action.
    func performPromotion(_ step: PromotionStateMachine.Action) async -> NodeStateMachine.Action {
        switch step {
        case .none:
            return .none
        case .stopFollowing:
            await stopFollowing()
            promotionFacts = PromotionFacts(
                copyTXID: standby?.txid, copyChecksum: standby?.checksum, copyEpoch: standby?.epoch ?? 0)
            standby?.close()
            return machine.promotion(.followingStopped)
        case .inspect(let database):
            do {
                return machine.promotion(try await inspect(database))
            } catch {
                return machine.promotion(.failed(reason: "\(error)"))
            }
        case .checkHistory(let database):
            do {
                var contains = true  // no content: nothing that could be lost by replacing it
                if let checksum = try promotionFacts.copyChecksum ?? LocalDatabase.checksum(databasePath) {
                    contains = try await StoreHistory.contains(
                        txid: promotionFacts.copyTXID, checksum: checksum, files: promotionFacts.storeFiles,
                        in: node.store)
                }
                return machine.promotion(.historyChecked(database: database, contains: contains))
            } catch {
                return machine.promotion(.failed(reason: "\(error)"))
            }
        case .restore(let database, let keepAside):
            do {
                let copyEpoch = promotionFacts.copyEpoch
                if keepAside,
                    let aside = try LocalDatabase.setAside(
                        databasePath, epoch: copyEpoch > 0 ? copyEpoch : machine.epoch)
                {
                    log("the local copy is not a state of the store's history; kept it as \(aside)")
                }
                _ = try await Restorer(store: node.store).restore(
                    to: databasePath, target: .latest, integrity: .quick, force: true)
                return machine.promotion(.restored(database: database))
            } catch {
                return machine.promotion(.failed(reason: "\(error)"))
            }
        case .startReplicating(let after):
            do {
                try await startReplicating(afterTXID: after[config.databaseNames[0]] ?? 0)
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
            promotionFacts = PromotionFacts()
            switch outcome {
            case .serving:
                // A lease lost meanwhile is noticed by the next round, which fences.
                let serving = node.lease.mayWrite
                node.shared.withLock {
                    $0.holdingTraffic = false
                    $0.serving = serving
                }
                log("serving as holder (epoch \(machine.epoch), transaction \(replicator?.sealedTXID ?? 0))")
            case .failed(let reason):
                node.shared.withLock { $0.holdingTraffic = false }
                log("could not become holder: \(reason)")
            case .leaseLost:
                node.shared.withLock { $0.holdingTraffic = false }
                log("could not become holder: the lease was lost while starting")
            }
            return machine.promotionEnded(now: MonotonicClock.now())
        }
    }

    /// Looks at the copy of `database` and at its newest file in the store.
    private func inspect(_ database: String) async throws -> PromotionStateMachine.Event {
        let files = try await ReplicaCatalog.files(in: node.store, headers: false)
        promotionFacts.storeFiles = files
        let facts = promotionFacts
        let copy = PromotionStateMachine.LocalCopy(
            txid: facts.copyTXID, epoch: facts.copyEpoch,
            exists: (FileSystem.attributes(databasePath)?.size ?? 0) > 0)
        guard let newest = files.max(by: { ($0.maxTXID, -$0.level) < ($1.maxTXID, -$1.level) }) else {
            return .inspected(database: database, local: copy, store: nil)
        }
        let storeEpoch = try await ReplicaCatalog.header(of: newest, in: node.store).nodeID
        let local = facts.copyTXID.map(String.init) ?? "unknown"
        log(
            "\(database): local copy at transaction \(local) of epoch \(facts.copyEpoch); the store has \(newest.maxTXID) of epoch \(storeEpoch)"
        )
        return .inspected(
            database: database, local: copy, store: .init(txid: newest.maxTXID, epoch: storeEpoch))
    }

    /// Starts replicating under the new epoch after `afterTXID` (0: the
    /// state the store gave) and streaming to standbys.
    private func startReplicating(afterTXID: UInt64) async throws {
        standby?.forget()
        standby = nil
        try LocalDatabase.createIfMissing(databasePath)
        let epoch = machine.epoch
        var options = ReplicatorOptions()
        options.epoch = epoch
        options.startAfterTXID = afterTXID
        options.enableWAL = true
        options.batchWindowMilliseconds = Int(config.storeBatchWindowMilliseconds)
        options.stateDirectory = stateDirectory
        let replicator = try Replicator(databasePath: databasePath, store: node.store, options: options, log: node.log)
        self.replicator = replicator
        try await replicator.start()
        replicator.attach(tap: node.feed)
        startShipping()
        let start = replicator.stats.snapshotsWritten > 0 ? replicator.sealedTXID : replicator.sealedTXID + 1
        node.shared.withLock {
            $0.epochStartTXID = start
            $0.epoch = epoch
            $0.holderTXID = nil
            // Only this term's uploads count: an older term's files may be fenced out.
            $0.storedTXID = 0
        }
    }
}
