"""Database groups without HA: `baton replicate --config` for a Rails-8-shaped
app (four databases written at once), directory mode (files that appear
later join), `baton ls --db`, `baton restore --db / --all`, and bad input
refused before anything reaches the store."""
import json
import os
import random
import signal
import sqlite3
import subprocess
import time

from conftest import BATON, baton, stop, wait, wait_for, workload
import workload as oracle
from s3support import free_port

RAILS = ["production", "production_cache", "production_queue", "production_cable"]


def dump(path):
    con = sqlite3.connect(path)
    try:
        return list(con.iterdump())
    finally:
        con.close()


def start(procs, tmp_path, *args, env=None):
    log = open(tmp_path / "baton.log", "ab")
    return procs.add(subprocess.Popen([BATON, "replicate", *map(str, args)], stdout=log, stderr=log, env=env))


def test_a_rails_app_s_four_databases_back_up_and_restore_together(tmp_path, procs):
    storage, replica = tmp_path / "storage", tmp_path / "replica"
    storage.mkdir()
    for name in RAILS:
        oracle.create(storage / f"{name}.sqlite3")
    config = tmp_path / "baton.yml"
    config.write_text(
        "databases:\n"
        f"  - path: {storage}/production.sqlite3\n"
        f"  - path: {storage}/production_cache.sqlite3\n"
        f"  - path: {storage}/production_queue.sqlite3\n"
        "    name: queue\n"
        f"  - {storage}/production_cable.sqlite3\n"
        "store: file://${REPLICA}\n")
    # ${REPLICA} in the file comes from the environment.
    server = start(procs, tmp_path, "--config", config, "--batch-window-ms", 200,
                   env={**os.environ, "REPLICA": str(replica)})
    time.sleep(1)
    writers = [workload(storage / f"{name}.sqlite3", 40 + i, 1, 150, tmp_path / f"{name}.log", pause_ms=[0, 3])
               for i, name in enumerate(RAILS)]
    for writer in writers:
        assert wait(writer, 120) == 0
    assert stop(server, signal.SIGTERM) == 0, (tmp_path / "baton.log").read_text()

    # One replica per database under the group's store, named after the file's stem (or its name:).
    names = {d["name"]: d for d in json.loads(baton("ls", f"file://{replica}", "--json").stdout)}
    assert sorted(names) == ["production", "production_cable", "production_cache", "queue"]
    assert all(d["maxTXID"] >= 1 and d["files"] >= 1 for d in names.values())
    files = json.loads(baton("ls", f"file://{replica}", "--db", "queue", "--json").stdout)
    assert files and max(f["maxTXID"] for f in files) == names["queue"]["maxTXID"]
    missing = baton("ls", f"file://{replica}", "--db", "production_queue", check=False)
    assert missing.returncode != 0 and "queue" in missing.stderr

    out = tmp_path / "restored"
    summary = json.loads(baton("restore", f"file://{replica}", "--all", "-o", out, "--json",
                               "--integrity", "full").stdout)
    assert len(summary) == 4
    for i, name in enumerate(RAILS):
        restored = out / f"{'queue' if name == 'production_queue' else name}.sqlite3"
        n, kv = oracle.read_state(restored)
        assert n == 150 and kv == oracle.expected_state(40 + i, 150), name
        assert dump(restored) == dump(storage / f"{name}.sqlite3")

    # One database on its own, and --all never overwrites what is there.
    baton("restore", f"file://{replica}", "--db", "queue", "-o", tmp_path / "queue.db")
    assert dump(tmp_path / "queue.db") == dump(storage / "production_queue.sqlite3")
    again = baton("restore", f"file://{replica}", "--all", "-o", out, check=False)
    assert again.returncode != 0 and "already exists" in again.stderr


def test_directory_mode_follows_files_that_appear(tmp_path, procs):
    folder, replica = tmp_path / "dbs", tmp_path / "replica"
    folder.mkdir()
    rng = random.Random(7)
    first = [f"tenant{i:02d}" for i in range(50)]
    later = [f"late{i:02d}" for i in range(10)]

    def write(name, rows):
        con = sqlite3.connect(folder / f"{name}.sqlite3")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, v TEXT)")
        for _ in range(rows):
            con.execute("INSERT INTO t(v) VALUES (?)", (os.urandom(rng.randint(10, 600)).hex(),))
            con.commit()
        con.close()

    for name in first:
        write(name, 1)
    (folder / "notes.txt").write_text("not a database, not matched")
    server = start(procs, tmp_path, "--dir", folder, "--pattern", "*.sqlite3", f"file://{replica}",
                   "--scan-ms", 200, "--batch-window-ms", 100)
    time.sleep(1)
    for round in range(200):
        write(rng.choice(first), rng.randint(1, 3))
        if round % 20 == 10:
            write(later[round // 20], 2)
    wait_for(lambda: all((replica / name).exists() for name in later), 30, "the late databases' replicas")
    for name in later:
        write(name, 3)
    assert stop(server, signal.SIGTERM) == 0, (tmp_path / "baton.log").read_text()[-3000:]

    listed = {d["name"] for d in json.loads(baton("ls", f"file://{replica}", "--json").stdout)}
    assert listed == set(first) | set(later)
    for name in first + later:
        out = tmp_path / "restored" / f"{name}.db"
        baton("restore", f"file://{replica}", "--db", name, "-o", out)
        assert dump(out) == dump(folder / f"{name}.sqlite3"), name
    log = (tmp_path / "baton.log").read_text()
    assert "late05.sqlite3 joined the group as late05" in log


def test_a_bad_database_in_a_group_stops_everything_before_the_store_is_touched(tmp_path):
    storage, replica = tmp_path / "storage", tmp_path / "replica"
    storage.mkdir()
    oracle.create(storage / "production.sqlite3")
    rollback = sqlite3.connect(storage / "legacy.sqlite3")
    rollback.execute("CREATE TABLE t(x)")
    rollback.commit()
    rollback.close()
    cases = {
        "missing.sqlite3": "does not exist",
        "legacy.sqlite3": "WAL mode",
    }
    for file, reason in cases.items():
        config = tmp_path / "baton.yml"
        config.write_text(f"databases:\n  - {storage}/production.sqlite3\n  - {storage}/{file}\n"
                          f"store: file://{replica}\n")
        result = baton("replicate", "--config", config, "--once", check=False)
        assert result.returncode != 0
        assert file in result.stderr and reason in result.stderr, result.stderr
        assert not replica.exists()
    config.write_text(f"databases:\n  - {storage}/production.sqlite3\n  - {tmp_path}/production.sqlite3\n"
                      f"store: file://{replica}\n")
    clash = baton("replicate", "--config", config, "--once", check=False)
    assert clash.returncode != 0 and "two databases are named 'production'" in clash.stderr
    # The node holds a listed group only (every node must hold the same databases).
    config.write_text(f"name: a\ndatabases: {{dir: {storage}, pattern: '*.sqlite3'}}\nstore: file://{replica}\n")
    node = baton("node", "--config", config, check=False)
    assert node.returncode != 0 and "listed" in node.stderr, node.stderr
    # A node whose group has a file that is not a database does not serve, names the
    # file, and writes nothing of any database to the store.
    junk = storage / "production_queue.sqlite3"
    junk.write_text("not a database\n" * 100)
    config.write_text(f"name: a\ndatabases:\n  - {storage}/production.sqlite3\n  - {junk}\n"
                      f"store: file://{replica}\napi: {{listen: 127.0.0.1:{free_port()}}}\n")
    log = tmp_path / "node.log"
    proc = subprocess.Popen([BATON, "node", "--config", str(config)], stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: "could not become holder" in log.read_text(), 30, "the node to give up")
    finally:
        proc.kill()
        proc.wait()
    assert str(junk) in log.read_text(), log.read_text()
    assert "serving as holder" not in log.read_text()
    assert not list(replica.glob("*/ltx/**/*.ltx")), list(replica.rglob("*"))
