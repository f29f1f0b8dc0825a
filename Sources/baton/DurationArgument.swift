import ArgumentParser

/// A duration on the command line: `500ms`, `30s`, `5m`, `1h`, `2d`.
struct DurationArgument: ExpressibleByArgument, Equatable {
    let milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, scale) in units where argument.hasSuffix(suffix) {
            let number = argument.dropLast(suffix.count)
            if let value = Double(number), value > 0, !(suffix == "m" && number.hasSuffix("m")) {
                milliseconds = Int64(value * Double(scale))
                return
            }
        }
        return nil
    }

    var defaultValueDescription: String {
        for (suffix, scale) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds % scale == 0 {
            return "\(milliseconds / scale)\(suffix)"
        }
        return "\(milliseconds)ms"
    }
}

/// `--compaction-levels`: comma-separated durations, or `none`.
struct CompactionLevelsArgument: ExpressibleByArgument {
    let intervals: [Int64]

    init(_ intervals: [Int64]) { self.intervals = intervals }

    init?(argument: String) {
        if argument == "none" {
            intervals = []
            return
        }
        var parsed: [Int64] = []
        for part in argument.split(separator: ",") {
            guard let duration = DurationArgument(argument: String(part)) else { return nil }
            parsed.append(duration.milliseconds)
        }
        guard !parsed.isEmpty, parsed.count <= 8 else { return nil }
        intervals = parsed
    }

    var defaultValueDescription: String {
        intervals.isEmpty
            ? "none"
            : intervals.map { DurationArgument(milliseconds: $0).defaultValueDescription }.joined(separator: ",")
    }
}
