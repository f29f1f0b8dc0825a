import Foundation

/// One statement of a relay request, in rqlite's JSON shapes: `"SQL"`,
/// `["SQL", 1, "x"]` (positional) or `["SQL", {"name": "x"}]` (named; the
/// name may be written with or without `:`, `@` or `$`).
public struct RelayStatement: Equatable, Sendable {
    /// The SQL text (one statement, or several without parameters).
    public var sql: String
    /// How its parameters are given.
    public var parameters: Parameters

    /// Parameters of a statement.
    public enum Parameters: Equatable, Sendable {
        case none
        case positional([RelayValue])
        case named([String: RelayValue])
    }

    /// A statement.
    public init(sql: String, parameters: Parameters = .none) {
        self.sql = sql
        self.parameters = parameters
    }

    /// The statements of a request body (a JSON array); throws `usage`
    /// saying what is wrong, with the statement's index.
    public static func parse(body: [UInt8]) throws -> [RelayStatement] {
        guard !body.isEmpty else { throw BatonError(.usage, "the body is empty; send a JSON array of statements") }
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed])
        } catch {
            throw BatonError(.usage, "the body is not valid JSON")
        }
        guard let list = root as? [Any] else {
            throw BatonError(.usage, "the body must be a JSON array of statements, like [\"SELECT 1\"]")
        }
        guard !list.isEmpty else { throw BatonError(.usage, "the array of statements is empty") }
        return try list.enumerated().map { try statement($1, index: $0) }
    }

    private static func statement(_ item: Any, index: Int) throws -> RelayStatement {
        if let sql = item as? String { return try RelayStatement(checked: sql, index: index) }
        guard let parts = item as? [Any], let sql = parts.first as? String else {
            throw BatonError(
                .usage, "statement \(index) must be a string or an array starting with the SQL string")
        }
        var statement = try RelayStatement(checked: sql, index: index)
        let rest = parts.dropFirst()
        if rest.count == 1, let object = rest.first as? [String: Any] {
            var named: [String: RelayValue] = [:]
            for (key, value) in object {
                guard let converted = RelayValue(json: value) else {
                    throw BatonError(.usage, "statement \(index): parameter \(key) is not a SQLite value")
                }
                let bare = key.first.map { ":@$".contains($0) } == true ? String(key.dropFirst()) : key
                guard !bare.isEmpty else { throw BatonError(.usage, "statement \(index): a parameter name is empty") }
                named[bare] = converted
            }
            statement.parameters = .named(named)
        } else if !rest.isEmpty {
            statement.parameters = .positional(
                try rest.enumerated().map { offset, value in
                    guard let converted = RelayValue(json: value) else {
                        throw BatonError(
                            .usage, "statement \(index): parameter \(offset + 1) is not a SQLite value")
                    }
                    return converted
                })
        }
        return statement
    }

    private init(checked sql: String, index: Int) throws {
        guard !sql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw BatonError(.usage, "statement \(index) is empty")
        }
        self.init(sql: sql)
    }
}
