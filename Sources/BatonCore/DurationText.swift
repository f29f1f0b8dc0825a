/// Durations as people write them in flags and config files: `500ms`,
/// `30s`, `5m`, `1h`, `2d` (decimals allowed, e.g. `1.5s`).
public enum DurationText {
    private static let units: [(String, Int64)] = [
        ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    /// Milliseconds, or nil when `text` is not a positive duration.
    public static func milliseconds(_ text: String) -> Int64? {
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if let value = Double(number), value > 0, !(suffix == "m" && number.hasSuffix("m")) {
                return Int64(value * Double(scale))
            }
        }
        return nil
    }

    /// The shortest exact spelling of `milliseconds`.
    public static func format(_ milliseconds: Int64) -> String {
        for (suffix, scale) in units.reversed() where scale > 1 && milliseconds % scale == 0 {
            return "\(milliseconds / scale)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}
