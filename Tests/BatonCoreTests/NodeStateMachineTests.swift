import Testing

@testable import BatonCore

@Suite struct NodeStateMachineTests {
    let timing = NodeStateMachine.Timing(heartbeatTimeoutMilliseconds: 2000, leaseRetryMilliseconds: 500)

    @Test func theFirstNodeOnAnEmptyStoreTakesTheBaton() {
        var node = NodeStateMachine(name: "a", timing: timing, now: 0)
        #expect(node.start(now: 0) == .tryAcquire)
        #expect(node.acquired(epoch: 1, now: 10) == .promote(epoch: 1))
        #expect(node.role == .promoting)
        #expect(node.promoted() == .none)
        #expect(node.role == .holder)
        #expect(node.failovers == 0)
    }

    @Test func aStandbyFollowsAndTakesOverOnlyAfterSilence() {
        var node = NodeStateMachine(name: "b", timing: timing, now: 0)
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
        #expect(node.acquired(epoch: 4, now: 3600) == .promote(epoch: 4))
        #expect(node.promoted() == .none)
        #expect(node.failovers == 1)
    }

    @Test func aNewHolderIsFollowed() {
        var node = NodeStateMachine(name: "c", timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.leaseHeld(holder: "a", epoch: 3, now: 0)
        #expect(node.leaseHeld(holder: "b", epoch: 4, now: 2500) == .follow(holder: "b", epoch: 4))
        #expect(node.tick(now: 3000) == .none)  // contact clock restarted for the new holder
    }

    @Test func ourOwnRecordFromBeforeARestartMustExpireFirst() {
        var node = NodeStateMachine(name: "a", timing: timing, now: 0)
        _ = node.start(now: 0)
        #expect(node.leaseHeld(holder: "a", epoch: 5, now: 10) == .none)
        #expect(node.role == .standby)
        #expect(node.tick(now: 400) == .none)
        #expect(node.tick(now: 510) == .tryAcquire)
        #expect(node.acquired(epoch: 6, now: 600) == .promote(epoch: 6))
    }

    @Test func aHolderThatLosesTheLeaseFencesAndRejoinsAsStandby() {
        var node = NodeStateMachine(name: "a", timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        _ = node.promoted()
        #expect(node.leaseLost() == .fence(epoch: 1))
        #expect(node.role == .steppingDown)
        #expect(node.leaseLost() == .none)
        #expect(node.steppedDown(now: 9000) == .none)
        #expect(node.role == .standby)
        #expect(node.holder == nil)
        #expect(node.tick(now: 9600) == .tryAcquire)
        #expect(node.leaseHeld(holder: "b", epoch: 2, now: 9700) == .follow(holder: "b", epoch: 2))
    }

    @Test func aFailedPromotionFences() {
        var node = NodeStateMachine(name: "a", timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 7, now: 0)
        #expect(node.promotionFailed() == .fence(epoch: 7))
        #expect(node.steppedDown(now: 100) == .none)
        #expect(node.role == .standby)
    }

    @Test func aHandOverPassesTheBatonAndTheStandbyTakesItAtOnce() {
        var holder = NodeStateMachine(name: "a", timing: timing, now: 0)
        var standby = NodeStateMachine(name: "b", timing: timing, now: 0)
        _ = holder.start(now: 0)
        _ = holder.acquired(epoch: 1, now: 0)
        _ = holder.promoted()
        _ = standby.start(now: 0)
        _ = standby.leaseHeld(holder: "a", epoch: 1, now: 0)
        standby.contact(holderEpoch: 1, now: 100)

        #expect(holder.handoffRequested(to: "b") == .handOver(epoch: 1, to: "b"))
        #expect(holder.role == .handingOver)
        #expect(holder.handoffRequested(to: "b") == .none)
        // The holder released the lease and tells the standby; it does not wait for silence.
        #expect(standby.takeoverOffered(now: 200) == .tryAcquire)
        #expect(standby.acquired(epoch: 2, now: 250) == .promote(epoch: 2))
        #expect(standby.failovers == 0)
        #expect(holder.handoffFinished(now: 260) == .readLease)
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
        var node = NodeStateMachine(name: "a", timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        _ = node.promoted()
        _ = node.handoffRequested(to: nil)
        #expect(node.handoffFailed() == .resumeHolding(epoch: 1))
        #expect(node.role == .holder)
    }

    @Test func shutdownHandsOverFirstThenExits() {
        var node = NodeStateMachine(name: "a", timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        _ = node.promoted()
        #expect(node.shutdownRequested() == .handOver(epoch: 1, to: nil))
        #expect(node.shutdownRequested() == .none)
        #expect(node.handoffFinished(now: 10) == .exit)
        #expect(node.role == .stopped)
    }

    @Test func shutdownWithoutAStandbyFencesThenExits() {
        var node = NodeStateMachine(name: "a", timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        _ = node.promoted()
        _ = node.shutdownRequested()
        #expect(node.handoffFailed() == .fence(epoch: 1))
        #expect(node.steppedDown(now: 10) == .exit)
    }

    @Test func shutdownDuringPromotionWaitsForItThenHandsOver() {
        var node = NodeStateMachine(name: "a", timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.acquired(epoch: 1, now: 0)
        #expect(node.shutdownRequested() == .none)
        #expect(node.promoted() == .handOver(epoch: 1, to: nil))
    }

    @Test func aStandbyJustStops() {
        var node = NodeStateMachine(name: "b", timing: timing, now: 0)
        _ = node.start(now: 0)
        _ = node.leaseHeld(holder: "a", epoch: 1, now: 0)
        #expect(node.shutdownRequested() == .exit)
        #expect(node.tick(now: 10_000) == .none)
        #expect(node.takeoverOffered(now: 10_000) == .none)
    }
}
