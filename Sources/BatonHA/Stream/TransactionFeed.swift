import BatonCore
import BatonReplication
import BatonSystem
import Synchronization

/// The holder's recent history, one LTX file per transaction, for standbys
/// to pull: a bounded in-memory window after the stream's start (the
/// holder's position when it began streaming, or the last restart). A
/// standby says where it is (TXID and checksum); the feed answers with what
/// follows, or tells it that it diverged or fell behind the window.
final class TransactionFeed: TransactionTap {
    /// What a standby at some position gets.
    enum Answer: Equatable {
        /// These transactions follow its position.
        case transactions([StreamedTransaction])
        /// It is at the newest transaction.
        case upToDate
        /// Its state is not in our history at that TXID (or it is ahead of us).
        case diverged(String)
        /// Its position is older than the window; it must catch up from the store.
        case gone(String)
        /// The stream is restarting (a snapshot or resync in progress); ask again shortly.
        case unavailable

        /// Whether the standby's position was found in this holder's history.
        var confirmsPosition: Bool {
            switch self {
            case .transactions, .upToDate: return true
            case .diverged, .gone, .unavailable: return false
            }
        }
    }

    private struct State {
        var startTXID: UInt64 = 0
        /// 0 while the stream's state is unknown.
        var startChecksum: UInt64 = 0
        var entries: [StreamedTransaction] = []
        var bytes = 0
        var peerPositions: [String: UInt64] = [:]
        var peerSeen: [String: Int64] = [:]
    }

    private let state = Mutex(State())
    /// Signalled on every commit and restart.
    let changes: ChangeSignal
    private let clock: any BatonClock
    private let maxBytes: Int
    private let maxBatchBytes: Int

    /// A feed keeping up to `maxBytes` of transactions and answering with up to `maxBatchBytes` at once.
    init(clock: any BatonClock = SystemClock(), maxBytes: Int = 256 << 20, maxBatchBytes: Int = 16 << 20) {
        self.clock = clock
        changes = ChangeSignal(clock: clock)
        self.maxBytes = maxBytes
        self.maxBatchBytes = maxBatchBytes
    }

    func committed(_ transaction: StreamedTransaction) {
        state.withLock { state in
            state.entries.append(transaction)
            state.bytes += transaction.ltx.count
            var drop = 0
            while state.bytes > maxBytes, drop < state.entries.count - 1 {
                state.bytes -= state.entries[drop].ltx.count
                drop += 1
            }
            if drop > 0 {
                state.startTXID = state.entries[drop - 1].txid
                state.startChecksum = state.entries[drop - 1].postApplyChecksum
                state.entries.removeFirst(drop)
            }
        }
        changes.signal()
    }

    func restarted(txid: UInt64, checksum: UInt64) {
        state.withLock { state in
            state.startTXID = txid
            state.startChecksum = checksum
            state.entries.removeAll()
            state.bytes = 0
            // Positions confirmed against the old window (or an earlier term) count no more.
            state.peerPositions.removeAll()
        }
        changes.signal()
    }

    /// The newest transaction and its checksum.
    var latest: (txid: UInt64, checksum: UInt64) {
        state.withLock { state in
            state.entries.last.map { ($0.txid, $0.postApplyChecksum) } ?? (state.startTXID, state.startChecksum)
        }
    }

    /// The TXID the window starts after.
    var startTXID: UInt64 { state.withLock { $0.startTXID } }

    /// What a standby at `after` with database checksum `checksum` should get.
    func answer(after: UInt64, checksum: UInt64) -> Answer {
        state.withLock { state in
            guard state.startChecksum != 0 else { return .unavailable }
            let latest = state.entries.last?.txid ?? state.startTXID
            if after > latest {
                return .diverged("the standby is at transaction \(after) but the holder's newest is \(latest)")
            }
            if after < state.startTXID {
                return .gone(
                    "transaction \(after) is older than the holder's stream window (starts after \(state.startTXID))")
            }
            let known =
                after == state.startTXID
                ? state.startChecksum : state.entries[Int(after - state.startTXID) - 1].postApplyChecksum
            guard known == checksum else {
                return .diverged(
                    "at transaction \(after) the holder's checksum is \(LTXFileInfo.hex(known)), the standby's \(LTXFileInfo.hex(checksum))"
                )
            }
            if after == latest { return .upToDate }
            var batch: [StreamedTransaction] = []
            var size = 0
            for entry in state.entries[Int(after - state.startTXID)...] {
                if !batch.isEmpty, size + entry.ltx.count > maxBatchBytes { break }
                batch.append(entry)
                size += entry.ltx.count
            }
            return .transactions(batch)
        }
    }

    /// The TXID in the window whose state has `checksum`, if any (for a
    /// standby that knows its checksum but not its TXID).
    func locate(checksum: UInt64) -> UInt64? {
        state.withLock { state in
            if let entry = state.entries.last(where: { $0.postApplyChecksum == checksum }) { return entry.txid }
            return state.startChecksum == checksum && checksum != 0 ? state.startTXID : nil
        }
    }

    /// Records that `peer` has applied everything up to `txid` (now, on the feed's clock).
    func acknowledge(peer: String, txid: UInt64) {
        let now = clock.now()
        state.withLock {
            $0.peerPositions[peer] = txid
            $0.peerSeen[peer] = now
        }
    }

    /// What each standby last said it had applied.
    var peerPositions: [String: UInt64] { state.withLock { $0.peerPositions } }

    /// When each standby last asked for the stream (monotonic milliseconds).
    var peerLastSeen: [String: Int64] { state.withLock { $0.peerSeen } }

    /// Waits until something new arrives after `after`, the stream restarts,
    /// or `timeoutMilliseconds` pass.
    func wait(after: UInt64, timeoutMilliseconds: Int64) async {
        let seen = changes.version
        let waiting = state.withLock { state in
            (state.entries.last?.txid ?? state.startTXID) == after && state.startChecksum != 0
        }
        guard waiting else { return }
        await changes.wait(from: seen, timeoutMilliseconds: timeoutMilliseconds)
    }
}
