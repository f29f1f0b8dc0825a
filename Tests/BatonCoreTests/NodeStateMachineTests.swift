import Testing

@testable import BatonCore

@Suite struct NodeStateMachineTests {
    let timing = NodeStateMachine.Timing(
        heartbeatTimeoutMilliseconds: 2000, leaseRetryMilliseconds: 500,
        handover: .init(drainMilliseconds: 100, confirmMilliseconds: 1000))

    /// The other nodes of a three-node cluster a, b, c.
    func peers(of name: String) -> [String] { ["a", "b", "c"].filter { $0 != name } }

    /// Runs a promotion that `acquired` began to serving, on an empty store.
    func serve(_ node: inout NodeStateMachine, now: Int64) -> NodeStateMachine.Action {
        #expect(node.promotion(.followingStopped) == .promotion(.inspect(database: "app")))
        let local = PromotionStateMachine.LocalCopy(txid: nil, epoch: 0, exists: false)
        #expect(
            node.promotion(.inspected(database: "app", local: local, store: nil))
                == .promotion(.startReplicating(["app": 0])))
        #expect(node.promotion(.replicating) == .promotion(.startApp))
        #expect(node.promotion(.appReady) == .promotion(.end(.serving(["app": .kept(txid: 0)]))))
        return node.promotionEnded(now: now)
    }

    /// Runs a hand-over that `start` began to its successful end, at time `now`,
    /// with `peer` confirming transaction 42 of the one database.
    func completeHandover(_ node: inout NodeStateMachine, _ start: NodeStateMachine.Action, to peer: String, now: Int64)
        -> NodeStateMachine.Action
    {
        #expect(start == .handover(.holdTraffic(until: .init(.drain, deadline: now + 100))))
        #expect(node.handover(.drained, now: now) == .handover(.stopApp))
        #expect(node.handover(.appStopped, now: now) == .handover(.sealDatabases))
        let waiting = node.handover(.sealed(["app": 42]), now: now)
        #expect(waiting == .handover(.awaitStandby(until: .init(.standbyConfirmation, deadline: now + 1000))))
        #expect(node.handover(.standbyPositions([peer: ["app": 42]]), now: now) == .handover(.uploadLastFiles))
        #expect(node.handover(.uploaded(succeeded: true), now: now) == .handover(.releaseLease))
        #expect(node.handover(.released, now: now) == .handover(.offerTakeover(to: peer)))
        let report = HandoverStateMachine.Report(to: peer, finalTXIDs: ["app": 42], heldMilliseconds: 0)
        #expect(node.handover(.offered, now: now) == .handover(.end(.handedOver(report))))
        return node.handoverEnded(now: now)
    }

    @Test func theFirstNodeOnAnEmptyStoreTakesTheBaton() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        #expect(node.start(now: 0) == .tryAcquire)
        #expect(node.acquired(epoch: 1, now: 10) == .promotion(.stopFollowing))
        #expect(node.epoch == 1)
        #expect(node.role == .promoting)
        #expect(serve(&node, now: 0) == .none)
        #expect(node.role == .holder)
        #expect(node.failovers == 0)
    }

    @Test func aStandbyFollowsAndTakesOverOnlyAfterSilence() {
        var node = NodeStateMachine(name: "b", peers: peers(of: "b"), databases: ["app"], timing: timing, now: 0)
        #expect(node.start(now: 0) == .tryAcquire)
        #expect(node.leaseHeld(holder: "a", epoch: 3, now: 10) == .follow(holder: "a", epoch: 3))
        #expect(node.role == .standby)
        node.contact(holderEpoch: 3, now: 1000)
        #expect(node.tick(now: 2500) == .none)  // heard from the holder 1.5 s ago
        #expect(node.tick(now: 3000) == .tryAcquire)  // 2 s of silence
        #expect(node.tick(now: 3100) == .none)  // retries are spaced
        // A false alarm: the holder still renews, nothing changes.
        #expect(node.leaseHeld(holder: "a", epoch: 3, now: 3200) == .none)
        #expect(node.role == .standby)
        #expect(node.tick(now: 3500) == .tryAcquire)
        #expect(node.acquired(epoch: 4, now: 3600) == .promotion(.stopFollowing))
        #expect(node.epoch == 4)
        #expect(serve(&node, now: 0) == .none)
        #expect(node.failovers == 1)
    }

    @Test func aNewHolderIsFollowed() {
        var node = NodeStateMachine(name: "c", peers: peers(of: "c"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.leaseHeld(holder: "a", epoch: 3, now: 0)
        #expect(node.leaseHeld(holder: "b", epoch: 4, now: 2500) == .follow(holder: "b", epoch: 4))
        #expect(node.tick(now: 3000) == .none)  // contact clock restarted for the new holder
    }

    @Test func ourOwnRecordFromBeforeARestartMustExpireFirst() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        #expect(node.leaseHeld(holder: "a", epoch: 5, now: 10) == .none)
        #expect(node.role == .standby)
        #expect(node.tick(now: 400) == .none)
        #expect(node.tick(now: 510) == .tryAcquire)
        #expect(node.acquired(epoch: 6, now: 600) == .promotion(.stopFollowing))
        #expect(node.epoch == 6)
    }

    @Test func aHolderThatLosesTheLeaseFencesAndRejoinsAsStandby() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        _ = serve(&node, now: 0)
        #expect(node.leaseLost(now: 0) == .fence(epoch: 1))
        #expect(node.role == .steppingDown)
        #expect(node.leaseLost(now: 0) == .none)
        #expect(node.steppedDown(now: 9000) == .none)
        #expect(node.role == .standby)
        #expect(node.holder == nil)
        #expect(node.tick(now: 9600) == .tryAcquire)
        #expect(node.leaseHeld(holder: "b", epoch: 2, now: 9700) == .follow(holder: "b", epoch: 2))
    }

    @Test func aFailedPromotionFences() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 7, now: 0)
        #expect(node.promotion(.followingStopped) == .promotion(.inspect(database: "app")))
        #expect(
            node.promotion(.failed(reason: "the store cannot be read"))
                == .promotion(.end(.failed(reason: "the store cannot be read"))))
        #expect(node.promotionEnded(now: 50) == .fence(epoch: 7))
        #expect(node.steppedDown(now: 100) == .none)
        #expect(node.role == .standby)
    }

    @Test func losingTheLeaseWhilePromotingFences() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 2, now: 0)
        _ = node.promotion(.followingStopped)
        #expect(node.leaseLost(now: 40) == .promotion(.end(.leaseLost)))
        #expect(node.promotionEnded(now: 40) == .fence(epoch: 2))
        #expect(node.role == .steppingDown)
    }

    @Test func aHandOverPassesTheBatonAndTheStandbyTakesItAtOnce() {
        var holder = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        var standby = NodeStateMachine(name: "b", peers: peers(of: "b"), databases: ["app"], timing: timing, now: 0)
        _ = holder.start(now: 0)
        _ = holder.acquired(epoch: 1, now: 0)
        _ = serve(&holder, now: 0)
        _ = standby.start(now: 0)
        _ = standby.leaseHeld(holder: "a", epoch: 1, now: 0)
        standby.contact(holderEpoch: 1, now: 100)

        let start = holder.handoffRequested(to: "b", now: 260)
        #expect(holder.role == .handingOver)
        #expect(holder.handoffRequested(to: "b", now: 260) == .none)
        // The holder released the lease and tells the standby; it does not wait for silence.
        #expect(standby.takeoverOffered(now: 200) == .tryAcquire)
        #expect(standby.acquired(epoch: 2, now: 250) == .promotion(.stopFollowing))
        #expect(standby.epoch == 2)
        #expect(standby.failovers == 0)
        #expect(completeHandover(&holder, start, to: "b", now: 260) == .readLease)
        #expect(holder.role == .standby)
        #expect(holder.handoffs == 1)
        // The old holder only looks for the new one for a while; it never races it for the lease.
        #expect(holder.tick(now: 500) == .none)
        #expect(holder.tick(now: 800) == .readLease)
        #expect(holder.leaseHeld(holder: "b", epoch: 2, now: 900) == .follow(holder: "b", epoch: 2))
        holder.contact(holderEpoch: 2, now: 1000)
        #expect(holder.tick(now: 1500) == .none)
        // If the new holder goes silent, the old holder may take it back after the quiet period.
        #expect(holder.tick(now: 2900) == .none)
        #expect(holder.tick(now: 3000) == .tryAcquire)
    }

    @Test func aHandOverWithNobodyToTakeItResumes() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        _ = serve(&node, now: 0)
        _ = node.handoffRequested(to: nil, now: 0)
        _ = node.handover(.drained, now: 10)
        _ = node.handover(.appStopped, now: 20)
        _ = node.handover(.sealed(["app": 9]), now: 30)
        #expect(
            node.handover(.timerFired(.init(.standbyConfirmation, deadline: 1030)), now: 1030)
                == .handover(.uploadLastFiles))
        #expect(
            node.handover(.uploaded(succeeded: true), now: 1040)
                == .handover(.end(.failed(reason: "no standby (b, c) confirmed transaction 9 in time"))))
        #expect(node.handoverEnded(now: 1040) == .resumeHolding(epoch: 1))
        #expect(node.role == .holder)
        #expect(node.handoffs == 0)
    }

    @Test func losingTheLeaseDuringAHandOverFences() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 3, now: 0)
        _ = serve(&node, now: 0)
        _ = node.handoffRequested(to: "b", now: 0)
        _ = node.handover(.drained, now: 10)
        #expect(node.leaseLost(now: 20) == .handover(.end(.leaseLost)))
        #expect(node.handoverEnded(now: 20) == .fence(epoch: 3))
        #expect(node.role == .steppingDown)
    }

    @Test func losingTheLeaseAfterReleasingItIsThePoint() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 3, now: 0)
        _ = serve(&node, now: 0)
        _ = node.handoffRequested(to: "b", now: 0)
        _ = node.handover(.drained, now: 0)
        _ = node.handover(.appStopped, now: 0)
        _ = node.handover(.standbyPositions(["b": ["app": 5]]), now: 0)
        #expect(node.handover(.sealed(["app": 5]), now: 0) == .handover(.uploadLastFiles))
        _ = node.handover(.uploaded(succeeded: false), now: 0)
        #expect(node.handover(.released, now: 40) == .handover(.offerTakeover(to: "b")))
        #expect(node.leaseLost(now: 45) == .none)
        #expect(node.role == .handingOver)
    }

    @Test func shutdownHandsOverFirstThenExits() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        _ = serve(&node, now: 0)
        let start = node.shutdownRequested(now: 0)
        #expect(node.shutdownRequested(now: 0) == .none)
        #expect(completeHandover(&node, start, to: "c", now: 0) == .exit)
        #expect(node.role == .stopped)
    }

    @Test func shutdownWithoutAStandbyFencesThenExits() {
        var node = NodeStateMachine(name: "a", peers: [], databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        _ = serve(&node, now: 0)
        _ = node.shutdownRequested(now: 0)
        _ = node.handover(.drained, now: 0)
        _ = node.handover(.appStopped, now: 0)
        // No peers: nothing to wait for, the last files go to the store at once.
        #expect(node.handover(.sealed(["app": 3]), now: 0) == .handover(.uploadLastFiles))
        #expect(
            node.handover(.uploaded(succeeded: true), now: 0)
                == .handover(.end(.failed(reason: "there is no standby to take the baton"))))
        #expect(node.handoverEnded(now: 10) == .fence(epoch: 1))
        #expect(node.steppedDown(now: 10) == .exit)
    }

    @Test func shutdownDuringPromotionWaitsForItThenHandsOver() {
        var node = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        #expect(node.shutdownRequested(now: 0) == .none)
        #expect(serve(&node, now: 5) == .handover(.holdTraffic(until: .init(.drain, deadline: 105))))
    }

    @Test func aStandbyJustStops() {
        var node = NodeStateMachine(name: "b", peers: peers(of: "b"), databases: ["app"], timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.leaseHeld(holder: "a", epoch: 1, now: 0)
        #expect(node.shutdownRequested(now: 0) == .exit)
        #expect(node.tick(now: 10_000) == .none)
        #expect(node.takeoverOffered(now: 10_000) == .none)
    }

    @Test func aStandbyKnowsWhenItNextHasSomethingToDo() {
        var node = NodeStateMachine(name: "b", peers: peers(of: "b"), databases: ["app"], timing: timing, now: 0)
        #expect(node.start(now: 0) == .tryAcquire)
        #expect(node.leaseHeld(holder: "a", epoch: 3, now: 10) == .follow(holder: "a", epoch: 3))
        node.contact(holderEpoch: 3, now: 1000)
        // Heard from the holder at 1000: nothing to do before the heartbeat timeout runs out.
        #expect(node.nextTick(now: 1200) == 3000)
        #expect(node.tick(now: 2999) == .none)
        #expect(node.tick(now: 3000) == .tryAcquire)
        // Tried at 3000 and still silent: the next attempt is due after the retry interval.
        #expect(node.nextTick(now: 3000) == 3500)
        #expect(node.tick(now: 3499) == .none)
        #expect(node.tick(now: 3500) == .tryAcquire)
        // Contact again pushes it out.
        node.contact(holderEpoch: 3, now: 4000)
        #expect(node.nextTick(now: 4000) == 6000)
        // A holder, or a node shutting down, waits for events only.
        var holder = NodeStateMachine(name: "a", peers: peers(of: "a"), databases: ["app"], timing: timing, now: 0)
        _ = holder.start(now: 0)
        _ = holder.acquired(epoch: 1, now: 0)
        #expect(holder.nextTick(now: 0) == nil)
    }
}
