import Testing

@testable import BatonCore

@Suite struct StepDownStateMachineTests {
    @Test func fencingKillsTheAppBeforeAnythingElseAndKeepsUnconfirmedFilesAside() {
        var machine = StepDownStateMachine(databases: ["app"])
        #expect(machine.start() == .killApp)
        #expect(machine.handle(.appKilled) == .stopShipping)
        #expect(machine.handle(.shippingStopped) == .seal(database: "app"))
        // Three sealed files the store never confirmed: kept aside, never deleted.
        #expect(
            machine.handle(.sealed(database: "app", positionKnown: true, unconfirmedFiles: 3))
                == .keepUnconfirmedAside(database: "app"))
        #expect(machine.handle(.keptAside(database: "app")) == .adoptCopy(database: "app", positionKnown: true))
        #expect(!machine.isOver)
        #expect(machine.handle(.adopted(database: "app")) == .end)
        #expect(machine.isOver)
    }

    @Test func aGroupIsFencedDatabaseByDatabaseAndAFailedSealLeavesThePositionUnknown() {
        var machine = StepDownStateMachine(databases: ["production", "queue", "cache"])
        #expect(machine.start() == .killApp)
        #expect(machine.handle(.appKilled) == .stopShipping)
        #expect(machine.handle(.shippingStopped) == .seal(database: "production"))
        #expect(
            machine.handle(.sealed(database: "production", positionKnown: true, unconfirmedFiles: 0))
                == .adoptCopy(database: "production", positionKnown: true))
        #expect(machine.handle(.adopted(database: "production")) == .seal(database: "queue"))
        // The queue's WAL could not be read: its copy is adopted at an unknown position
        // (located in the holder's history or rebuilt later), its sealed files kept aside.
        #expect(
            machine.handle(.sealed(database: "queue", positionKnown: false, unconfirmedFiles: 1))
                == .keepUnconfirmedAside(database: "queue"))
        #expect(machine.handle(.keptAside(database: "queue")) == .adoptCopy(database: "queue", positionKnown: false))
        #expect(machine.handle(.adopted(database: "queue")) == .seal(database: "cache"))
        #expect(
            machine.handle(.sealed(database: "cache", positionKnown: true, unconfirmedFiles: 0))
                == .adoptCopy(database: "cache", positionKnown: true))
        #expect(machine.handle(.adopted(database: "cache")) == .end)
    }

    @Test func sealingBeforeTheAppIsDeadFailsLoudly() async {
        await #expect(processExitsWith: .failure) {
            var machine = StepDownStateMachine(databases: ["app"])
            _ = machine.start()
            _ = machine.handle(.sealed(database: "app", positionKnown: true, unconfirmedFiles: 0))
        }
    }
}
