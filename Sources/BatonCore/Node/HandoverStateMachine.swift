/// A planned hand-over of the baton from this holder to a standby, for a
/// group of databases: hold new requests and let in-flight ones finish,
/// stop the app, seal what it wrote, wait until one standby has confirmed
/// every database's last transaction, upload the last files, release the
/// lease, and offer it to that standby. Pure: time comes in as arguments,
/// waits go out as timers in actions and come back as `timerFired` events.
///
/// The safety argument: the lease is released only once a standby has
/// confirmed, for *every* database of the group, the TXID sealed after the
/// app stopped, so the node offered the baton holds every committed
/// transaction. A lease lost before the release ends the hand-over with
/// `.leaseLost` (the node fences); nothing is offered then.
public struct HandoverStateMachine: Sendable {
    /// A wait the driver arms; it reports `timerFired` with the same value.
    public struct Timer: Hashable, Sendable {
        /// What the wait is for.
        public enum Kind: Hashable, Sendable {
            /// The longest the in-flight requests may take to finish.
            case drain
            /// The longest a standby may take to confirm the last transactions.
            case standbyConfirmation
        }

        /// What the wait is for.
        public var kind: Kind
        /// When it fires (monotonic milliseconds).
        public var deadline: Int64

        /// A timer of `kind` due at `deadline`.
        public init(_ kind: Kind, deadline: Int64) {
            self.kind = kind
            self.deadline = deadline
        }
    }

    /// How long each wait may last.
    public struct Settings: Sendable, Equatable {
        /// In-flight requests get this long to finish before the app is stopped anyway.
        public var drainMilliseconds: Int64
        /// A standby gets this long to confirm every database's last transaction.
        public var confirmMilliseconds: Int64

        /// Settings with both waits.
        public init(drainMilliseconds: Int64, confirmMilliseconds: Int64) {
            self.drainMilliseconds = drainMilliseconds
            self.confirmMilliseconds = confirmMilliseconds
        }
    }

    /// What happened, reported to the driver.
    public enum Event: Equatable, Sendable {
        /// No request is in flight any more.
        case drained
        /// A timer from an action is due.
        case timerFired(Timer)
        /// The app has exited.
        case appStopped
        /// Everything the app wrote is sealed: each database's last TXID.
        case sealed([String: UInt64])
        /// What each standby has confirmed: peer → database → TXID.
        case standbyPositions([String: [String: UInt64]])
        /// The last files' upload ended.
        case uploaded(succeeded: Bool)
        /// The lease is released (written as expired, keeping the epoch).
        case released
        /// The chosen standby was told to take the baton.
        case offered
        /// The lease can no longer be proven held.
        case leaseLost
    }

    /// Work for the driver.
    public enum Action: Equatable, Sendable {
        case none
        /// Hold new requests; report `drained` once none is in flight, or the timer.
        case holdTraffic(until: Timer)
        /// Stop the app (report `appStopped`).
        case stopApp
        /// Stop shipping, seal everything captured, report `sealed`.
        case sealDatabases
        /// Report `standbyPositions` as they change, or the timer.
        case awaitStandby(until: Timer)
        /// Upload the sealed files the store lacks (report `uploaded`).
        case uploadLastFiles
        /// Release the lease (report `released`).
        case releaseLease
        /// Tell this standby to take the baton now (report `offered`).
        case offerTakeover(to: String)
        /// The hand-over is over.
        case end(Outcome)
    }

    /// How a hand-over ended.
    public enum Outcome: Equatable, Sendable {
        /// The lease was released and offered to a standby that has everything.
        case handedOver(Report)
        /// Nobody could take it; the lease is still ours (serve again, or fence when shutting down).
        case failed(reason: String)
        /// The lease was lost before it could be released: fence.
        case leaseLost
    }

    /// What a completed hand-over reports.
    public struct Report: Equatable, Sendable {
        /// The standby that was offered the baton.
        public var to: String
        /// Each database's last transaction before the switch.
        public var finalTXIDs: [String: UInt64]
        /// How long requests were held before the lease was released.
        public var heldMilliseconds: Int64
    }

    private enum State: Equatable, Sendable {
        case starting
        case draining(Timer)
        case stoppingApp
        case sealing
        case awaitingStandby(finals: [String: UInt64], Timer)
        /// Uploading the last files; `chosen` is nil when nobody can take over (`reason` says why).
        case uploading(chosen: String?, finals: [String: UInt64], reason: String)
        case releasing(chosen: String, finals: [String: UInt64])
        case offering(chosen: String, finals: [String: UInt64], heldMilliseconds: Int64)
        case ended(Outcome)
    }

    private var state: State = .starting
    private let candidates: [String]
    private let databases: [String]
    private let settings: Settings
    private var startedAt: Int64 = 0
    /// Peer → database → confirmed TXID, as last reported.
    private var positions: [String: [String: UInt64]] = [:]

    /// A hand-over of `databases` to `candidates` (in order of preference).
    public init(candidates: [String], databases: [String], settings: Settings) {
        self.candidates = candidates
        self.databases = databases
        self.settings = settings
    }

    /// The outcome once the hand-over is over.
    public var outcome: Outcome? {
        if case .ended(let outcome) = state { return outcome }
        return nil
    }

    /// Starts the hand-over at `now`.
    public mutating func start(now: Int64) -> Action {
        guard state == .starting else { return invalid("start") }
        startedAt = now
        let timer = Timer(.drain, deadline: now + settings.drainMilliseconds)
        state = .draining(timer)
        return .holdTraffic(until: timer)
    }

    /// Feeds one event.
    public mutating func handle(_ event: Event, now: Int64) -> Action {
        switch event {
        case .standbyPositions(let table):
            positions = table
            if case .awaitingStandby(let finals, _) = state, let chosen = chosen(finals) {
                state = .uploading(chosen: chosen, finals: finals, reason: "")
                return .uploadLastFiles
            }
            return .none
        case .leaseLost:
            switch state {
            case .starting, .draining, .stoppingApp, .sealing, .awaitingStandby, .uploading:
                state = .ended(.leaseLost)
                return .end(.leaseLost)
            case .releasing, .offering, .ended:
                // Released (or being released) on purpose: losing it is the point.
                return .none
            }
        case .drained:
            guard case .draining = state else { return .none }  // reported again after the timer: nothing new
            state = .stoppingApp
            return .stopApp
        case .timerFired(let timer):
            return timerFired(timer)
        case .appStopped:
            guard state == .stoppingApp else { return invalid("appStopped") }
            state = .sealing
            return .sealDatabases
        case .sealed(let finals):
            guard state == .sealing else { return invalid("sealed") }
            if candidates.isEmpty {
                state = .uploading(chosen: nil, finals: finals, reason: "there is no standby to take the baton")
                return .uploadLastFiles
            }
            if let chosen = chosen(finals) {
                state = .uploading(chosen: chosen, finals: finals, reason: "")
                return .uploadLastFiles
            }
            let timer = Timer(.standbyConfirmation, deadline: now + settings.confirmMilliseconds)
            state = .awaitingStandby(finals: finals, timer)
            return .awaitStandby(until: timer)
        case .uploaded:
            // A failed upload is not fatal: the chosen standby has everything, and
            // without one the lease stays ours and the files stay pending.
            guard case .uploading(let chosen, let finals, let reason) = state else { return invalid("uploaded") }
            guard let chosen else {
                state = .ended(.failed(reason: reason))
                return .end(.failed(reason: reason))
            }
            state = .releasing(chosen: chosen, finals: finals)
            return .releaseLease
        case .released:
            guard case .releasing(let chosen, let finals) = state else { return invalid("released") }
            state = .offering(chosen: chosen, finals: finals, heldMilliseconds: now - startedAt)
            return .offerTakeover(to: chosen)
        case .offered:
            guard case .offering(let chosen, let finals, let held) = state else { return invalid("offered") }
            let outcome = Outcome.handedOver(Report(to: chosen, finalTXIDs: finals, heldMilliseconds: held))
            state = .ended(outcome)
            return .end(outcome)
        }
    }

    private mutating func timerFired(_ timer: Timer) -> Action {
        switch state {
        case .draining(let armed) where armed == timer:
            // Requests still running are cut off with the app; every commit before it stops is still sealed.
            state = .stoppingApp
            return .stopApp
        case .awaitingStandby(let finals, let armed) where armed == timer:
            let waiting = candidates.joined(separator: ", ")
            let reason = "no standby (\(waiting)) confirmed \(describe(finals)) in time"
            state = .uploading(chosen: nil, finals: finals, reason: reason)
            return .uploadLastFiles
        default:
            // A timer of a step already passed.
            return .none
        }
    }

    /// The first candidate that confirmed every database's final TXID.
    private func chosen(_ finals: [String: UInt64]) -> String? {
        candidates.first { peer in
            let confirmed = positions[peer] ?? [:]
            return databases.allSatisfy { (confirmed[$0] ?? 0) >= (finals[$0] ?? 0) }
        }
    }

    private func describe(_ finals: [String: UInt64]) -> String {
        if databases.count == 1, let only = databases.first {
            return "transaction \(finals[only] ?? 0)"
        }
        return "the last transactions (" + databases.map { "\($0) \(finals[$0] ?? 0)" }.joined(separator: ", ") + ")"
    }

    private func invalid(_ event: String) -> Action {
        assertionFailure("hand-over: \(event) is impossible in state \(state)")
        return .none
    }
}
