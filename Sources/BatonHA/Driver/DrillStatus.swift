import BatonReplication

/// The last scheduled restore drill (`verify:` in baton.yml), as `/status`
/// shows it and as it is kept in `<first db>-baton/last-drill.json` (so a
/// restart does not make it due again).
public struct DrillStatus: Codable, Sendable, Equatable {
    /// When it started (milliseconds since 1970).
    public var startedMilliseconds: Int64
    /// Whether every restore of every database passed.
    public var passed: Bool
    /// Restores made.
    public var restores: Int
    /// One line per failed restore: database, point and why.
    public var failures: [String]
    /// When the last drill that passed started (the metric's time).
    public var lastPassedMilliseconds: Int64?

    /// The outcome of one drill over the group's databases (`reports` by name).
    init(reports: [(name: String, report: RestoreDrill.Report)], startedMilliseconds: Int64, previous: DrillStatus?) {
        self.startedMilliseconds = startedMilliseconds
        passed = !reports.isEmpty && reports.allSatisfy(\.report.passed)
        restores = reports.map(\.report.points.count).reduce(0, +)
        failures = reports.flatMap { item in
            item.report.points.compactMap { point in point.error.map { "\(item.name) \(point.target): \($0)" } }
        }
        lastPassedMilliseconds = passed ? startedMilliseconds : previous?.lastPassedMilliseconds
    }
}
