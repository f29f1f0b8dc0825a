"""A second store (a DR copy): every file reaches it from the primary, its
outage never delays the primary or sync-mode acknowledgements, it catches
up when it answers again, a new holder goes on copying, and a restore from
it alone holds every acknowledged write."""
import json
import signal
import sqlite3
import subprocess
import time

from cluster import Cluster, Load, http, keys
from conftest import BATON, baton, wait, wait_for, workload
from s3support import FaultProxy, Moto
import workload as oracle


def second_store_position(member):
    status = member.status() or {}
    database = (status.get("databases") or [{}])[0]
    return database.get("storedTXID"), database.get("secondStoreTXID"), database.get("secondStoreLagTransactions")


def restored_keys(url, path):
    baton("restore", url, "-o", path, "--force")
    con = sqlite3.connect(path)
    try:
        return {row[0] for row in con.execute("SELECT key FROM writes")}
    finally:
        con.close()


def test_a_cut_off_second_store_delays_nothing_catches_up_and_restores_alone(tmp_path, s3):
    second = Moto(tmp_path / "moto-second.log")
    cut = FaultProxy(second.port, rate=0.0)
    cut.kinds = ("drop-before",)
    load = None
    cluster = Cluster(tmp_path, f"s3://hanode/app?endpoint={s3.endpoint}", ttl="3s", replication="sync",
                      second_store=f"s3://drcopy/app?endpoint={cut.endpoint}")
    try:
        second.create_bucket("drcopy")
        cluster.start()
        holder = cluster.holder()
        standby = cluster["b" if holder.name == "a" else "a"]
        cluster.wait_streaming(standby)
        load = Load([holder.proxy, standby.proxy], threads=2)
        load.start()
        wait_for(lambda: (second_store_position(holder)[1] or 0) > 0, 30, "a first copy in the second store")

        # The second store cut off: writes go on, acknowledged (sync mode) as fast as before.
        cut.rate = 1.0
        before = len(load.acks)
        time.sleep(6)
        during = len(load.acks) - before
        assert during > 50, f"only {during} writes acknowledged while the second store was cut off"
        assert not load.failures, load.failures[:3]
        stored, copied, lag = second_store_position(holder)
        assert lag and lag > 0, (stored, copied, lag)
        assert "second store" in holder.log_text() and "the primary is not affected" in holder.log_text()

        # Back: it catches up with what the primary had by then (writes go on meanwhile).
        cut.rate = 0.0
        stored_then = second_store_position(holder)[0]
        wait_for(lambda: (second_store_position(holder)[1] or 0) >= stored_then, 40, "the second store caught up")
        assert "takes copies again" in holder.log_text()
        _, metrics = http("GET", f"{holder.api}/metrics")
        assert "baton_second_store_txid" in metrics and "baton_second_store_lag_transactions" in metrics
        # Its requests are counted apart from the primary's, failures included.
        assert 'baton_second_store_requests_total{kind="put",outcome="ok"}' in metrics, metrics
        assert any(line.startswith("baton_second_store_requests_total") and 'outcome="ok"' not in line
                   for line in metrics.splitlines()), "the cut-off's failed requests are not counted"

        # A failover: the new holder goes on copying where the old one stopped.
        holder.kill()
        new = cluster.holder(timeout=30, among=[standby])
        time.sleep(1.5)
        load.stop()
        assert any(epoch > 1 for _, epoch, _, _ in load.acks)
        expected = keys(new.proxy)
        wait_for(lambda: (lambda p: p[0] and p[1] and p[1] >= p[0] and p[2] == 0)(second_store_position(new)),
                 40, "the new holder's files in the second store")
        got = restored_keys(f"s3://drcopy/app?endpoint={second.endpoint}", tmp_path / "from-second.db")
        assert expected <= got, f"{len(expected - got)} of the holder's keys are not in the second store"
        acked = {key for key, _, _, _ in load.acks}
        assert acked <= got, f"{len(acked - got)} acknowledged writes are missing from the second store"
        names = second.keys("drcopy", "app/")
        assert "app/lease.json" not in names and "app/mirror.json" in names
        assert any(name.startswith("app/epochs/") for name in names)
    finally:
        if load:
            load.stop()
        cluster.stop()
        cut.stop()
        second.stop()


def test_replicate_also_copies_to_a_second_store(tmp_path, procs):
    db, log = tmp_path / "app.db", tmp_path / "writes.log"
    first, second = f"file://{tmp_path / 'first'}", f"file://{tmp_path / 'second'}"
    oracle.create(db)
    running = procs.replicate(db, first, "--also", second, "--batch-window-ms", "50",
                              log=tmp_path / "replicate.log")
    time.sleep(1)
    assert wait(workload(db, 5, 1, 120, log, pause_ms=[0, 3]), 60) == 0
    time.sleep(0.5)
    running.send_signal(signal.SIGTERM)
    assert wait(running, 60) == 0, (tmp_path / "replicate.log").read_text()
    text = (tmp_path / "replicate.log").read_text()
    assert "copying it on to" in text and "the second store" in text
    restored = tmp_path / "restored.db"
    baton("restore", second, "-o", restored)
    assert oracle.read_state(restored) == (120, oracle.expected_state(5, 120))
    # `baton ls --config` shows the database in both stores, the second caught up.
    config = tmp_path / "baton.yml"
    config.write_text(f"name: a\ndatabase: {db}\nstores: [{first}, {second}]\n")
    rows = json.loads(baton("ls", "--config", config, "--json").stdout)
    assert [(row["database"], row["role"]) for row in rows] == [("app", "primary"), ("app", "second")], rows
    assert rows[0]["maxTXID"] == rows[1]["maxTXID"] > 0 and rows[1]["lagTransactions"] == 0, rows
    assert "primary" in baton("ls", "--config", config).stdout
    refused = baton("replicate", db, first, "--also", first, "--once", check=False)
    assert refused.returncode != 0 and "another store" in refused.stderr


def test_a_group_replicated_with_a_second_store_restores_from_it_database_by_database(tmp_path, procs):
    storage = tmp_path / "storage"
    storage.mkdir()
    first, second = f"file://{tmp_path / 'first'}", f"file://{tmp_path / 'second'}"
    dbs = {name: storage / f"{name}.sqlite3" for name in ("main", "queue")}
    for db in dbs.values():
        oracle.create(db)
    config = tmp_path / "baton.yml"
    config.write_text("name: a\ndatabases:\n" + "".join(f"  - path: {db}\n" for db in dbs.values())
                      + f"stores: [{first}, {second}]\n")
    running = procs.add(subprocess.Popen([BATON, "replicate", "--config", config, "--batch-window-ms", "50"],
                                         stdout=open(tmp_path / "replicate.log", "wb"), stderr=subprocess.STDOUT))
    time.sleep(1)
    writers = [workload(db, seed, 1, 80, tmp_path / f"{name}.log", pause_ms=[0, 3])
               for seed, (name, db) in enumerate(dbs.items(), start=7)]
    assert all(wait(writer, 60) == 0 for writer in writers)
    time.sleep(0.5)
    running.send_signal(signal.SIGTERM)
    assert wait(running, 60) == 0, (tmp_path / "replicate.log").read_text()
    assert "main: the second store" in (tmp_path / "replicate.log").read_text()
    for seed, name in enumerate(dbs, start=7):
        restored = tmp_path / f"{name}-from-second.db"
        baton("restore", second, "--db", name, "-o", restored)
        assert oracle.read_state(restored) == (80, oracle.expected_state(seed, 80)), name
    rows = json.loads(baton("ls", "--config", config, "--json").stdout)
    assert {(row["database"], row["role"], row.get("lagTransactions")) for row in rows} == {
        ("main", "primary", None), ("main", "second", 0), ("queue", "primary", None), ("queue", "second", 0)}
