/// What one statement of a relay request produced, in rqlite's shapes.
public struct RelayResult: Equatable, Sendable {
    /// What kind of answer.
    public var outcome: Outcome
    /// Seconds the statement took (reported with `?timings`).
    public var seconds: Double

    /// The kinds of answer.
    public enum Outcome: Equatable, Sendable {
        /// A statement that changed (or could change) the database.
        case executed(lastInsertID: Int64, rowsAffected: Int64)
        /// Rows: column names, their types (declared, else the first row's storage class), values.
        case rows(columns: [String], types: [String], values: [[RelayValue]])
        /// SQLite's (or Baton's) error for this statement.
        case error(String)
    }

    /// A result.
    public init(_ outcome: Outcome, seconds: Double = 0) {
        self.outcome = outcome
        self.seconds = seconds
    }

    /// Whether this is an error.
    public var isError: Bool {
        if case .error = outcome { return true }
        return false
    }
}
