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
