"""Decides, after a chaos run, whether Baton kept its promises. Pure functions
over what the run recorded (no processes, no clock), so each check is tested
on made-up histories that break it (Tests/integration/test_chaos_checker.py).

A history is a list of requests as the clients saw them:
    {"key", "node", "sent", "received", "status", "epoch", "at"}
`sent`/`received` are the client's monotonic seconds, `epoch` and `at` (the
app's commit time, wall-clock ms on the machine every process shares) come
from an acknowledged write's answer. A final copy is the list of rows
(id, key, epoch) of one database file (a node's copy, or a restore from the
store) in id order, which is commit order on the line of holders it shows.
A read is {"level", "key", "node", "status", "shows"}: a read-back through the
relay API of a write acknowledged before the read was sent.
"""
from dataclasses import dataclass, field


@dataclass
class Violation:
    """One broken promise: which check, and what shows it."""
    check: str
    detail: str


@dataclass
class Verdict:
    """What the checks found, with the counts a report needs."""
    violations: list = field(default_factory=list)
    acknowledged: int = 0
    failed: int = 0
    epochs: list = field(default_factory=list)
    reads: int = 0
    points: int = 0

    @property
    def ok(self):
        return not self.violations


def acknowledged(history):
    """The acknowledged writes (status 200 with an epoch)."""
    return [entry for entry in history if entry.get("status") == 200 and entry.get("epoch") is not None]


def lost_writes(history, copies):
    """Every acknowledged write is in every final copy (`copies`: name -> rows)."""
    violations = []
    acked = [entry["key"] for entry in acknowledged(history)]
    for name, rows in copies.items():
        present = {key for _, key, _ in rows}
        missing = [key for key in acked if key not in present]
        if missing:
            violations.append(Violation(
                "lost writes", f"{len(missing)} acknowledged writes missing from {name}, e.g. {missing[:5]}"))
    return violations


def two_writers_by_commit_time(history):
    """No write acknowledged under an older epoch was committed after the first
    acknowledged commit of a newer epoch (commit times from the app's answers)."""
    first_commit = {}
    for entry in acknowledged(history):
        epoch = entry["epoch"]
        first_commit[epoch] = min(first_commit.get(epoch, entry["at"]), entry["at"])
    violations = []
    for entry in acknowledged(history):
        newer = [(at, epoch) for epoch, at in first_commit.items() if epoch > entry["epoch"] and at < entry["at"]]
        if newer:
            at, epoch = min(newer)
            violations.append(Violation(
                "two writers",
                f"{entry['key']} committed under epoch {entry['epoch']} at {entry['at']} ms, after epoch {epoch}'s "
                f"first commit at {at} ms"))
    return violations


def two_writers_by_order(copies):
    """In every final copy the epochs of the rows never go down in commit
    order: an older epoch's row after a newer one's means two writers."""
    violations = []
    for name, rows in copies.items():
        highest = None
        for row_id, key, epoch in rows:
            if highest is not None and epoch < highest[0]:
                violations.append(Violation(
                    "two writers",
                    f"in {name}, row {row_id} ({key}) of epoch {epoch} follows row {highest[1]} of epoch {highest[0]}"))
                break
            if highest is None or epoch > highest[0]:
                highest = (epoch, row_id)
    return violations


def same_rows(copies):
    """Every final copy holds the same rows (the cluster converged)."""
    if not copies:
        return []
    names = list(copies)
    reference = copies[names[0]]
    return [Violation("diverged copies", f"{name} holds {len(copies[name])} rows, {names[0]} {len(reference)}; "
                                         f"first difference at {first_difference(reference, copies[name])}")
            for name in names[1:] if copies[name] != reference]


def point_restores(final, points):
    """Every restore at an earlier point (`points`: name -> rows) shows a
    prefix of the final history: exactly the final copy's first rows, in
    order (the writes are inserts only, so an earlier state is a prefix of
    a later one on the same line of holders)."""
    return [Violation("point-in-time restore", f"{name} holds {len(restored)} rows that are not the first "
                                                f"{len(restored)} of the final copy; first difference at "
                                                f"{first_difference(final, restored)}")
            for name, restored in points.items() if restored != final[:len(restored)]]


def first_difference(a, b):
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"row {index}: {x} vs {y}"
    return f"row {min(len(a), len(b))} (one copy ends there)"


def stale_reads(reads):
    """Every read answered 200 shows the key whose write was acknowledged
    before the read was sent (`level=none` with the write's TXID, `strong`):
    reads are {"level", "key", "node", "status", "shows"}."""
    return [Violation("stale read", f"a level={read['level']} read of {read['key']} answered by {read['node']} did not "
                                    f"show it, though its write was acknowledged first"
                                    + (f" (transaction {read['txid']})" if read.get("txid") else ""))
            for read in reads if read.get("status") == 200 and read.get("shows") is False]


def check(history, copies, integrity, recoveries, recovery_bound, reads=(), points=None):
    """All checks. `integrity`: name -> PRAGMA integrity_check's answer;
    `points`: name -> rows of restores at earlier points (checked against
    the first copy);
    `recoveries`: [(fault, seconds or None)] from each healed fault until one
    holder and a streaming standby (None: not within the run's wait)."""
    verdict = Verdict()
    verdict.acknowledged = len(acknowledged(history))
    verdict.failed = sum(1 for entry in history if entry.get("status") != 200)
    verdict.epochs = sorted({entry["epoch"] for entry in acknowledged(history)})
    verdict.violations += lost_writes(history, copies)
    verdict.violations += two_writers_by_commit_time(history)
    verdict.violations += two_writers_by_order(copies)
    verdict.violations += same_rows(copies)
    verdict.violations += stale_reads(reads)
    if copies and points:
        verdict.violations += point_restores(next(iter(copies.values())), points)
        verdict.points = len(points)
    verdict.reads = sum(1 for read in reads if read.get("status") == 200 and read.get("shows") is not None)
    for name, answer in integrity.items():
        if answer != "ok":
            verdict.violations.append(Violation("integrity", f"{name}: {answer}"))
    for fault, seconds in recoveries:
        if seconds is None or seconds > recovery_bound:
            shown = "never" if seconds is None else f"{seconds:.1f} s"
            verdict.violations.append(Violation(
                "recovery", f"after {fault}: holder and streaming standby {shown} (bound {recovery_bound:.0f} s)"))
    return verdict
