"""The chaos checker (Tests/chaos/checker.py) on made-up histories: each check
passes a clean run and catches the run that breaks it."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "chaos"))

import checker  # noqa: E402


def ack(key, epoch, at):
    return {"key": key, "status": 200, "epoch": epoch, "at": at, "sent": 0, "received": 0}


CLEAN = [ack("a", 1, 100), ack("b", 1, 110), {"key": "c", "status": 0}, ack("d", 2, 500), ack("e", 2, 510)]
ROWS = [(1, "a", 1), (2, "b", 1), (3, "c", 1), (4, "d", 2), (5, "e", 2)]


def test_a_clean_run_passes():
    verdict = checker.check(CLEAN, {"a": ROWS, "b": list(ROWS)}, {"a": "ok", "b": "ok"}, [("kill", 12.0)], 20)
    assert verdict.ok, verdict.violations
    assert (verdict.acknowledged, verdict.failed, verdict.epochs) == (4, 1, [1, 2])


def test_an_acknowledged_write_missing_from_any_copy_is_lost():
    without_d = [row for row in ROWS if row[1] != "d"]
    violations = checker.lost_writes(CLEAN, {"a": ROWS, "store": without_d})
    assert [v.check for v in violations] == ["lost writes"] and "store" in violations[0].detail
    # A write that was never acknowledged may be missing.
    assert checker.lost_writes(CLEAN, {"a": [row for row in ROWS if row[1] != "c"]}) == []


def test_an_older_epoch_committing_after_a_newer_one_is_two_writers():
    late = CLEAN + [ack("f", 1, 505)]
    violations = checker.two_writers_by_commit_time(late)
    assert len(violations) == 1 and "f committed under epoch 1" in violations[0].detail
    assert checker.two_writers_by_commit_time(CLEAN) == []


def test_an_older_epoch_s_row_after_a_newer_one_is_two_writers():
    swapped = [(1, "a", 1), (2, "d", 2), (3, "b", 1)]
    violations = checker.two_writers_by_order({"a": swapped})
    assert len(violations) == 1 and "row 3 (b) of epoch 1 follows row 2 of epoch 2" in violations[0].detail
    assert checker.two_writers_by_order({"a": ROWS}) == []


def test_copies_that_differ_corrupt_copies_and_slow_recoveries_are_violations():
    verdict = checker.check(CLEAN, {"a": ROWS, "b": ROWS[:-1] + [(5, "e", 3)]}, {"a": "ok", "b": "*** page 3 ..."},
                            [("kill", 25.0), ("pause", None), ("cpu", 3.0)], 20)
    found = sorted(v.check for v in verdict.violations)
    assert found == ["diverged copies", "integrity", "recovery", "recovery"], verdict.violations


def test_a_read_that_misses_a_write_acknowledged_before_it_is_stale():
    fresh = {"level": "none", "key": "a", "node": "b", "status": 200, "shows": True, "txid": "7"}
    refused = {"level": "none", "key": "a", "node": "b", "status": 503, "shows": None}
    stale = {"level": "strong", "key": "a", "node": "a", "status": 200, "shows": False}
    assert checker.stale_reads([fresh, refused]) == []
    violations = checker.stale_reads([fresh, stale])
    assert [v.check for v in violations] == ["stale read"] and "level=strong" in violations[0].detail
    verdict = checker.check(CLEAN, {"a": ROWS}, {"a": "ok"}, [], 20, reads=[fresh, refused, stale])
    assert not verdict.ok and verdict.reads == 2


def test_a_restore_at_an_earlier_point_must_show_a_prefix_of_the_final_history():
    assert checker.point_restores(ROWS, {"txid 3": ROWS[:3], "txid 1": ROWS[:1], "empty": []}) == []
    forked = ROWS[:2] + [(3, "x", 2)]
    violations = checker.point_restores(ROWS, {"txid 3": forked})
    assert [v.check for v in violations] == ["point-in-time restore"] and "row 2" in violations[0].detail
    # Part of the full check, against the first copy.
    verdict = checker.check(CLEAN, {"a": ROWS}, {"a": "ok"}, [], 20, points={"txid 3": forked})
    assert [v.check for v in verdict.violations] == ["point-in-time restore"]
