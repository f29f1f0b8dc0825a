import Testing

@testable import BatonCore

@Suite struct LeaseStateMachineTests {
    let timing = LeaseStateMachine.Timing(ttlMilliseconds: 10_000)

    @Test func holdsUntilTheSafeDeadlineAndRenewsOnTime() {
        var machine = LeaseStateMachine(timing: timing)
        #expect(!machine.mayWrite(at: 0))
        machine.acquired(epoch: 3, etag: "a", sentAt: 1_000)
        #expect(timing.holdMilliseconds == 8_410)
        #expect(machine.mayWrite(at: 1_000 + 8_409))
        #expect(machine.tick(now: 2_000) == .none)
        #expect(machine.tick(now: 1_000 + 3_333) == .renew(epoch: 3, etag: "a"))
        #expect(machine.renewed(etag: "b", sentAt: 4_400) == .none)
        #expect(machine.mayWrite(at: 4_400 + 8_409))
        #expect(machine.tick(now: 7_800) == .renew(epoch: 3, etag: "b"))
    }

    @Test func failedRenewalsStopWritesAtTheDeadline() {
        var machine = LeaseStateMachine(timing: timing)
        machine.acquired(epoch: 1, etag: "a", sentAt: 0)
        // Failures keep asking for renewals (retries) until the deadline.
        #expect(machine.renewFailed(now: 4_000) == .renew(epoch: 1, etag: "a"))
        #expect(machine.renewFailed(now: 8_000) == .renew(epoch: 1, etag: "a"))
        #expect(machine.renewFailed(now: 8_410) == .stopWrites(epoch: 1))
        #expect(!machine.mayWrite(at: 8_410))
        #expect(machine.tick(now: 9_000) == .none)
    }

    @Test func losingTheRecordStopsAtOnce() {
        var machine = LeaseStateMachine(timing: timing)
        machine.acquired(epoch: 5, etag: "a", sentAt: 0)
        #expect(machine.preconditionFailed() == .stopWrites(epoch: 5))
        #expect(!machine.mayWrite(at: 1))
        #expect(machine.renewed(etag: "z", sentAt: 2) == .none)  // a late answer changes nothing
        #expect(!machine.mayWrite(at: 3))
    }

    @Test func aLateRenewalAnswerNeverExtendsPastItsSendTime() {
        var machine = LeaseStateMachine(timing: timing)
        machine.acquired(epoch: 1, etag: "a", sentAt: 0)
        _ = machine.renewed(etag: "b", sentAt: 100)
        #expect(!machine.mayWrite(at: 100 + 8_410))
    }

    @Test func recordsRoundTripAndKeepUnknownFields() throws {
        let text =
            #"{"holder":"a","address":"http://a:8700","epoch":7,"expiresAtMs":1234,"syncStandby":"b","extra":{"x":[1,2]}}"#
        let record = try LeaseRecord(decoding: Array(text.utf8))
        #expect(record.holder == "a" && record.epoch == 7 && record.expiresAtMilliseconds == 1234)
        #expect(record.syncStandby == "b")
        let again = try LeaseRecord(decoding: record.encoded())
        #expect(again == record)
        #expect(String(decoding: record.encoded(), as: UTF8.self).contains("syncStandby"))
        #expect(throws: BatonError.self) { try LeaseRecord(decoding: Array("{}".utf8)) }
        var cleared = record
        cleared.syncStandby = nil
        let text2 = String(decoding: cleared.encoded(), as: UTF8.self)
        #expect(!text2.contains("syncStandby") && text2.contains("extra"))
        #expect(try LeaseRecord(decoding: cleared.encoded()).syncStandby == nil)
    }

    @Test func aRenewalCanBeAskedForEarlyButNotPastTheDeadline() {
        var machine = LeaseStateMachine(timing: timing)
        #expect(machine.renewNow(now: 0) == .none)
        machine.acquired(epoch: 2, etag: "a", sentAt: 0)
        #expect(machine.tick(now: 100) == .none)
        #expect(machine.renewNow(now: 100) == .renew(epoch: 2, etag: "a"))
        #expect(machine.renewNow(now: 8_410) == .stopWrites(epoch: 2))
        #expect(machine.renewNow(now: 8_500) == .none)
    }
}

/// Many contenders, random network delays, lost requests and answers,
/// clocks drifting within the bound, a store whose `Date` has whole seconds:
/// at no simulated millisecond do two contenders both believe they hold the lease.
@Suite struct LeaseSimulationTests {
    struct Store {
        var record: LeaseRecord?
        var etag = 0
    }

    struct Contender {
        var machine: LeaseStateMachine
        var rate: Double
        var offset: Double
        var name: String
        // An operation in flight: (phase, next event at true time, local send time, date read, etag read, epoch)
        var busyUntil: Int64 = 0
        var nextAttempt: Int64 = 0
        func local(_ now: Int64) -> Int64 { Int64(offset + rate * Double(now)) }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6])
    func neverTwoHolders(seed: Int) {
        var rng = SplitMix(seed: UInt64(seed))
        let timing = LeaseStateMachine.Timing(ttlMilliseconds: 3_000)
        let drift = timing.maxDriftRate
        var store = Store()
        var contenders = (0..<8).map { index in
            Contender(
                machine: LeaseStateMachine(timing: timing),
                rate: 1 + (rng.unit() - 0.5) * drift, offset: rng.unit() * 1e6, name: "c\(index)")
        }
        var pending: [(at: Int64, index: Int, work: (inout Store, inout Contender, Int64) -> Void)] = []
        let faultRate = 0.3
        var handovers = 0

        for now in stride(from: Int64(0), to: 120_000, by: 5) {
            // Deliver due events in time order.
            pending.sort { $0.at < $1.at }
            while let first = pending.first, first.at <= now {
                pending.removeFirst()
                first.work(&store, &contenders[first.index], now)
            }
            for index in contenders.indices where contenders[index].busyUntil <= now {
                var contender = contenders[index]
                let localNow = contender.local(now)
                let holding = contender.machine.mayWrite(at: localNow)
                let action = contender.machine.tick(now: localNow)
                let wantsAcquire = !holding && now >= contender.nextAttempt
                guard wantsAcquire || { if case .renew = action { return true } else { return false } }() else {
                    contenders[index] = contender
                    continue
                }
                // Request 1: read the record and the store's Date; request 2: the conditional write.
                let sentLocal = localNow
                let d1 = Int64(rng.unit() * 200) + 5
                let d2 = Int64(rng.unit() * 200) + 5
                let d3 = Int64(rng.unit() * 200) + 5
                let lostRead = rng.unit() < faultRate
                let lostWrite = rng.unit() < faultRate
                let lostAnswer = rng.unit() < faultRate
                contender.busyUntil = now + d1 + d2 + d3 + 1
                contender.nextAttempt = now + Int64(rng.unit() * 300) + 20
                contenders[index] = contender
                if lostRead {
                    pending.append((now + d1, index, { _, c, t in _ = c.machine.renewFailed(now: c.local(t)) }))
                    continue
                }
                pending.append(
                    (
                        now + d1, index,
                        { store, _, readTime in
                            let date = readTime / 1000 * 1000
                            let seen = store.record
                            let seenEtag = store.etag
                            pending.append(
                                (
                                    readTime + d2, index,
                                    { store, c, writeTime in
                                        let renewing: UInt64?
                                        if case .holding(let epoch, _, _, _) = c.machine.state {
                                            renewing = epoch
                                        } else {
                                            renewing = nil
                                        }
                                        if lostWrite { return }
                                        guard store.etag == seenEtag else {
                                            pending.append(
                                                (
                                                    writeTime + d3, index,
                                                    { _, c, _ in _ = c.machine.preconditionFailed() }
                                                ))
                                            return
                                        }
                                        let epoch: UInt64
                                        if let renewing, seen?.holder == c.name, seen?.epoch == renewing {
                                            epoch = renewing
                                        } else if seen == nil || seen!.isExpired(atStoreTime: date) {
                                            epoch = (seen?.epoch ?? 0) + 1
                                        } else {
                                            return
                                        }
                                        store.record = LeaseRecord(
                                            holder: c.name, epoch: epoch, expiresAtMilliseconds: date + 3_000)
                                        store.etag += 1
                                        let etag = "\(store.etag)"
                                        if lostAnswer { return }
                                        pending.append(
                                            (
                                                writeTime + d3, index,
                                                { _, c, _ in
                                                    if renewing == epoch {
                                                        _ = c.machine.renewed(etag: etag, sentAt: sentLocal)
                                                    } else {
                                                        c.machine.acquired(epoch: epoch, etag: etag, sentAt: sentLocal)
                                                        handovers += 1
                                                    }
                                                }
                                            ))
                                    }
                                ))
                        }
                    ))
            }
            let holders = contenders.filter { $0.machine.mayWrite(at: $0.local(now)) }
            #expect(holders.count <= 1, "two holders at \(now) ms: \(holders.map(\.name))")
            if holders.count > 1 { return }
        }
        #expect(handovers > 3, "the simulation should change holders")
    }
}

/// A small deterministic generator for reproducible simulations.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
