import BatonCore
import Foundation
import Testing

@testable import BatonStore

/// A conditional write whose answer is lost after the server applied it is
/// retried, meets its own write (412), and is resolved by reading back: the
/// writer must not believe it lost. A fault proxy between Baton and moto
/// forwards the first request and drops the connection before answering.
@Suite(.serialized) struct S3AmbiguousWriteTests {
    final class Proxy: @unchecked Sendable {
        let process = Process()
        let port: Int

        init(upstream: Int, fault: String, count: Int) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("integration/s3support.py").path
            // `timeout` bounds the proxy's life (and so the wait for its port below)
            // even if this test dies; SIGTERM to it reaches the proxy too.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["120", try MotoServer.python(), script, "proxy", "\(upstream)", fault, "\(count)"]
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                line.append(chunk)
            }
            guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
            else {
                throw BatonError(.io, "fault proxy did not start")
            }
            self.port = port
        }

        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGTERM)
            for _ in 0..<100 where process.isRunning { usleep(20_000) }
        }
    }

    func store(through proxy: Proxy, bucketOf motoStore: S3Store) throws -> S3Store {
        var configuration = motoStore.configuration
        configuration.host = "127.0.0.1:\(proxy.port)"
        configuration.retry.baseDelayMilliseconds = 10
        return S3Store(configuration: configuration)
    }

    @Test func createWhoseAnswerWasLostStillSucceeds() async throws {
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let direct = try await moto.makeStore()
        let proxy = try Proxy(upstream: moto.port, fault: "drop-after", count: 1)
        defer { proxy.stop() }
        let store = try store(through: proxy, bucketOf: direct)
        let etag = try await store.put("lease.json", data: Array("mine".utf8), condition: .ifNoneMatch)
        #expect(!etag.isEmpty)
        #expect(try await direct.get("lease.json") == Array("mine".utf8))
        #expect(store.metrics.requests[.init(kind: "put", outcome: "precondition_failed")] == 1)
    }

    @Test func anotherWritersObjectIsStillALoss() async throws {
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let direct = try await moto.makeStore()
        try await direct.put("lease.json", data: Array("theirs".utf8), condition: .ifNoneMatch)
        let proxy = try Proxy(upstream: moto.port, fault: "503", count: 1)
        defer { proxy.stop() }
        let store = try store(through: proxy, bucketOf: direct)
        await ObjectStoreConformance.expectCode(.preconditionFailed) {
            try await store.put("lease.json", data: Array("mine".utf8), condition: .ifNoneMatch)
        }
        #expect(try await direct.get("lease.json") == Array("theirs".utf8))
    }
}
