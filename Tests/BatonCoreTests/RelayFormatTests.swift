import Foundation
import Testing

@testable import BatonCore

@Suite struct RelayFormatTests {
    func parse(_ text: String) throws -> [RelayStatement] { try RelayStatement.parse(body: Array(text.utf8)) }

    @Test func rqliteStatementShapes() throws {
        let statements = try parse(
            #"["SELECT 1", ["INSERT INTO t VALUES(?, ?, ?, ?, ?)", 1, 2.0, "x", null, true], ["UPDATE t SET a = :a", {":a": [1, 2], "b": false}]]"#
        )
        #expect(statements[0] == RelayStatement(sql: "SELECT 1"))
        #expect(statements[1].parameters == .positional([.integer(1), .real(2.0), .text("x"), .null, .integer(1)]))
        #expect(statements[2].parameters == .named(["a": .blob([1, 2]), "b": .integer(0)]))
    }

    @Test func badBodiesAreNamed() {
        func message(_ text: String) -> String {
            do {
                _ = try parse(text)
                return ""
            } catch let error as BatonError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        #expect(message("").contains("empty"))
        #expect(message("{").contains("not valid JSON"))
        #expect(message(#"{"q": 1}"#).contains("JSON array"))
        #expect(message("[]").contains("empty"))
        #expect(message(#"["  "]"#).contains("statement 0 is empty"))
        #expect(message(#"["SELECT 1", [1]]"#).contains("statement 1 must be a string or an array"))
        #expect(message(#"[["SELECT ?", {"a": {"b": 1}}]]"#).contains("parameter a is not a SQLite value"))
        #expect(message(#"[["SELECT ?", [300]]]"#).contains("parameter 1 is not a SQLite value"))
    }

    @Test func responsesFollowRqlite() throws {
        let results = [
            RelayResult(.executed(lastInsertID: 3, rowsAffected: 1), seconds: 0.5),
            RelayResult(.rows(columns: ["a", "b"], types: ["integer", "blob"], values: [[.integer(1), .blob([1])]])),
            RelayResult(.rows(columns: ["a"], types: ["text"], values: [])),
            RelayResult(.error("near \"x\": syntax error")),
        ]
        let plain = String(decoding: RelayResponse().encode(results, seconds: 1), as: UTF8.self)
        #expect(
            plain
                == #"{"results":[{"last_insert_id":3,"rows_affected":1},{"columns":["a","b"],"types":["integer","blob"],"values":[[1,"AQ=="]]},{"columns":["a"],"types":["text"]},{"error":"near \"x\": syntax error"}]}"#
                + "\n")
        let timed =
            try JSONSerialization.jsonObject(
                with: Data(RelayResponse(timings: true).encode(results, seconds: 1.25))) as? [String: Any]
        #expect(timed?["time"] as? Double == 1.25)
        let associative = String(
            decoding: RelayResponse(associative: true).encode([results[1]], seconds: 0), as: UTF8.self)
        #expect(associative.contains(#""rows":[{"a":1,"b":"AQ=="}]"#))
        #expect(associative.contains(#""types":{"a":"integer","b":"blob"}"#))
    }
}
