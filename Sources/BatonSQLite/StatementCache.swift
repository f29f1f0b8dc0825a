import CSQLite

/// A connection's prepared statements kept between requests, by their SQL
/// text: a relay client sends the same few statements over and over, and
/// preparing one costs more than running a single-row write. Bounded; the
/// statement used longest ago is finalized first. A statement is reset
/// and its bindings cleared when it comes back, so the next use starts
/// clean (SQLite prepares it again by itself after a schema change).
/// Not thread-safe: one per connection.
struct StatementCache {
    /// Statements kept per connection.
    static let capacity = 32

    private var statements: [String: OpaquePointer] = [:]
    /// SQL texts, the one used last at the end.
    private var order: [String] = []

    /// How many statements are kept.
    var count: Int { statements.count }

    /// The statement prepared for `sql`, taken out (nil when there is none).
    mutating func take(_ sql: String) -> OpaquePointer? {
        guard let statement = statements.removeValue(forKey: sql) else { return nil }
        order.removeAll { $0 == sql }
        return statement
    }

    /// Keeps `statement` for `sql`, reset and unbound.
    mutating func put(_ sql: String, _ statement: OpaquePointer) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        if let replaced = statements.updateValue(statement, forKey: sql) {
            order.removeAll { $0 == sql }
            if replaced != statement { sqlite3_finalize(replaced) }
        }
        order.append(sql)
        while order.count > StatementCache.capacity {
            let oldest = order.removeFirst()
            if let statement = statements.removeValue(forKey: oldest) { sqlite3_finalize(statement) }
        }
    }

    /// Finalizes every statement (before the connection closes).
    mutating func finalizeAll() {
        for statement in statements.values { sqlite3_finalize(statement) }
        statements.removeAll()
        order.removeAll()
    }
}
