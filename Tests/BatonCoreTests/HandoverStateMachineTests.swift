import Testing

@testable import BatonCore

@Suite struct HandoverStateMachineTests {
    let settings = HandoverStateMachine.Settings(drainMilliseconds: 500, confirmMilliseconds: 2000)
    let group = ["production", "cache", "queue", "cable"]

    /// A hand-over of `databases` to `candidates`, started at 0 and past
    /// draining and stopping the app, sealed at `finals` (at time 100).
    func sealed(_ finals: [String: UInt64], candidates: [String] = ["b"], databases: [String]? = nil)
        -> (HandoverStateMachine, HandoverStateMachine.Action)
    {
        var machine = HandoverStateMachine(
            candidates: candidates, databases: databases ?? Array(finals.keys), settings: settings)
        #expect(machine.start(now: 0) == .holdTraffic(until: .init(.drain, deadline: 500)))
        #expect(machine.handle(.drained, now: 50) == .stopApp)
        #expect(machine.handle(.appStopped, now: 90) == .sealDatabases)
        let action = machine.handle(.sealed(finals), now: 100)
        return (machine, action)
    }

    @Test func aStandbyThatConfirmedEverythingGetsTheBaton() {
        var (machine, action) = sealed(["app": 10])
        #expect(action == .awaitStandby(until: .init(.standbyConfirmation, deadline: 2100)))
        #expect(machine.handle(.standbyPositions(["b": ["app": 9]]), now: 110) == .none)
        #expect(machine.handle(.standbyPositions(["b": ["app": 10]]), now: 120) == .uploadLastFiles)
        #expect(machine.handle(.uploaded(succeeded: true), now: 130) == .releaseLease)
        #expect(machine.handle(.released, now: 140) == .offerTakeover(to: "b"))
        let report = HandoverStateMachine.Report(to: "b", finalTXIDs: ["app": 10], heldMilliseconds: 140)
        #expect(machine.handle(.offered, now: 150) == .end(.handedOver(report)))
        #expect(machine.outcome == .handedOver(report))
        // The confirmation timer armed earlier fires late: nothing happens.
        #expect(machine.handle(.timerFired(.init(.standbyConfirmation, deadline: 2100)), now: 2100) == .none)
    }

    @Test func inFlightRequestsThatOutlastTheDrainAreCutOffWithTheApp() {
        var machine = HandoverStateMachine(candidates: ["b"], databases: ["app"], settings: settings)
        let drain = HandoverStateMachine.Timer(.drain, deadline: 500)
        #expect(machine.start(now: 0) == .holdTraffic(until: drain))
        #expect(machine.handle(.standbyPositions(["b": ["app": 3]]), now: 100) == .none)
        #expect(machine.handle(.timerFired(drain), now: 500) == .stopApp)
        // The requests finish as the app stops: already past that step.
        #expect(machine.handle(.drained, now: 510) == .none)
        #expect(machine.handle(.appStopped, now: 520) == .sealDatabases)
        // Positions reported before sealing count: no wait at all.
        #expect(machine.handle(.sealed(["app": 3]), now: 530) == .uploadLastFiles)
    }

    @Test func aStandbyThatDiesMidHandOverLeavesTheBatonHere() {
        var (machine, action) = sealed(["app": 10])
        guard case .awaitStandby(let timer) = action else {
            Issue.record("expected a wait, got \(action)")
            return
        }
        // b confirmed up to 8, then died: no more positions arrive.
        #expect(machine.handle(.standbyPositions(["b": ["app": 8]]), now: 200) == .none)
        #expect(machine.handle(.timerFired(timer), now: 2100) == .uploadLastFiles)
        // The store gets the last files either way; the lease is never released.
        let reason = "no standby (b) confirmed transaction 10 in time"
        #expect(machine.handle(.uploaded(succeeded: true), now: 2200) == .end(.failed(reason: reason)))
        #expect(machine.outcome == .failed(reason: reason))
    }

    @Test func theHolderLosingTheStoreMidHandOverFencesWithoutReleasing() {
        var (machine, action) = sealed(["app": 10])
        #expect(action == .awaitStandby(until: .init(.standbyConfirmation, deadline: 2100)))
        #expect(machine.handle(.standbyPositions(["b": ["app": 10]]), now: 300) == .uploadLastFiles)
        // The upload hangs on the unreachable store and the lease's deadline passes.
        #expect(machine.handle(.leaseLost, now: 1800) == .end(.leaseLost))
        #expect(machine.outcome == .leaseLost)
    }

    @Test func aFailedLastUploadStillHandsOverToAStandbyThatHasEverything() {
        var (machine, _) = sealed(["app": 10])
        #expect(machine.handle(.standbyPositions(["b": ["app": 12]]), now: 300) == .uploadLastFiles)
        #expect(machine.handle(.uploaded(succeeded: false), now: 400) == .releaseLease)
        #expect(machine.handle(.released, now: 450) == .offerTakeover(to: "b"))
        // After the release the lease is gone on purpose.
        #expect(machine.handle(.leaseLost, now: 460) == .none)
        #expect(
            machine.handle(.offered, now: 470)
                == .end(.handedOver(.init(to: "b", finalTXIDs: ["app": 10], heldMilliseconds: 450))))
    }

    @Test func aGroupOfFourWaitsForTheLaggingDatabase() {
        let finals: [String: UInt64] = ["production": 120, "cache": 900, "queue": 4410, "cable": 77]
        var (machine, action) = sealed(finals, databases: group)
        #expect(action == .awaitStandby(until: .init(.standbyConfirmation, deadline: 2100)))
        // Three databases are there; the queue lags behind.
        var positions: [String: UInt64] = ["production": 120, "cache": 900, "queue": 4380, "cable": 77]
        #expect(machine.handle(.standbyPositions(["b": positions]), now: 200) == .none)
        positions["queue"] = 4409
        #expect(machine.handle(.standbyPositions(["b": positions]), now: 300) == .none)
        positions["queue"] = 4410
        #expect(machine.handle(.standbyPositions(["b": positions]), now: 400) == .uploadLastFiles)
        #expect(machine.handle(.uploaded(succeeded: true), now: 500) == .releaseLease)
        #expect(machine.handle(.released, now: 510) == .offerTakeover(to: "b"))
        #expect(
            machine.handle(.offered, now: 520)
                == .end(.handedOver(.init(to: "b", finalTXIDs: finals, heldMilliseconds: 510))))
    }

    @Test func aGroupWhoseLaggingDatabaseNeverCatchesUpIsNotHandedOver() {
        let finals: [String: UInt64] = ["production": 120, "cache": 900, "queue": 4410, "cable": 77]
        var (machine, action) = sealed(finals, databases: group)
        guard case .awaitStandby(let timer) = action else {
            Issue.record("expected a wait, got \(action)")
            return
        }
        // A database the standby never reported counts as not confirmed.
        let positions: [String: UInt64] = ["production": 120, "cache": 900, "cable": 77]
        #expect(machine.handle(.standbyPositions(["b": positions]), now: 200) == .none)
        #expect(machine.handle(.timerFired(timer), now: 2100) == .uploadLastFiles)
        let reason =
            "no standby (b) confirmed the last transactions (production 120, cache 900, queue 4410, cable 77) in time"
        #expect(machine.handle(.uploaded(succeeded: true), now: 2200) == .end(.failed(reason: reason)))
    }

    @Test func theFirstCandidateThatHasEverythingIsChosen() {
        var (machine, _) = sealed(["app": 10], candidates: ["b", "c"])
        #expect(machine.handle(.standbyPositions(["b": ["app": 4], "c": ["app": 10]]), now: 200) == .uploadLastFiles)
        #expect(machine.handle(.uploaded(succeeded: true), now: 300) == .releaseLease)
        #expect(machine.handle(.released, now: 310) == .offerTakeover(to: "c"))
    }

    @Test func aPositionOfAnotherPeerDoesNotCountForTheTarget() {
        // `baton handoff --to b`: c having everything does not matter.
        var (machine, action) = sealed(["app": 10], candidates: ["b"])
        #expect(action != .uploadLastFiles)
        #expect(machine.handle(.standbyPositions(["c": ["app": 10]]), now: 200) == .none)
        #expect(machine.handle(.standbyPositions(["b": ["app": 10], "c": ["app": 10]]), now: 300) == .uploadLastFiles)
    }

    @Test func aLoneHolderUploadsAndEndsWithoutWaiting() {
        var (machine, action) = sealed(["app": 10], candidates: [])
        #expect(action == .uploadLastFiles)
        #expect(
            machine.handle(.uploaded(succeeded: false), now: 150)
                == .end(.failed(reason: "there is no standby to take the baton")))
    }

    @Test func losingTheLeaseWhileDrainingEndsAtOnce() {
        var machine = HandoverStateMachine(candidates: ["b"], databases: ["app"], settings: settings)
        _ = machine.start(now: 0)
        #expect(machine.handle(.leaseLost, now: 10) == .end(.leaseLost))
        #expect(machine.handle(.drained, now: 20) == .none)
        #expect(machine.outcome == .leaseLost)
    }

    @Test func anEventOutOfOrderFailsLoudly() async {
        await #expect(processExitsWith: .failure) {
            var machine = HandoverStateMachine(
                candidates: ["b"], databases: ["app"],
                settings: .init(
                    drainMilliseconds: 1, confirmMilliseconds: 1))
            _ = machine.start(now: 0)
            // The app cannot have been sealed before it was stopped.
            _ = machine.handle(.sealed(["app": 1]), now: 1)
        }
    }
}
