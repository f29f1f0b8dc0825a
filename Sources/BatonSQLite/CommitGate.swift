import Synchronization

/// What a `StatementRunner`'s commit hook asks (from SQLite's thread, inside
/// the commit): whether the commit may happen. Counts the commits it let
/// through and remembers a refusal until asked.
final class CommitGate: Sendable {
    private let mayCommit: (@Sendable () -> Bool)?
    private let refused = Atomic<Bool>(false)
    private let commits = Atomic<Int>(0)

    /// A gate asking `mayCommit` (nil: every commit may happen).
    init(_ mayCommit: (@Sendable () -> Bool)?) { self.mayCommit = mayCommit }

    /// True when the commit must become a rollback (and remembers it).
    func refuses() -> Bool {
        if mayCommit?() ?? true {
            commits.add(1, ordering: .relaxed)
            return false
        }
        refused.store(true, ordering: .relaxed)
        return true
    }

    /// Whether a commit was refused since the last call.
    func takeRefusal() -> Bool { refused.exchange(false, ordering: .relaxed) }

    /// How many write transactions committed.
    var committed: Int { commits.load(ordering: .relaxed) }
}
