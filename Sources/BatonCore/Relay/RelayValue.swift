import Foundation

/// A SQLite value as the relay API carries it: a bound parameter or a
/// result cell. JSON has no blobs, so blobs travel as base64 text in
/// results (as rqlite does) and as arrays of bytes in parameters.
public enum RelayValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The value for a JSON-decoded parameter; nil when JSON gives something SQLite cannot bind.
    public init?(json: Any) {
        switch json {
        case is NSNull:
            self = .null
        case let number as NSNumber:
            switch String(cString: number.objCType) {
            case "c", "B": self = .integer(number.boolValue ? 1 : 0)
            // 3.0 in JSON is a float: bound as REAL, as SQLite's own JSON functions do.
            case "d", "f": self = .real(number.doubleValue)
            default: self = .integer(number.int64Value)
            }
        case let text as String:
            self = .text(text)
        case let bytes as [Any]:
            var blob: [UInt8] = []
            for item in bytes {
                guard let number = item as? NSNumber, !["d", "f"].contains(String(cString: number.objCType)),
                    (0...255).contains(number.int64Value)
                else { return nil }
                blob.append(UInt8(number.int64Value))
            }
            self = .blob(blob)
        default:
            return nil
        }
    }

    /// The value as JSON output: blobs as base64, non-finite reals as null.
    public var json: Any {
        switch self {
        case .null: return NSNull()
        case .integer(let value): return NSNumber(value: value)
        case .real(let value): return value.isFinite ? NSNumber(value: value) : NSNull()
        case .text(let value): return value
        case .blob(let value): return Data(value).base64EncodedString()
        }
    }
}
