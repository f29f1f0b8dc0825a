import Foundation

/// The app started by `--exec`: `/bin/sh -c COMMAND`, sharing our
/// standard input, output and error.
final class ChildProcess: @unchecked Sendable {
    private let process = Process()

    /// Starts `command`.
    init(_ command: String) throws {
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        do {
            try process.run()
        } catch {
            throw ValidationErrorText("cannot start --exec command: \(error.localizedDescription)")
        }
    }

    /// Sends `signal` to the child if it still runs.
    func forward(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Calls `body` when the child exits.
    func onExit(_ body: @escaping @Sendable () -> Void) {
        process.terminationHandler = { _ in body() }
        if !process.isRunning { body() }
    }

    /// Waits for the child and returns its exit status (128 + signal when killed).
    func waitForExit() -> Int32 {
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
    }
}

/// An error whose text is printed as is.
struct ValidationErrorText: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
