import Foundation

/// The JSON body of a relay answer, as rqlite writes it:
/// `{"results": [...], "time": s}`, each result with `last_insert_id` and
/// `rows_affected`, or `columns`, `types` and `values` (or `rows` of
/// objects with `?associative`), or `error`; times only with `?timings`.
public struct RelayResponse: Sendable {
    /// Options from the query string.
    public var timings = false
    public var pretty = false
    public var associative = false

    /// Options.
    public init(timings: Bool = false, pretty: Bool = false, associative: Bool = false) {
        self.timings = timings
        self.pretty = pretty
        self.associative = associative
    }

    /// The body for `results`, which took `seconds` in all.
    public func encode(_ results: [RelayResult], seconds: Double) -> [UInt8] {
        var root: [String: Any] = ["results": results.map(object)]
        if timings { root["time"] = seconds }
        return RelayResponse.serialize(root, pretty: pretty)
    }

    /// `{"error": message}`.
    public static func error(_ message: String, pretty: Bool = false) -> [UInt8] {
        serialize(["error": message], pretty: pretty)
    }

    private func object(_ result: RelayResult) -> [String: Any] {
        var object: [String: Any] = [:]
        switch result.outcome {
        case .executed(let lastInsertID, let rowsAffected):
            object["last_insert_id"] = NSNumber(value: lastInsertID)
            object["rows_affected"] = NSNumber(value: rowsAffected)
        case .rows(let columns, let types, let values):
            if associative {
                object["types"] = Dictionary(zip(columns, types), uniquingKeysWith: { first, _ in first })
                object["rows"] = values.map { row in
                    Dictionary(zip(columns, row.map(\.json)), uniquingKeysWith: { first, _ in first })
                }
            } else {
                object["columns"] = columns
                object["types"] = types
                // rqlite leaves out "values" when there are no rows.
                if !values.isEmpty { object["values"] = values.map { $0.map(\.json) } }
            }
        case .error(let message):
            object["error"] = message
        }
        if timings { object["time"] = result.seconds }
        return object
    }

    private static func serialize(_ root: [String: Any], pretty: Bool) -> [UInt8] {
        var options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if pretty { options.insert(.prettyPrinted) }
        let data = (try? JSONSerialization.data(withJSONObject: root, options: options)) ?? Data("{}".utf8)
        return Array(data) + [10]
    }
}
