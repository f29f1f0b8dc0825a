import BatonCore
import Testing

/// Copies set aside as diverged are never overwritten by a later one, and a
/// `diverged.keep` limit lets only the oldest go.
@Suite struct DivergedCopiesTests {
    @Test func aSecondCopyInTheSameSecondGetsANameOfItsOwn() {
        var taken: Set<String> = []
        for _ in 0..<3 {
            let name = DivergedCopies.name(base: "/d/app.db", epoch: 4, seconds: 100, taken: taken.contains)
            taken.insert(name)
        }
        #expect(taken == ["/d/app.db.diverged-4-100", "/d/app.db.diverged-4-100-2", "/d/app.db.diverged-4-100-3"])
    }

    @Test func copiesAreFoundOldestFirstWithoutTheirWALOrOtherFiles() {
        let names = [
            "app.db", "app.db-wal", "app.db.diverged-7-300", "app.db.diverged-7-300-wal", "app.db.diverged-7-300-shm",
            "app.db.diverged-3-100", "app.db.diverged-5-100-2", "app.db.diverged-x-1", "other.db.diverged-1-50",
            "app.db.diverged-2-90-1", "app.db-baton",
        ]
        let copies = DivergedCopies.copies(of: "app.db", among: names)
        #expect(copies.map(\.name) == ["app.db.diverged-3-100", "app.db.diverged-5-100-2", "app.db.diverged-7-300"])
    }

    @Test func aLimitRemovesTheOldestAndNeverTheNewest() {
        let copies = DivergedCopies.copies(
            of: "app.db", among: ["app.db.diverged-1-10", "app.db.diverged-2-20", "app.db.diverged-3-30"])
        #expect(
            DivergedCopies.beyond(keep: 1, of: copies).map(\.name) == ["app.db.diverged-1-10", "app.db.diverged-2-20"])
        #expect(DivergedCopies.beyond(keep: 3, of: copies).isEmpty)
        #expect(DivergedCopies.beyond(keep: 5, of: copies).isEmpty)
    }
}
