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
