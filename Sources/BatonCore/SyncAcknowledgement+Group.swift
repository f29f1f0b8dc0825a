extension SyncAcknowledgement {
    /// The decision for a write in a group of databases, with `facts` per
    /// database (the write may have committed in any of them, so its target
    /// in each is that database's WAL end after the app answered). The
    /// response leaves only when every database is acknowledged; any
    /// database that cannot be confirmed makes the write unconfirmed (its
    /// reason names that database); otherwise the strongest wait applies
    /// (dropping the standby before waiting for the store).
    public static func decide(group facts: [String: Facts]) -> Decision {
        let decisions = facts.keys.sorted().map { ($0, decide(facts[$0]!)) }
        var allByStandby: String?
        var acknowledged = 0
        var wanted = Decision.wait
        for (name, decision) in decisions {
            switch decision {
            case .unconfirmed(let reason):
                return .unconfirmed(facts.count > 1 ? "\(name): \(reason)" : reason)
            case .acknowledgedByStandby(let standby):
                acknowledged += 1
                allByStandby = standby
            case .acknowledgedByStore:
                acknowledged += 1
            case .waitDroppingStandby:
                wanted = .waitDroppingStandby
            case .waitForStore:
                if wanted == .wait { wanted = .waitForStore }
            case .wait:
                break
            }
        }
        guard acknowledged == decisions.count else { return wanted }
        let byStandby = decisions.allSatisfy {
            if case .acknowledgedByStandby = $0.1 { return true }
            return false
        }
        if byStandby, let allByStandby { return .acknowledgedByStandby(allByStandby) }
        return .acknowledgedByStore
    }
}
