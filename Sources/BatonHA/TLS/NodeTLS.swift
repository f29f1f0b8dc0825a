import BatonCore
import Foundation
import NIOSSL
import Synchronization

/// The node's TLS material, replaceable while the node runs: a renewed
/// certificate is picked up on SIGHUP or when its files change, without a
/// restart (the lease is never dropped). New connections use the new
/// material; open ones keep theirs. Files that fail their checks leave the
/// current material in place, and the reason is logged.
public final class NodeTLS: Sendable {
    /// The `tls:` settings.
    public let settings: TLSSettings
    private let state: Mutex<State>

    private struct State {
        var material: TLSMaterial
        var stamps: [FileStamp?]
    }

    /// Reads and checks the files now: a bad certificate stops the node before it listens.
    public init(settings: TLSSettings) throws {
        self.settings = settings
        let stamps = settings.files.map(FileStamp.init(path:))
        let material = try TLSMaterial.load(settings, nowSeconds: Int64(Date().timeIntervalSince1970))
        state = Mutex(State(material: material, stamps: stamps))
    }

    /// What new connections use.
    var material: TLSMaterial { state.withLock { $0.material } }

    /// The configuration of a request to `url`: this node's client TLS for
    /// `https://`, nil (plain) otherwise.
    func clientConfiguration(for url: String) -> TLSConfiguration? {
        url.hasPrefix("https://") ? material.client : nil
    }

    /// What a reload did.
    public enum Reload: Equatable, Sendable {
        /// The files had not changed (only when `force` is false).
        case unchanged
        /// New connections use the files as they are now; the certificate expires then.
        case reloaded(notValidAfter: Int64)
        /// The files fail a check: the material in use stays.
        case refused(String)
    }

    /// Reads the files again when they changed since the last read, or
    /// always with `force` (SIGHUP).
    public func reload(force: Bool, nowSeconds: Int64) -> Reload {
        let stamps = settings.files.map(FileStamp.init(path:))
        let changed = state.withLock { $0.stamps != stamps }
        guard force || changed else { return .unchanged }
        do {
            let material = try TLSMaterial.load(settings, nowSeconds: nowSeconds)
            state.withLock { $0 = State(material: material, stamps: stamps) }
            return .reloaded(notValidAfter: material.notValidAfter)
        } catch {
            // Not retried until the files change again (a half-written pair is read once more then).
            state.withLock { $0.stamps = stamps }
            return .refused((error as? BatonError)?.message ?? "\(error)")
        }
    }
}

/// What tells a file changed: its identity, size and modification time
/// (a certificate renewed by replacing the file or by rewriting it).
struct FileStamp: Equatable {
    var inode: UInt64
    var size: UInt64
    var modified: Double

    /// Nil when the file cannot be read now.
    init?(path: String) {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        size = (attributes[.size] as? NSNumber)?.uint64Value ?? 0
        modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
    }
}
