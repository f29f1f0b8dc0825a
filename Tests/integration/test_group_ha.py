"""HA for a group of databases (a Rails 8 app's four: primary, cache, queue,
cable) with real `baton node` processes: the demo app writes every request
into all four databases, each in its own transaction. kill -9 failovers in
sync mode lose no acknowledged write in any database; hand-overs under load
fail no request; the relay API picks a database with ?db=; status and
metrics report each database; the store holds every database, each
restorable on its own and equal to the last holder's copy."""
import json
import signal
import sqlite3
import time
import urllib.request

from cluster import RAILS, Cluster, Load, http, keys
from conftest import baton, wait_for


def rows(path):
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", path
        return db.execute("SELECT id, key, epoch FROM writes ORDER BY id").fetchall()


def assert_every_key_everywhere(member, acknowledged, label):
    for name in RAILS:
        stored = keys(member.proxy, db=name)
        missing = [key for key in acknowledged if key not in stored]
        assert missing == [], f"{label}: {name} lacks acknowledged writes {missing[:10]}\n{member.log_text()[-4000:]}"


def stop_standby_then_holder(cluster):
    """The standby first, so the holder stops alone and uploads its last files before exiting."""
    holder = cluster.holder(timeout=40)
    for member in cluster.members:
        if member is not holder:
            member.proc.send_signal(signal.SIGTERM)
            assert member.proc.wait(60) == 0, member.log_text()[-3000:]
    holder.proc.send_signal(signal.SIGTERM)
    assert holder.proc.wait(60) == 0, holder.log_text()[-3000:]
    return holder


def test_group_kill_9_failovers_in_sync_mode_lose_no_write_in_any_database(tmp_path):
    store = f"file://{tmp_path}/replica"
    cluster = Cluster(tmp_path, store, ttl="3s", replication="sync", databases=RAILS)
    cluster.start()
    load = None
    acknowledged = []
    try:
        for round in range(2):
            holder = cluster.holder(timeout=40)
            standby = cluster["b" if holder.name == "a" else "a"]
            cluster.wait_streaming(standby)
            wait_for(lambda: (holder.status() or {}).get("syncStandby") == standby.name, 10, "a sync standby")
            load = Load([holder.proxy, standby.proxy], threads=4, prefix=f"g{round}")
            load.start()
            time.sleep(1.5)
            holder.kill()
            new = cluster.holder(timeout=40, among=[standby])
            time.sleep(0.3)
            load.stop()
            acknowledged += [key for key, _, _, _ in load.acks]
            assert load.acks, "no write was acknowledged before the crash"
            assert_every_key_everywhere(new, acknowledged, f"round {round}")
            by_commit = sorted((load.committed_at[key], epoch) for key, epoch, _, _ in load.acks)
            assert [e for _, e in by_commit] == sorted(e for _, e in by_commit), f"round {round}: epochs overlap"
            status = new.status()
            assert [d["name"] for d in status["databases"]] == RAILS
            holder.start()
            load = None
        holder = cluster.holder(timeout=40)
        standby = cluster["b" if holder.name == "a" else "a"]
        cluster.wait_streaming(standby)
        cluster.wait_caught_up(standby, holder)
        last = stop_standby_then_holder(cluster)
    finally:
        if load:
            load.stop()
        cluster.stop()
    print(f"\ngroup of {len(RAILS)}: 2 kill -9 failovers, {len(acknowledged)} acknowledged writes, none lost")
    # Every copy on both nodes is intact; the store has each database as the last holder left it.
    for member in cluster.members:
        for path in member.dbs.values():
            rows(path)
    for name in RAILS:
        restored = tmp_path / f"restored-{name}.sqlite3"
        baton("restore", store, "--db", name, "-o", restored)
        assert rows(restored) == rows(last.dbs[name]), name
        assert {key for _, key, _ in rows(restored)} >= set(acknowledged)


def test_group_handoff_under_load_fails_no_request_and_the_relay_picks_a_database(tmp_path):
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="5s", databases=RAILS)
    cluster.start()
    load = load2 = None
    try:
        first = cluster.holder()
        second = cluster["b" if first.name == "a" else "a"]
        cluster.wait_streaming(second)

        # The relay: ?db= picks the database (default the first); an unknown name is refused.
        body = json.dumps(["CREATE TABLE jobs (k TEXT)", ["INSERT INTO jobs(k) VALUES(?)", "j1"]]).encode()
        status, text = http("POST", second.api + "/db/execute?db=production_queue", body=body)
        assert status == 200 and "error" not in text, text
        status, text = http("GET", first.api + "/db/query?db=production_queue&q=SELECT+k+FROM+jobs")
        assert status == 200 and json.loads(text)["results"][0]["values"] == [["j1"]], text
        status, text = http("GET", first.api + "/db/query?q=SELECT+k+FROM+jobs")
        assert status == 200 and "no such table" in text, text  # the first database has no jobs table
        status, text = http("GET", first.api + "/db/query?db=nope&q=SELECT+1")
        assert status == 400 and "production_queue" in text, text
        # Read-your-writes on the standby's copy of that database.
        request = urllib.request.Request(
            first.api + "/db/execute?db=production_queue", method="POST",
            data=json.dumps([["INSERT INTO jobs(k) VALUES(?)", "j2"]]).encode())
        with urllib.request.urlopen(request, timeout=10) as response:
            queue_txid = response.headers["X-Baton-TXID"]
            assert response.headers["X-Baton-TXIDs"].startswith("production=")
        status, text = http("GET", second.api + "/db/query?db=production_queue&level=none&q=SELECT+k+FROM+jobs",
                            headers={"X-Baton-TXID": queue_txid})
        assert status == 200 and ["j2"] in json.loads(text)["results"][0]["values"], text

        # Status and metrics report every database.
        status = second.status()
        assert [d["name"] for d in status["databases"]] == RAILS and all(d["streaming"] for d in status["databases"])
        code, metrics = http("GET", first.api + "/metrics")
        assert code == 200 and 'baton_database_txid{db="production_queue"}' in metrics, metrics[:2000]

        load = Load([first.proxy, second.proxy], threads=4)
        load.start()
        time.sleep(2)
        result = baton("handoff", "--node", first.api, "--to", second.name, timeout=60)
        assert f"to {second.name}" in result.stdout
        assert cluster.holder(among=[second], timeout=10) is second
        cluster.wait_streaming(first)
        load.stop()

        # SIGTERM on the holder hands every database over before it exits.
        load2 = Load([first.proxy], threads=4, prefix="t")
        load2.start()
        time.sleep(2)
        second.proc.send_signal(signal.SIGTERM)
        assert second.proc.wait(60) == 0, second.log_text()
        assert cluster.holder(among=[first], timeout=10) is first
        time.sleep(1)
        load2.stop()

        failures = load.failures + load2.failures
        assert failures == [], failures[:5]
        acknowledged = [k for k, _, _, _ in load.acks + load2.acks]
        assert_every_key_everywhere(first, acknowledged, "after two hand-overs")
        assert sorted({e for _, e, _, _ in load.acks + load2.acks}) == [1, 2, 3]
        status, text = http("GET", first.api + "/db/query?db=production_queue&q=SELECT+count(*)+FROM+jobs")
        assert json.loads(text)["results"][0]["values"] == [[2]], text
    finally:
        for running in (load, load2):
            if running:
                running.stop()
        cluster.stop()
