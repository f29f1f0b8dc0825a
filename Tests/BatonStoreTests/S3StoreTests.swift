import BatonCore
import BatonSystem
import Foundation
import Testing

@testable import BatonStore

/// The object-store conformance suite and S3 specifics against a real
/// S3-compatible server (moto) on loopback.
@Suite(.serialized) struct S3StoreTests {
    @Test func conformance() async throws {
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        try await ObjectStoreConformance.putGetListDelete(try await moto.makeStore())
        try await ObjectStoreConformance.conditionalWrites(try await moto.makeStore())
        try await ObjectStoreConformance.racingCreatesHaveOneWinner(try await moto.makeStore())
        try await ObjectStoreConformance.fetchAndUploadGiveTheETag(try await moto.makeStore())
        await ObjectStoreConformance.invalidKeysAreRefused(try await moto.makeStore())
    }

    @Test func listingPaginatesAndStripsThePrefix() async throws {
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let store = try await moto.makeStore(prefix: "apps/a b/é")
        for index in 0..<1100 {
            try await store.put("ltx/0/\(index).ltx", data: [1], condition: .none)
        }
        let listed = try await store.list(prefix: "ltx/")
        #expect(listed.count == 1100)
        #expect(listed.allSatisfy { $0.key.hasPrefix("ltx/0/") })
        #expect(store.metrics.requests[.init(kind: "list", outcome: "ok")] ?? 0 >= 2)
    }

    /// Seen when copying epoch markers to a second store: a download in parts
    /// asked for a range past the end of an empty object and failed on the 416.
    @Test func localCopiesOfEmptyObjectsAndOfWholePartsEndCleanly() async throws {
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let store = try await moto.makeStore { configuration in configuration.partSize = 64 * 1024 }
        let scratch = "/tmp/baton-s3copy-\(getpid())"
        try FileSystem.makeDirectories(scratch)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for size in [0, 1, 64 * 1024, 2 * 64 * 1024, 64 * 1024 + 5] {
            let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13) }
            _ = try await store.put("epochs/\(size)", data: content, condition: .none)
            let (path, isTemporary) = try await store.localCopy("epochs/\(size)", scratchDirectory: scratch)
            #expect(isTemporary)
            #expect(try LocalFile(path, .read).readAll() == content, "\(size) bytes")
            try FileSystem.remove(path)
        }
        await #expect(throws: BatonError.self) {
            _ = try await store.localCopy("epochs/missing", scratchDirectory: scratch)
        }
    }

    @Test func multipartUploadRoundTripsAndLeavesNoUploads() async throws {
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let store = try await moto.makeStore { configuration in
            configuration.multipartThreshold = 6 * 1024 * 1024
            configuration.partSize = 5 * 1024 * 1024
        }
        let path = "/tmp/baton-multipart-\(getpid())"
        let content = (0..<(17 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 11) }
        try FileSystem.writeAtomically(content, to: path)
        defer { try? FileSystem.remove(path) }
        try await store.upload("ltx/9/big.ltx", fromFile: path, condition: .none)
        #expect(try await store.get("ltx/9/big.ltx") == content)
        #expect(store.metrics.requests[.init(kind: "multipart", outcome: "ok")] == 6)  // create, 4 parts, complete
        let uploads = try await store.send(
            S3Request(method: "GET", objectKey: nil, query: [("uploads", "")], kind: "list-uploads"))
        #expect(S3XML.values("UploadId", in: String(decoding: uploads.body, as: UTF8.self)).isEmpty)
    }

    @Test func aLeaseReadIsOneRequest() async throws {
        // Every node reads the lease every second or two: one GET, not a listing, a GET and a clock read.
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let store = try await moto.makeStore()
        let written = try await store.put("lease.json", data: Array("{}".utf8), condition: .ifNoneMatch)
        let before = store.metrics.requests.values.reduce(0, +)
        let fetched = try #require(try await store.fetch("lease.json"))
        #expect(store.metrics.requests.values.reduce(0, +) == before + 1)
        #expect(fetched.etag == written)
        #expect(abs(fetched.storeTimeMilliseconds - Int64(Date().timeIntervalSince1970 * 1000)) < 5000)
    }

    @Test func storeTimeComesFromTheServer() async throws {
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let store = try await moto.makeStore()
        let serverTime = try await store.storeTimeMilliseconds()
        #expect(abs(serverTime - Int64(Date().timeIntervalSince1970 * 1000)) < 5000)
    }

    @Test func missingCredentialsAndUnreachableServerAreClear() async throws {
        #expect {
            try S3Configuration(bucket: "b", prefix: "", query: [:], environment: [:])
        } throws: { error in
            (error as? BatonError)?.message.contains("AWS_ACCESS_KEY_ID") == true
        }
        var configuration = try S3Configuration(
            bucket: "b", prefix: "p", query: ["endpoint": "http://127.0.0.1:\(try MotoServer.freePort())"],
            environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        configuration.retry.maxAttempts = 2
        configuration.retry.baseDelayMilliseconds = 10
        let started = Date()
        await #expect {
            _ = try await S3Store(configuration: configuration).list(prefix: "")
        } throws: { error in
            (error as? BatonError)?.message.contains("s3://b/p") == true
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func aCancelledRequestStopsAtOnceAndASilentStoreTimesOut() async throws {
        // A holder that fences itself or a node that shuts down cancels its store
        // requests: they must end then, not when the server (which may never) answers.
        let silent = try SilentServer()
        defer { silent.stop() }
        var configuration = try S3Configuration(
            bucket: "b", prefix: "p", query: ["endpoint": "http://127.0.0.1:\(silent.port)", "timeout": "30s"],
            environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        let store = S3Store(configuration: configuration)
        let request = Task { try await store.get("lease.json") }
        try await Task.sleep(nanoseconds: 300_000_000)
        let started = MonotonicClock.now()
        request.cancel()
        await #expect(throws: CancellationError.self) { _ = try await request.value }
        #expect(MonotonicClock.now() - started < 2000)
        // Not cancelled: the read timeout ends it, with a message that says so.
        configuration.requestTimeoutSeconds = 1
        configuration.retry.maxAttempts = 1
        let quick = S3Store(configuration: configuration)
        await #expect {
            _ = try await quick.get("lease.json")
        } throws: { error in
            (error as? BatonError)?.message.contains("no answer from 127.0.0.1:\(silent.port) within 1s") == true
        }
    }

    @Test func missingBucketIsNamed() async throws {
        let moto = try await MotoServer.started()
        defer { moto.stop() }
        let configuration = try S3Configuration(
            bucket: "nope", prefix: "", query: ["endpoint": moto.endpoint],
            environment: ["AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"])
        await #expect {
            _ = try await S3Store(configuration: configuration).list(prefix: "")
        } throws: { error in
            (error as? BatonError)?.message.contains("bucket nope does not exist") == true
        }
    }
}
