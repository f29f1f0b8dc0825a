import BatonCore
import Foundation
import ServiceLifecycle
import UnixSignals

/// Re-reads the node's TLS files on SIGHUP and when they change (looked at
/// every `checkEveryMilliseconds`), logging each reload and each refusal;
/// the lease, the stream and open connections are not touched.
struct TLSReloadService: Service {
    let tls: NodeTLS
    let log: @Sendable (String) -> Void
    var checkEveryMilliseconds: Int64 = 2000

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await _ in signals { report(tls.reload(force: true, nowSeconds: now()), cause: "SIGHUP") }
                }
                group.addTask {
                    var warned = ExpiryWarning()
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .milliseconds(checkEveryMilliseconds))
                        if Task.isCancelled { return }
                        report(tls.reload(force: false, nowSeconds: now()), cause: "the files changed")
                        if let line = warned.check(notValidAfter: tls.material.notValidAfter, now: now()) {
                            log("tls: \(tls.settings.cert) \(line)")
                        }
                    }
                }
            }
        }
    }

    private func now() -> Int64 { Int64(Date().timeIntervalSince1970) }

    private func report(_ outcome: NodeTLS.Reload, cause: String) {
        switch outcome {
        case .unchanged:
            break
        case .reloaded(let notValidAfter):
            log(
                "tls: \(cause): new connections use \(tls.settings.cert) now (valid until \(TLSMaterial.date(notValidAfter)))"
            )
        case .refused(let reason):
            log("tls: \(cause), but the certificate in use stays: \(reason)")
        }
    }
}

/// When to warn that the certificate in use runs out: once a day in its
/// last two weeks, and once when it has expired (peers refuse it then).
struct ExpiryWarning {
    private var lastWarned: Int64?
    private var warnedExpired = false

    /// The warning due at `now` (seconds), if any.
    mutating func check(notValidAfter: Int64, now: Int64) -> String? {
        if now >= notValidAfter {
            guard !warnedExpired else { return nil }
            warnedExpired = true
            return "expired at \(TLSMaterial.date(notValidAfter)): peers refuse it; renew it and send SIGHUP"
        }
        warnedExpired = false
        guard notValidAfter - now < 14 * 86_400, now - (lastWarned ?? .min / 2) >= 86_400 else { return nil }
        lastWarned = now
        return "expires at \(TLSMaterial.date(notValidAfter)) (in \((notValidAfter - now) / 86_400) days): renew it"
    }
}
