/// Which lines of an error that repeats reach the log: the first, any
/// different one, then one every `everyMilliseconds` saying how often it
/// recurred meanwhile. A full disk fails every capture round (hundreds a
/// second); its log must stay readable and the disk must not fill with it.
public struct RepeatingErrorFilter: Sendable, Equatable {
    /// How long an unchanged error stays quiet after it was logged.
    public let everyMilliseconds: Int64
    private var current: String?
    private var lastLogged: Int64 = 0
    private var quiet = 0

    /// A filter that repeats an unchanged error at most once per `everyMilliseconds`.
    public init(everyMilliseconds: Int64 = 10_000) { self.everyMilliseconds = everyMilliseconds }

    /// The line to log for `message` failing at `now`, or nil to stay quiet.
    public mutating func failed(_ message: String, now: Int64) -> String? {
        if message != current {
            current = message
            lastLogged = now
            quiet = 0
            return message
        }
        guard now - lastLogged >= everyMilliseconds else {
            quiet += 1
            return nil
        }
        let line = "\(message) (\(quiet + 1) times in the last \(DurationText.format(now - lastLogged)))"
        lastLogged = now
        quiet = 0
        return line
    }

    /// The work succeeded: true when it was failing until now (say so once).
    public mutating func succeeded() -> Bool {
        defer {
            current = nil
            quiet = 0
        }
        return current != nil
    }
}
