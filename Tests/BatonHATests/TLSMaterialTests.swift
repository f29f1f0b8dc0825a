import BatonCore
import Foundation
import Testing

@testable import BatonHA

/// The checks a node's TLS files pass before it listens, and reloads, with
/// certificates made by `openssl` in the test.
@Suite struct TLSMaterialTests {
    let folder: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("baton-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// Runs openssl; fails on a non-zero exit.
    func openssl(_ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl \(arguments.joined(separator: " ")): \(message)")
    }

    /// A self-signed certificate valid for `days` from now, and its key.
    func selfSigned(_ name: String, days: Int = 2) throws -> TLSSettings {
        let key = "\(folder)/\(name).key"
        let cert = "\(folder)/\(name).crt"
        try openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
        try openssl(
            "req", "-x509", "-new", "-key", key, "-out", cert, "-days", "\(days)", "-subj", "/CN=\(name)", "-addext",
            "subjectAltName=IP:127.0.0.1")
        return TLSSettings(cert: cert, key: key, ca: cert)
    }

    func message(_ settings: TLSSettings, now: Int64 = Int64(Date().timeIntervalSince1970)) -> String {
        do {
            _ = try TLSMaterial.load(settings, nowSeconds: now)
            return ""
        } catch {
            return (error as? BatonError)?.message ?? "\(error)"
        }
    }

    @Test func goodFilesLoadAndEachBadOneIsNamedWithItsKey() throws {
        let good = try selfSigned("a")
        #expect(message(good) == "")
        var missing = good
        missing.cert = folder + "/nowhere.crt"
        #expect(message(missing) == "tls.cert \(folder)/nowhere.crt: no such file")
        var notPEM = good
        notPEM.ca = folder + "/a.key"
        #expect(message(notPEM).contains("tls.ca \(folder)/a.key holds no PEM certificate"))
        var notAKey = good
        notAKey.key = good.cert
        #expect(message(notAKey).contains("holds no PEM private key"))
        let other = try selfSigned("b")
        var mismatched = good
        mismatched.key = other.key
        #expect(message(mismatched).contains("tls.key \(other.key) does not fit tls.cert \(good.cert)"))
        var mutual = good
        mutual.ca = nil
        mutual.clientAuth = .require
        #expect(message(mutual).contains("tls.clientAuth: require needs tls.ca"))
    }

    @Test func aCertificatePastItsEndOrBeforeItsStartIsRefused() throws {
        let settings = try selfSigned("a", days: 1)
        let now = Int64(Date().timeIntervalSince1970)
        #expect(message(settings, now: now + 3 * 86_400).contains("tls.cert \(settings.cert) expired on "))
        #expect(message(settings, now: now - 86_400).contains("is not valid before"))
    }

    @Test func aReloadTakesChangedFilesAndKeepsTheOldOnesWhenTheNewFail() throws {
        let settings = try selfSigned("a", days: 5)
        let tls = try NodeTLS(settings: settings)
        let now = Int64(Date().timeIntervalSince1970)
        let first = tls.material.notValidAfter
        #expect(tls.reload(force: false, nowSeconds: now) == .unchanged)
        // Renewed in place with a longer life.
        try openssl(
            "req", "-x509", "-new", "-key", settings.key, "-out", settings.cert, "-days", "30", "-subj", "/CN=a")
        guard case .reloaded(let notValidAfter) = tls.reload(force: false, nowSeconds: now) else {
            Issue.record("the changed certificate was not reloaded")
            return
        }
        #expect(notValidAfter > first + 20 * 86_400 && tls.material.notValidAfter == notValidAfter)
        // A broken file: refused, the material in use stays, and it is not read again until it changes.
        try "not a certificate\n".write(toFile: settings.cert, atomically: true, encoding: .utf8)
        guard case .refused(let reason) = tls.reload(force: false, nowSeconds: now) else {
            Issue.record("a broken certificate was taken")
            return
        }
        #expect(reason.contains("holds no PEM certificate"))
        #expect(tls.material.notValidAfter == notValidAfter)
        #expect(tls.reload(force: false, nowSeconds: now) == .unchanged)
        #expect(tls.reload(force: true, nowSeconds: now) != .unchanged)
    }
}

@Suite struct ExpiryWarningTests {
    @Test func aCertificateNearItsEndIsWarnedAboutDailyAndOnceWhenExpired() {
        var warning = ExpiryWarning()
        let end: Int64 = 100 * 86_400
        #expect(warning.check(notValidAfter: end, now: end - 30 * 86_400) == nil)
        #expect(warning.check(notValidAfter: end, now: end - 10 * 86_400)?.contains("in 10 days") == true)
        #expect(warning.check(notValidAfter: end, now: end - 10 * 86_400 + 60) == nil)
        #expect(warning.check(notValidAfter: end, now: end - 9 * 86_400)?.contains("in 9 days") == true)
        #expect(warning.check(notValidAfter: end, now: end)?.contains("expired at") == true)
        #expect(warning.check(notValidAfter: end, now: end + 5) == nil)
        // Renewed: quiet again.
        #expect(warning.check(notValidAfter: end + 90 * 86_400, now: end + 10) == nil)
    }
}
