import ArgumentParser
import BatonCore

/// A duration on the command line: `500ms`, `30s`, `5m`, `1h`, `2d`.
struct DurationArgument: ExpressibleByArgument, Equatable {
    let milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        guard let milliseconds = DurationText.milliseconds(argument) else { return nil }
        self.milliseconds = milliseconds
    }

    var defaultValueDescription: String { DurationText.format(milliseconds) }
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
