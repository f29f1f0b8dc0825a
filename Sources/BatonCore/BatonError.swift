/// The one error type Baton reports: a code callers can switch on, and a
/// message written for the operator (it names the file or URL and the cause).
public struct BatonError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public enum Code: String, Sendable {
        /// A user-supplied argument or option is wrong.
        case usage
        /// A file or object that should exist does not.
        case notFound
        /// A file or object already exists and would be overwritten.
        case alreadyExists
        /// Bytes on disk or in the store do not follow the expected format.
        case corrupt
        /// A checksum did not match; the data is not what was written.
        case checksumMismatch
        /// The database is not in a state Baton can work with (not WAL, wrong page size).
        case unsupportedDatabase
        /// The transaction history has a hole that no file covers.
        case gap
        /// A conditional write lost (If-Match / If-None-Match).
        case preconditionFailed
        /// The operating system refused an operation.
        case io
        /// SQLite returned an error.
        case sqlite
        /// A lock stayed taken longer than Baton waits; trying again later may work.
        case busy
        /// A request or input is larger than the configured limit.
        case tooLarge
        /// A copy was written by something other than the history it follows
        /// (kept aside, never applied to or served).
        case diverged
        /// Encrypted data could not be opened with the identities given
        /// (none is a recipient, or none was given).
        case decryption
    }

    /// The kind of failure.
    public var code: Code
    /// One line for the operator.
    public var message: String

    /// Creates an error with a code and a one-line message.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// The message, as printed by the CLI.
    public var description: String { message }
}
