"""Compaction and retention on a long run with many small files: every
point inside the retention window restores to the oracle's state, history
outside it is gone, and the object count stays bounded."""
import datetime
import json
import random
import time

from conftest import baton, commit_times, listing, stop, wait, workload
import workload as oracle


def stamp(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_compaction_and_retention_keep_the_window_restorable(tmp_path, procs):
    seed = random.randrange(1 << 30)
    print("seed", seed)
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "writes.log"
    oracle.create(db)
    retention_s, snapshot_s = 6, 5
    replicate = procs.replicate(
        db, url, "--batch-window-ms", "100", "--compaction-levels", "1s,3s", "--retention", f"{retention_s}s",
        "--snapshot-hours", f"{snapshot_s / 3600:.6f}", "--json", log=tmp_path / "baton.log")
    writer = procs.add(workload(db, seed, 1, 3000, log, chaos_seed=seed, pause_ms=[3, 9], checkpoint_every=200))
    assert wait(writer, 180) == 0
    time.sleep(2.5)
    assert stop(replicate) == 0
    ended = time.time() * 1000
    summary = json.loads((tmp_path / "baton.log").read_text()[(tmp_path / "baton.log").read_text().index("{"):])

    files = listing(url)
    levels = {f["level"] for f in files}
    assert {0, 1, 2, 9} <= levels, levels
    assert summary["compactions"] > 0 and summary["filesDeleted"] > 0, summary
    # Bounded: far fewer files than were ever written, and nothing from the start remains.
    assert len(files) < summary["segments"], (len(files), summary)
    assert all(not (f["level"] == 9 and f["maxTXID"] == 1) for f in files)
    times, _ = commit_times(log)
    oldest = min(datetime.datetime.fromisoformat(f["timestamp"].replace("Z", "+00:00")).timestamp() * 1000 for f in files)
    assert oldest >= ended - (retention_s + snapshot_s + 5) * 1000

    # Every point inside the window restores, with segment granularity.
    window_start = ended - retention_s * 1000 + 1000
    rng = random.Random(seed)
    for _ in range(12):
        at = rng.uniform(window_start, max(times.values()))
        baton("restore", url, "-o", tmp_path / "w.db", "--force", "--timestamp", stamp(at))
        n, kv = oracle.read_state(tmp_path / "w.db")
        assert oracle.integrity(tmp_path / "w.db") == "ok"
        assert kv == oracle.expected_state(seed, n)
        assert times[n] <= at
        # Not coarser than a batch (plus capture lag): the state is recent.
        assert all(times[k] > at - 1500 for k in range(n + 1, max(times) + 1) if times[k] <= at)
    # Latest is everything.
    baton("restore", url, "-o", tmp_path / "latest.db")
    assert oracle.read_state(tmp_path / "latest.db")[0] == 3000
    # Restoring the latest state uses compacted files: fewer files than level-0 segments alone.
    result = json.loads(baton("restore", url, "-o", tmp_path / "l2.db", "--json").stdout)
    assert result["files"] < len([f for f in files if f["level"] == 0])


def test_tiered_retention_keeps_hourly_and_daily_points_and_deletes_the_rest(tmp_path):
    """A history written on earlier days (each `replicate --once` under libfaketime at a fixed past time
    leaves a snapshot stamped then), then one pass at the real time with a 1 h window and tiers."""
    import glob
    import os
    import sqlite3
    import subprocess

    from conftest import BATON

    faketime = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    assert faketime, "libfaketime is missing: scripts/setup --tests installs it"
    db, url = tmp_path / "app.db", f"file://{tmp_path}/replica"
    oracle.create(db)
    times = ["2026-11-27 10:30:00", "2026-11-28 10:30:00", "2026-11-29 10:30:00"] + [
        f"2026-12-01 0{hour}:30:00" for hour in range(6)]
    rows_at = {}
    for n, when in enumerate(times):
        with sqlite3.connect(db) as con:
            con.execute("INSERT INTO kv(val) VALUES (?)", (when,))
        env = {**os.environ, "LD_PRELOAD": faketime[0], "FAKETIME": f"@{when}", "FAKETIME_DONT_FAKE_MONOTONIC": "1"}
        # Through env(1): libfaketime preloaded straight into baton loses its arguments (seen here).
        subprocess.run(["/usr/bin/env", BATON, "replicate", db, url, "--once", "--retention", "60d",
                        "--snapshot-hours", "0.5"], env=env, check=True,
                       capture_output=True, timeout=60)
        rows_at[max(f["maxTXID"] for f in listing(url))] = n + 1

    def restorable(txid):
        out = tmp_path / f"at-{txid}.db"
        done = subprocess.run([BATON, "restore", url, "-o", out, "--txid", str(txid), "--force"],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            return None
        with sqlite3.connect(out) as con:
            return con.execute("SELECT count(*) FROM kv").fetchone()[0]

    # Now (real time): a 1 h window; three hourly points (Dec 1, 05:30, 04:30, 03:30) and three daily
    # ones (the newest point of Dec 1, Nov 29 and Nov 28).
    args = ["--once", "--retention", "1h", "--keep-hourly", "3", "--keep-daily", "3"]
    baton("replicate", db, url, *args)
    kept = {txid for txid in rows_at if restorable(txid) is not None}
    by_time = dict(zip(times, sorted(rows_at)))
    expected = {by_time[t] for t in ["2026-11-28 10:30:00", "2026-11-29 10:30:00", "2026-12-01 03:30:00",
                                     "2026-12-01 04:30:00", "2026-12-01 05:30:00"]}
    assert kept == expected, (sorted(kept), sorted(expected))
    for txid in kept:
        assert restorable(txid) == rows_at[txid]
    # Idempotent: a second pass deletes nothing more.
    before = listing(url)
    result = subprocess.run([BATON, "replicate", db, url, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "retention: deleted" not in result.stderr, result.stderr
    assert [f for f in listing(url) if f["maxTXID"] in rows_at] == [f for f in before if f["maxTXID"] in rows_at]
