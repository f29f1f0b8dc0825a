import BatonCore
import BatonStore
import BatonSystem
import Foundation
import Testing

@testable import BatonReplication

#if canImport(Glibc)
    import Glibc
#endif

/// The holder publishes its files' headers in the store: a restore on
/// another machine reads a few segments instead of one header per file.
@Suite struct PublishedHeadersTests {
    let directory = "/tmp/baton-published-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"

    @Test func anotherMachineRestoresWithoutReadingOneHeaderPerFile() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = FileStore(root: directory + "/replica")
        var options = ReplicatorOptions()
        options.compactionIntervalsMilliseconds = []
        try await replicateSingleWrites(in: directory, to: files, writes: 300, options: options)
        let segments = try await files.list(prefix: PublishedHeaders.prefix)
        // A segment every 64 files, merged four into one, and the rest when replication stopped.
        #expect(segments.count >= 2 && segments.count <= 4)

        // Another machine: nothing of this replica in its cache.
        let elsewhere = CountingStore(files, displayURL: "file:///elsewhere/\(UInt64.random(in: 0...UInt64.max))")
        let listed = try await ReplicaCatalog.files(in: elsewhere, headers: true)
        #expect(listed.count == 301)
        #expect(elsewhere.rangedReads == 0)
        #expect(elsewhere.downloads == segments.count)
        #expect(listed == (try await ReplicaCatalog.files(in: files, headers: true)))
        #expect(listed.allSatisfy { $0.epoch != nil && $0.timestampMilliseconds != nil })
        let result = try await Restorer(store: elsewhere).restore(
            to: directory + "/restored.db", target: .latest, integrity: .full, force: false)
        #expect(result.txid == listed.map(\.maxTXID).max())
        #expect(elsewhere.rangedReads == 0)

        // A file written again (a new ETag): its published line is not trusted; its header is read.
        let replaced = listed[150].key
        let bytes = try await files.get(replaced)
        try await files.delete(replaced, ifMatch: nil)
        _ = try await files.put(replaced, data: bytes, condition: .ifNoneMatch)
        let third = CountingStore(files, displayURL: "file:///third/\(UInt64.random(in: 0...UInt64.max))")
        #expect(try await ReplicaCatalog.files(in: third, headers: true) == listed)
        #expect(third.rangedReads == 1)
    }

    /// Five rounds of ten files, each round's segment written at 10 s + round;
    /// `listing` notes a whole listing (retention's) after round 2, which
    /// deleted the first file.
    func publishFiveSegments(noteListing: Bool) async throws -> (
        published: [String: HeaderCacheJournal.Line], lines: [HeaderCacheJournal.Line], listed: [String]
    ) {
        try FileSystem.makeDirectories(directory)
        let store = CountingStore(FileStore(root: directory + "/replica-\(noteListing)"))
        let publisher = HeaderPublisher(store: store, epoch: 7, log: { _ in })
        var lines: [HeaderCacheJournal.Line] = []
        for round in 0..<5 {
            var batch: [HeaderCacheJournal.Line] = []
            for index in 0..<10 {
                let txid = UInt64(round * 10 + index + 1)
                let info = LTXFileInfo(level: 0, minTXID: txid, maxTXID: txid, size: 0)
                let etag = try await store.put(info.key, data: [1, 2, 3], condition: .ifNoneMatch)
                let entry = ReplicaHeaderCache.Entry(timestampMilliseconds: Int64(txid), epoch: 7)
                batch.append(.init(key: info.key, etag: etag, entry: entry))
            }
            lines += batch
            publisher.add(batch, now: Int64(round))
            // Not due yet: ten files waiting a moment.
            await publisher.publish(now: Int64(round))
            #expect(try await store.list(prefix: PublishedHeaders.prefix).count == [0, 1, 2, 3, 1][round])
            await publisher.publish(now: Int64(round) + PublishedHeaders.publishMilliseconds)
            if round == 2 {
                try await store.delete(lines[0].key, ifMatch: nil)
                if noteListing {
                    let keys = try await store.list(prefix: "ltx/").map(\.key)
                    publisher.noteListing(
                        keys: Set(keys), startedMilliseconds: Int64(round) + PublishedHeaders.publishMilliseconds)
                }
            }
        }
        // Five segments of one size: the fourth merged the first four into one.
        let segments = try await store.list(prefix: PublishedHeaders.prefix)
        #expect(segments.count == 2)
        var published: [String: HeaderCacheJournal.Line] = [:]
        for segment in segments {
            for line in PublishedHeaders.decode(try await store.get(segment.key)) { published[line.key] = line }
        }
        return (published, lines, store.listedPrefixes)
    }

    @Test func segmentsOfLikeSizeAreMergedDroppingFilesRetentionsListingLacked() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (published, lines, listed) = try await publishFiveSegments(noteListing: true)
        // Every file but the deleted one, with what its header said.
        #expect(published.count == 49)
        #expect(published[lines[0].key] == nil)
        #expect(lines.dropFirst().allSatisfy { published[$0.key] == $0 })
        // The merge listed the segments only, never the history (the test's own listing aside).
        #expect(listed.filter { $0 == "ltx/" }.count == 1)
    }

    @Test func withoutAWholeListingAMergeKeepsEveryLineAndReadersCheckETags() async throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (published, lines, listed) = try await publishFiveSegments(noteListing: false)
        #expect(published.count == 50)
        #expect(lines.allSatisfy { published[$0.key] == $0 })
        #expect(!listed.contains("ltx/"))
    }

    @Test func aSegmentsKeyTellsWhenItWasWritten() {
        let key = PublishedHeaders.segmentKey(epoch: 3, nowMilliseconds: 1_796_659_329_000)
        #expect(PublishedHeaders.writtenMilliseconds(segment: key) == 1_796_659_329_000)
        #expect(PublishedHeaders.writtenMilliseconds(segment: "ltx-headers/07-not-time.txt") == nil)
        #expect(PublishedHeaders.writtenMilliseconds(segment: "ltx/0/0000000000000001-0000000000000001.ltx") == nil)
    }

    @Test func aSegmentIsTextThatSurvivesATornTail() {
        let lines = (1...3).map {
            HeaderCacheJournal.Line(
                key: "ltx/0/\($0).ltx", etag: "e\($0)", entry: .init(timestampMilliseconds: Int64($0), epoch: 2))
        }
        let bytes = PublishedHeaders.encode(lines)
        #expect(PublishedHeaders.decode(bytes) == lines)
        #expect(PublishedHeaders.decode(Array(bytes.dropLast(3))) == Array(lines.prefix(2)))
        #expect(PublishedHeaders.decode(Array("not a segment\n".utf8)).isEmpty)
    }
}
