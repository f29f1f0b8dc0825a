import BatonCore
import BatonReplication
import BatonSystem
import Foundation

/// The standby's side of one database's stream: asks the holder for what
/// follows its position (a long poll that doubles as the heartbeat),
/// applies it, and when the holder says the copy diverged or fell behind
/// its window, keeps the copy aside (if it cannot be proven a prefix) and
/// rebuilds it from the database's replica in the store.
struct StandbyFollower: Sendable {
    let node: Node
    let database: NodeDatabase
    let copy: UncheckedBox<StandbyDatabase>
    let holderAPI: String
    let log: @Sendable (String) -> Void

    /// The query naming this database on the holder's `/stream` and `/locate`.
    private var databaseQuery: String {
        let name = database.name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? database.name
        return "db=\(name)"
    }

    /// How long after it starts, and then how often, a follower reads the
    /// headers of the store's new files (see `keepHeadersRead`).
    static let headerReadingMilliseconds: (first: Int64, every: Int64) = (5_000, 10_000)

    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await keepHeadersRead() }
            await follow()
            group.cancelAll()
        }
    }

    /// Reads, now and then, the headers of the files a rebuild would read (a
    /// few requests in flight), so that a rebuild — a diverged or lost copy,
    /// often right after a failover — reads only the newest headers
    /// (ReplicaHeaderCache: thousands of ranged reads took most of a 14 s
    /// rebuild in a chaos run).
    private func keepHeadersRead() async {
        var wait = Self.headerReadingMilliseconds.first
        while !Task.isCancelled {
            do {
                try await node.clock.sleep(milliseconds: wait)
                wait = Self.headerReadingMilliseconds.every
                // Not while the copy is being located or rebuilt: the rebuild reads them itself,
                // and a second listing beside it only slows both.
                guard database.copyGate.withLock({ $0 }) else { continue }
                _ = try await ReplicaCatalog.newest(in: database.store, width: 4)
            } catch is CancellationError {
                return
            } catch {
                // Not this task's to report: the store's trouble shows wherever it matters.
                continue
            }
        }
    }

    private func follow() async {
        var failures = 0
        while !Task.isCancelled {
            do {
                let delay = try await round()
                failures = 0
                if delay > 0 { try await node.clock.sleep(milliseconds: delay) }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                failures += 1
                if failures == 1 || failures % 50 == 0 { log("stream from \(holderAPI): \(error)") }
                try? await node.clock.sleep(milliseconds: 100)
            }
        }
    }

    /// One request; returns how long to wait before the next.
    private func round() async throws -> Int64 {
        let copy = self.copy.value
        guard let txid = copy.txid, let checksum = copy.checksum else {
            try await locateOrRebuild()
            return 0
        }
        let url =
            "\(holderAPI)/stream?\(databaseQuery)&after=\(txid)&checksum=\(LTXFileInfo.hex(checksum))&node=\(node.config.name)"
        let reply = try await node.peers.send(.GET, url, timeoutMilliseconds: 5000, maxBytes: 64 << 20)
        let epoch = reply.headers.first(name: "X-Baton-Epoch").flatMap(UInt64.init) ?? 0
        let holderTXID = reply.headers.first(name: "X-Baton-TXID").flatMap(UInt64.init)
        let epochStart = reply.headers.first(name: "X-Baton-Epoch-Start").flatMap(UInt64.init) ?? 0
        switch reply.status {
        case 200:
            // A deposed holder that has not noticed yet: nothing from an older epoch is applied.
            let newest = node.snapshot.epoch
            if epoch < newest {
                log("ignored the stream of \(holderAPI): its epoch \(epoch) is older than \(newest)")
                return 500
            }
            let records = try FramedBatch.decode(reply.body)
            if !records.isEmpty {
                do {
                    // Writes and fsyncs the copy: on a blocking-work thread (this follower owns the copy).
                    try await BlockingWork.runExclusive {
                        try database.copyGate.withLock { readable in
                            try copy.apply(records)
                            readable = true
                        }
                    }
                } catch let error as BatonError where error.code == .diverged {
                    // Something else wrote to the copy: kept aside with what it wrote, then rebuilt.
                    log("refused to apply the holder's transactions: \(error.message)")
                    try await rebuild(keepAside: true, epoch: epoch, epochStart: epochStart)
                    return 0
                } catch let error as BatonError
                    where [.checksumMismatch, .gap, .corrupt].contains(error.code)
                {
                    // Refused before touching the copy, which is still a state the holder
                    // confirmed; retrying would refuse again, so start over from the store.
                    log("refused the holder's transactions: \(error.message)")
                    try await rebuild(keepAside: false, epoch: epoch, epochStart: epochStart)
                    return 0
                }
                node.metrics.appliedTransactions.increment(by: Int64(records.count))
            }
            if records.isEmpty { database.copyGate.withLock { $0 = true } }
            let now = node.clock.now()
            if epoch > newest { node.inbox.send(.epochSeen(epoch)) }
            database.state.withLock { state in
                state.lastContact = now
                state.holderTXID = holderTXID
                state.localTXID = copy.txid
                state.epochStartTXID = epochStart
                if let holderTXID, (copy.txid ?? 0) >= holderTXID { state.lastCaughtUp = now }
            }
            // Reads waiting for a TXID on this copy look again.
            node.changes.signal()
            return 0
        case 409:
            let reason = String(decoding: reply.body, as: UTF8.self)
            log("the local copy diverged from the holder: \(reason)")
            try await rebuild(keepAside: true, epoch: epoch, epochStart: epochStart)
            return 0
        case 410:
            let reason = String(decoding: reply.body, as: UTF8.self)
            log("the local copy is behind the holder's stream: \(reason)")
            // A holder promoted from a copy the store lagged behind starts its window with a
            // snapshot of that copy under the next TXID: a copy at the same state (this one, when it
            // was the old holder's last) has the snapshot's checksum and goes on from there.
            if let located = try await locate(checksum: checksum).txid {
                // Reads the whole copy to prove its checksum: on a blocking-work thread.
                _ = try await BlockingWork.runExclusive {
                    try copy.adopt(txid: located, checksum: checksum, epoch: epoch)
                }
                log("the local copy is the holder's state at transaction \(located) (same checksum); following on")
                return 0
            }
            let files = try await ReplicaCatalog.files(in: database.store, headers: false)
            let proven = try await StoreHistory.contains(
                txid: txid, checksum: checksum, files: files, in: database.store)
            try await rebuild(keepAside: !proven, epoch: epoch, epochStart: epochStart)
            return 0
        case 401, 403:
            log(
                "the holder refused the stream request (\(reply.status)): check that both nodes use the same token")
            return 2000
        default:
            return 100
        }
    }

    /// A copy whose position is unknown: ask the holder where its checksum
    /// was; if nowhere, keep the copy aside and rebuild from the store.
    private func locateOrRebuild() async throws {
        let copy = self.copy.value
        if let checksum = try LocalDatabase.checksum(copy.path) {
            let located = try await locate(checksum: checksum)
            if let txid = located.txid {
                _ = try await BlockingWork.runExclusive { try copy.adopt(txid: txid, checksum: checksum, epoch: 0) }
                log("the local copy is the holder's state at transaction \(txid)")
                return
            }
            try await rebuild(keepAside: true, epoch: located.epoch, epochStart: located.epochStart)
        } else {
            let reply = try await node.peers.send(
                .GET, "\(holderAPI)/locate?\(databaseQuery)&checksum=0", timeoutMilliseconds: 5000)
            guard reply.status == 404 || reply.status == 200 else {
                throw BatonError(.io, "locate answered \(reply.status)")
            }
            let epoch = reply.headers.first(name: "X-Baton-Epoch").flatMap(UInt64.init) ?? 0
            let start = reply.headers.first(name: "X-Baton-Epoch-Start").flatMap(UInt64.init) ?? 0
            try await rebuild(keepAside: false, epoch: epoch, epochStart: start)
        }
    }

    /// Where in the holder's stream window the state with `checksum` is
    /// (nil: nowhere), with the holder's epoch and the TXID it started at.
    private func locate(checksum: UInt64) async throws -> (txid: UInt64?, epoch: UInt64, epochStart: UInt64) {
        let reply = try await node.peers.send(
            .GET, "\(holderAPI)/locate?\(databaseQuery)&checksum=\(LTXFileInfo.hex(checksum))",
            timeoutMilliseconds: 5000)
        let epoch = reply.headers.first(name: "X-Baton-Epoch").flatMap(UInt64.init) ?? 0
        let start = reply.headers.first(name: "X-Baton-Epoch-Start").flatMap(UInt64.init) ?? 0
        if reply.status == 200, let txid = UInt64(String(decoding: reply.body, as: UTF8.self)) {
            return (txid, epoch, start)
        }
        guard reply.status == 404 else { throw BatonError(.io, "locate answered \(reply.status)") }
        return (nil, epoch, start)
    }

    /// Replaces the copy with the store's newest state (fenced by the holder's epoch).
    private func rebuild(keepAside: Bool, epoch: UInt64, epochStart: UInt64) async throws {
        let copy = self.copy.value
        // Named after the epoch that wrote the copy's last transaction.
        let copyEpoch = copy.epoch > 0 ? copy.epoch : epoch
        database.copyGate.withLock { $0 = false }
        copy.forget()
        if keepAside,
            let (aside, removed) = try LocalDatabase.setAside(
                copy.path, epoch: copyEpoch, keep: node.config.divergedCopiesKept)
        {
            log("kept the diverged copy as \(aside)")
            for old in removed { log("removed \(old) (diverged.keep: \(node.config.divergedCopiesKept ?? 0))") }
        }
        let starts: [UInt64: UInt64] = epoch > 0 && epochStart > 0 ? [epoch: epochStart] : [:]
        let result = try await Restorer(store: database.store).restore(
            to: copy.path, target: .latest, integrity: .quick, force: true, epochStarts: starts)
        try copy.adopt(txid: result.txid, checksum: result.checksum, epoch: epoch)
        log(
            "rebuilt the local copy from \(database.store.displayURL) at transaction \(result.txid) "
                + "(\(result.filesApplied) files, \(result.timings.summary))")
    }
}
