"""`baton verify`: a restore drill restores the newest state and random
earlier points, checks each, exits 0 when all pass, and names the point and
the reason when one does not (a corrupt file in the replica)."""
import json
import random
import subprocess
import time

from conftest import BATON, baton, listing, stop, wait, workload
import workload as oracle


def test_a_drill_passes_on_a_good_replica_and_names_what_a_corrupt_file_breaks(tmp_path, procs):
    seed = random.randrange(1 << 30)
    db, url, log = tmp_path / "app.db", f"file://{tmp_path}/replica", tmp_path / "writes.log"
    oracle.create(db)
    replicate = procs.replicate(db, url, "--batch-window-ms", "50", log=tmp_path / "baton.log")
    writer = procs.add(workload(db, seed, 1, 400, log, pause_ms=[1, 4]))
    assert wait(writer, 120) == 0
    time.sleep(1)
    assert stop(replicate) == 0

    result = baton("verify", url, "--points", "4", "--scratch-dir", tmp_path / "scratch")
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:5]] == ["ok"] * 5, result.stdout
    assert "checksums and integrity_check passed" in lines[0] and lines[0].startswith("ok     latest")
    assert lines[-1].startswith("verified 5 restores")
    assert not list((tmp_path / "scratch").glob("*.db")), "the drill's copies stay behind"
    report = json.loads(baton("verify", url, "--points", "2", "--json").stdout)
    assert report["passed"] is True and len(report["points"]) == 3

    # One changed byte in the middle of the only snapshot: every restore fails, each says why.
    snapshot = next(f for f in listing(url) if f["level"] == 9)
    path = tmp_path / "replica" / "ltx" / "9" / f"{snapshot['minTXID']:016x}-{snapshot['maxTXID']:016x}.ltx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    failed = subprocess.run([BATON, "verify", url, "--points", "2"], capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    failures = failed.stdout.splitlines()
    assert failures[0].startswith("FAILED latest: ") and len(failures[0]) > len("FAILED latest: ") + 10, failed.stdout
    assert len(failures) == 3 and all(line.startswith("FAILED transaction ") for line in failures[1:]), failed.stdout
    assert "restores of" in failed.stderr and "failed" in failed.stderr


def test_a_standby_runs_scheduled_drills_and_reports_them_on_status_and_metrics(tmp_path):
    from cluster import Cluster, http
    from conftest import wait_for

    cluster = Cluster(tmp_path / "cluster", f"file://{tmp_path}/replica", ttl="3s",
                      extra_yaml="verify:\n  every: 2s\n  points: 2\n")
    try:
        cluster.start()
        holder = cluster.holder()
        standby = cluster["b" if holder.name == "a" else "a"]
        cluster.wait_streaming(standby)
        for key in range(20):
            assert http("POST", f"{holder.proxy}/write?key=k{key}", body=b"")[0] == 200

        def drill():
            return (standby.status() or {}).get("verify")

        wait_for(lambda: (drill() or {}).get("passed") is True, 60, "a passed drill on the standby")
        # The newest state and up to two earlier points (as many as the replica has file ends).
        assert 2 <= drill()["restores"] <= 3 and drill()["failures"] == []
        assert holder.status().get("verify") is None, "the holder ran a drill"
        metrics = http("GET", standby.api + "/metrics")[1]
        last = [line for line in metrics.splitlines() if line.startswith("baton_last_verified_timestamp_seconds")]
        assert last and float(last[0].split()[-1]) > time.time() - 120, last
        assert "baton_verify_failed 0" in metrics
        passed_at = drill()["lastPassedMilliseconds"]

        # The replica's snapshot damaged: the next drill fails, says why, and the last pass is kept.
        snapshot = next(f for f in listing(f"file://{tmp_path}/replica") if f["level"] == 9)
        path = tmp_path / "replica" / "ltx" / "9" / f"{snapshot['minTXID']:016x}-{snapshot['maxTXID']:016x}.ltx"
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
        wait_for(lambda: (drill() or {}).get("passed") is False, 60, "a failed drill")
        assert drill()["failures"] and drill()["failures"][0].startswith("app latest: ")
        assert drill()["lastPassedMilliseconds"] == passed_at
        assert "baton_verify_failed 1" in http("GET", standby.api + "/metrics")[1]
        assert "restore drill FAILED" in standby.log_text()
    finally:
        cluster.stop()
