"""Continuous replication of a live database, verified against a computable oracle."""
import datetime
import random
import signal
import time

from conftest import TORTURE, baton, commit_times, listing, stop, wait, workload
import workload as oracle


def restore_and_check(url, out, seed, *target):
    """Restores, then checks the content equals the oracle for its counter value."""
    baton("restore", url, "-o", out, "--force", *target)
    n, kv = oracle.read_state(out)
    assert oracle.integrity(out) == "ok"
    assert kv == oracle.expected_state(seed, n), f"restored content differs from the oracle at counter {n}"
    return n


def test_live_writer_with_checkpoints_restarts_and_kills(tmp_path, procs):
    seed = random.randrange(1 << 30)
    print("seed", seed)
    chaos = random.Random(seed)
    total = 5000 if TORTURE else 700
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "writes.log"
    oracle.create(db)
    replicate = procs.replicate(db, url, log=tmp_path / "baton.log")
    writer = procs.add(workload(db, seed, 1, total, log, chaos_seed=seed + 1, pause_ms=[0, 3]))

    deadline = time.monotonic() + (900 if TORTURE else 180)
    kills = restarts = 0
    while writer.poll() is None and time.monotonic() < deadline:
        time.sleep(chaos.uniform(0.2, 0.8))
        if writer.poll() is not None:
            break
        if chaos.random() < 0.5:
            stop(replicate, signal.SIGKILL)
            kills += 1
        else:
            assert stop(replicate) == 0
            restarts += 1
        replicate = procs.replicate(db, url, log=tmp_path / "baton.log")
    assert wait(writer, max(1, deadline - time.monotonic())) == 0
    time.sleep(1.5)
    assert stop(replicate) == 0, (tmp_path / "baton.log").read_text()[-2000:]
    assert kills + restarts > 0

    # Latest: everything the writer committed.
    assert restore_and_check(url, tmp_path / "latest.db", seed) == total

    # Every restorable point: content matches the oracle, counters never go back.
    ends = sorted({entry["maxTXID"] for entry in listing(url)})
    sample = sorted(chaos.sample(ends, min(len(ends), 60 if TORTURE else 20)))
    previous = 0
    for txid in sample:
        n = restore_and_check(url, tmp_path / "at.db", seed, "--txid", txid)
        assert n >= previous
        previous = n

    # Points in time: the restored state was committed at or before the time asked for.
    times, checkpoints = commit_times(log)
    first, last = min(times.values()), max(times.values())
    for _ in range(10):
        at = chaos.uniform(first, last + 2000)
        stamp = datetime.datetime.fromtimestamp(at / 1000, datetime.timezone.utc).isoformat(timespec="milliseconds")
        result = baton("restore", url, "-o", tmp_path / "ts.db", "--force", "--timestamp", stamp.replace("+00:00", "Z"), check=False)
        if result.returncode != 0:
            # Only a time before the first snapshot may find nothing.
            assert "at or before the requested time" in result.stderr
            continue
        n, kv = oracle.read_state(tmp_path / "ts.db")
        assert n == 0 or times[n] <= at
        assert kv == oracle.expected_state(seed, n)

    # The app's own checkpoints ran in every mode and never waited out their busy timeout.
    assert {mode for mode, _, _ in checkpoints} >= {"PASSIVE", "FULL", "RESTART", "TRUNCATE"} or not TORTURE
    assert all(took < 5000 for _, took, _ in checkpoints), checkpoints


def test_sigint_flushes_and_exits_zero(tmp_path, procs):
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "writes.log"
    oracle.create(db)
    replicate = procs.replicate(db, url, "--batch-window-ms", "60000")
    assert wait(workload(db, 3, 1, 50, log, pause_ms=[0, 0]), 60) == 0
    time.sleep(0.3)
    # The batch window is a minute: only the shutdown flush can have stored the last commits.
    assert stop(replicate, signal.SIGINT) == 0
    assert restore_and_check(url, tmp_path / "out.db", 3) == 50


def test_once_and_resume_after_the_app_closed(tmp_path):
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "writes.log"
    oracle.create(db)
    assert wait(workload(db, 5, 1, 20, log, pause_ms=[0, 0]), 60) == 0
    baton("replicate", db, url, "--once")
    assert restore_and_check(url, tmp_path / "a.db", 5) == 20
    first_end = max(f["maxTXID"] for f in listing(url))
    # The app ran again while Baton was stopped and closed cleanly (WAL checkpointed and removed).
    assert wait(workload(db, 5, 21, 40, log, pause_ms=[0, 0]), 60) == 0
    baton("replicate", db, url, "--once")
    assert restore_and_check(url, tmp_path / "b.db", 5) == 40
    # Transaction IDs only grow: the second run continued after the first.
    assert max(f["maxTXID"] for f in listing(url)) > first_end
    # Nothing changed: the next run resumes without writing anything.
    files = listing(url)
    third = baton("replicate", db, url, "--once")
    assert "resumed" in third.stderr
    assert listing(url) == files


def test_exec_runs_the_app_and_returns_its_status(tmp_path):
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "writes.log"
    oracle.create(db)
    import json, sys
    from conftest import HERE
    args = json.dumps({"db": str(db), "seed": 9, "first": 1, "last": 80, "log": str(log), "pause_ms": [0, 1]})
    command = f"{sys.executable} {HERE / 'workload.py'} '{args}' && exit 3"
    result = baton("replicate", db, url, "--exec", command, check=False, timeout=120)
    assert result.returncode == 3, result.stderr
    assert restore_and_check(url, tmp_path / "out.db", 9) == 80


def test_vacuum_shrinks_and_restores(tmp_path, procs):
    import sqlite3
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "writes.log"
    oracle.create(db)
    replicate = procs.replicate(db, url)
    assert wait(workload(db, 11, 1, 150, log, pause_ms=[0, 1], checkpoint_every=1000), 60) == 0
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("DELETE FROM kv")
    con.execute("UPDATE counter SET n = -1")
    con.execute("VACUUM")
    con.close()
    time.sleep(1.5)
    assert stop(replicate) == 0
    out = tmp_path / "out.db"
    baton("restore", url, "-o", out)
    assert oracle.read_state(out) == (-1, {})
    assert out.stat().st_size <= 4 * 4096
    assert oracle.integrity(out) == "ok"
