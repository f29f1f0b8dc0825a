"""Zero-loss mode (`replication: mode: sync`): repeated kill -9 of the
holder under a concurrent write load; no acknowledged write may be missing
afterwards, epochs never overlap, every copy passes integrity_check."""
import json
import os
import signal
import sqlite3
import subprocess
import threading
import time

import pytest

from cluster import RAILS, Cluster, Load, http, keys
from conftest import BATON, wait_for
from s3support import FaultProxy

ROUNDS = 50 if os.environ.get("BATON_TORTURE") else 3


class RelayLoad:
    """A client writing through the relay API of alternating nodes (a standby forwards);
    keeps the keys whose INSERT was acknowledged."""

    def __init__(self, apis, prefix):
        self.apis = apis
        self.prefix = prefix
        self.acked = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        count = 0
        while not self.stopping.is_set():
            count += 1
            key = f"{self.prefix}-{count}"
            body = json.dumps([["INSERT INTO relay_acks(k) VALUES(?)", key]]).encode()
            status, text = http("POST", self.apis[count % len(self.apis)] + "/db/execute", timeout=30, body=body)
            if status == 200 and "error" not in json.loads(text)["results"][0]:
                self.acked.append(key)
            time.sleep(0.01)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(60)


def relay_keys(member):
    status, text = http("GET", member.api + "/db/query?q=SELECT+k+FROM+relay_acks", timeout=30)
    assert status == 200, text
    return {row[0] for row in json.loads(text)["results"][0].get("values", [])}


def test_kill_9_failovers_lose_no_acknowledged_write(tmp_path):
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="3s", replication="sync")
    cluster.start()
    load = None
    named_rounds = 0
    acknowledged = 0
    all_acked = []
    relay_acked = []
    try:
        first = cluster.holder(timeout=40)
        status, text = http("POST", first.api + "/db/execute", body=b'["CREATE TABLE relay_acks (k TEXT)"]')
        assert status == 200 and "error" not in text, text
        for round in range(ROUNDS):
            holder = cluster.holder(timeout=40)
            standby = cluster["b" if holder.name == "a" else "a"]
            cluster.wait_streaming(standby)
            # Most rounds the standby is named in sync before the crash; a round where it is
            # not yet named tests the other path (acknowledged only once the store has it).
            try:
                wait_for(lambda: (holder.status() or {}).get("syncStandby") == standby.name, 5, "a sync standby")
                named_rounds += 1
            except AssertionError:
                pass
            load = Load([holder.proxy, standby.proxy], threads=4, prefix=f"r{round}")
            relay = RelayLoad([holder.api, standby.api], prefix=f"q{round}")
            load.start()
            relay.start()
            time.sleep(1.5)
            holder.kill()  # the node and, through its parent-death signal, its app
            new = cluster.holder(timeout=40, among=[standby])
            time.sleep(0.3)
            load.stop()
            relay.stop()
            all_acked.extend(key for key, _, _, _ in load.acks)
            relay_acked.extend(relay.acked)
            stored = keys(new.proxy)
            missing = [key for key in all_acked if key not in stored]
            relayed = relay_keys(new)
            missing += [key for key in relay_acked if key not in relayed]
            assert missing == [], f"round {round}: acknowledged writes lost: {missing[:10]}\n" + new.log_text()[-4000:]
            acknowledged += len(load.acks)
            # One epoch accepts writes at a time: in commit order, epochs never go back.
            by_commit = sorted((load.committed_at[key], epoch) for key, epoch, _, _ in load.acks)
            epochs = [epoch for _, epoch in by_commit]
            assert epochs == sorted(epochs), f"round {round}: epochs overlap"
            holder.start()  # the killed machine comes back as a standby
            load = None
        assert relay_acked
        print(f"\n{ROUNDS} kill -9 failovers, {acknowledged} acknowledged writes through the proxies and "
              f"{len(relay_acked)} through the relay API, none lost; "
              f"standby named in sync before {named_rounds} crashes")
        assert named_rounds > 0
        holder = cluster.holder(timeout=40)
        standby = cluster["b" if holder.name == "a" else "a"]
        cluster.wait_streaming(standby)
        cluster.wait_caught_up(standby, holder)
    finally:
        if load:
            load.stop()
        cluster.stop()
    for member in cluster.members:
        with sqlite3.connect(member.db) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", member.name


def named_standby(cluster):
    holder = cluster.holder(timeout=40)
    standby = cluster["b" if holder.name == "a" else "a"]
    cluster.wait_streaming(standby)
    wait_for(lambda: (holder.status() or {}).get("syncStandby") == standby.name, 10, "a sync standby")
    return holder, standby


def write_acknowledged(member, numbers):
    """Writes `w-<n>` for each number through `member`'s proxy; each must be acknowledged. Returns the keys."""
    keys_written = []
    for i in numbers:
        status, text = http("POST", f"{member.proxy}/write?key=w-{i}", body=b"")
        assert status == 200, text
        keys_written.append(f"w-{i}")
    return keys_written


def test_a_crashed_holder_that_restarts_at_once_leaves_the_baton_to_the_in_sync_standby(tmp_path):
    # Found by the chaos suite: writes the in-sync standby had confirmed (the store lagged them) were lost
    # when the crashed holder restarted before its lease expired, took the baton back as its old holder,
    # could not place its copy in the store's history and restored the store's older state.
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="3s", replication="sync", batch_window="60s")
    cluster.start()
    try:
        old, standby = named_standby(cluster)
        acked = write_acknowledged(old, range(20))
        old.kill()
        # The standby is slow to act (frozen) while the old holder restarts and its lease expires:
        # the old holder must leave the baton to it all the same.
        standby.proc.send_signal(signal.SIGSTOP)
        old.start()
        time.sleep(5)  # past the TTL
        assert old.get("/primary") != 200, old.log_text()[-3000:]
        standby.proc.send_signal(signal.SIGCONT)
        new = cluster.holder(timeout=30)
        assert new is standby, old.log_text()[-3000:]
        assert set(acked) <= keys(new.proxy)
        assert "leaves the baton to" in old.log_text()
        cluster.wait_streaming(old)
    finally:
        for member in cluster.members:
            if member.proc and member.proc.poll() is None:
                member.proc.send_signal(signal.SIGCONT)
        cluster.stop()


def test_a_takeover_that_fails_keeps_the_baton_for_the_in_sync_standby(tmp_path):
    # Found by the chaos suite (1,332 acknowledged writes lost over six epochs): the in-sync standby took the
    # lease, its promotion failed, and its new record named no standby in sync, so the crashed old holder (its
    # copy's position unknown) took over from the store, which lacked what the standby had confirmed.
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="3s", replication="sync", batch_window="60s")
    cluster.start()
    blocker = None
    try:
        old, standby = named_standby(cluster)
        acked = write_acknowledged(old, range(20))
        # Every promotion of the standby fails before it writes to the store: a file stands where
        # its replicator keeps the files it seals.
        blocker = standby.db.parent / (standby.db.name + "-baton") / "pending"
        assert not blocker.exists()
        blocker.write_text("in the way\n")
        old.kill()
        wait_for(lambda: "could not become holder" in standby.log_text(), 30, "a failed promotion")
        # The standby is slow to retry (frozen) while the old holder restarts and the lease expires.
        standby.proc.send_signal(signal.SIGSTOP)
        old.start()
        time.sleep(5)  # past the TTL
        assert old.get("/primary") != 200, old.log_text()[-3000:]
        reserved = f"names {standby.name} as the in-sync standby: only it holds every acknowledged write"
        assert reserved in old.log_text(), old.log_text()[-3000:]
        assert f"the lease names {standby.name} as in sync until this node serves" in standby.log_text()
        standby.proc.send_signal(signal.SIGCONT)
        blocker.unlink()
        blocker = None
        new = cluster.holder(timeout=30)
        assert new is standby, standby.log_text()[-3000:]
        assert set(acked) <= keys(new.proxy)
        cluster.wait_streaming(old)
        cluster.wait_caught_up(old, new)
        assert set(acked) <= keys_of(old.db)
    finally:
        if blocker is not None:
            blocker.unlink()
        for member in cluster.members:
            if member.proc and member.proc.poll() is None:
                member.proc.send_signal(signal.SIGCONT)
        cluster.stop()


def keys_of(path):
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT key FROM writes")}


def test_a_standby_promoted_after_a_restart_uploads_only_what_the_store_lacks(tmp_path):
    # A restarted standby had forgotten which pages its last transactions wrote, so its promotion
    # wrote a snapshot of the whole database (and the old holder's copy then looked diverged).
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="3s", replication="sync", batch_window="60s")
    cluster.start()
    try:
        old, standby = named_standby(cluster)
        acked = write_acknowledged(old, range(10))
        standby.kill()
        standby.start()
        cluster.wait_streaming(standby)
        wait_for(lambda: (old.status() or {}).get("syncStandby") == standby.name, 20, "the standby in sync again")
        acked += write_acknowledged(old, range(10, 20))
        old.kill()
        new = cluster.holder(timeout=30, among=[standby])
        log = new.log_text()
        assert "instead of a snapshot" in log and "writing a new snapshot" not in log, log[-3000:]
        assert set(acked) <= keys(new.proxy)
    finally:
        cluster.stop()


def timed_write(member, key):
    started = time.monotonic()
    status, text = http("POST", f"{member.proxy}/write?key={key}", timeout=30, body=b"")
    return status, text, time.monotonic() - started


@pytest.mark.parametrize("group", [False, True], ids=["one-database", "group-of-4"])
def test_degrade_drops_a_silent_standby_then_the_store_holds_every_acknowledged_write(tmp_path, group):
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="3s", replication="sync",
                      databases=RAILS if group else None)
    cluster.start()
    try:
        holder, standby = named_standby(cluster)
        lease = json.loads((tmp_path / "replica" / "lease.json").read_text())
        assert lease["syncStandby"] == standby.name
        status, _, quick = timed_write(holder, "before")
        assert status == 200
        assert "baton_sync_standby_named 1" in http("GET", holder.api + "/metrics")[1]
        shown = subprocess.run([BATON, "status", "--node", holder.api], capture_output=True, text=True, timeout=30)
        assert f"mode      sync, {standby.name} in sync" in shown.stdout, shown.stdout

        standby.proc.send_signal(signal.SIGSTOP)  # the standby stops confirming
        status, text, slow = timed_write(holder, "first-after")
        assert status == 200, text
        # It waited the standby timeout (1 s), recorded the change in the lease, then waited for the store.
        assert 0.9 <= slow < 8, (quick, slow)
        assert holder.status().get("syncStandby") is None
        lease = json.loads((tmp_path / "replica" / "lease.json").read_text())
        assert "syncStandby" not in lease
        assert "baton_sync_standby_named 0" in http("GET", holder.api + "/metrics")[1]
        acked = ["before", "first-after"]
        for index in range(5):
            status, text, _ = timed_write(holder, f"degraded-{index}")
            assert status == 200, text
            acked.append(f"degraded-{index}")

        # The holder dies; the standby, which never saw the degraded writes, takes over from the store.
        holder.kill()
        standby.proc.send_signal(signal.SIGCONT)
        new = cluster.holder(timeout=40, among=[standby])
        for db in list(new.dbs) or [None]:
            stored = keys(new.proxy, db=db)
            assert [key for key in acked if key not in stored] == [], (db, new.log_text()[-3000:])
    finally:
        for member in cluster.members:
            if member.proc and member.proc.poll() is None:
                member.proc.send_signal(signal.SIGCONT)
        cluster.stop()


def test_strict_holds_writes_until_a_standby_confirms(tmp_path):
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="3s", replication="sync",
                      on_standby_loss="strict", hold_timeout="3s")
    cluster.start()
    try:
        holder, standby = named_standby(cluster)
        standby.proc.send_signal(signal.SIGSTOP)
        status, text, waited = timed_write(holder, "unconfirmed")
        assert status == 503 and "not confirmed" in text, (status, text)
        assert waited >= 2.9
        assert holder.status()["syncStandby"] == standby.name  # strict never drops it
        standby.proc.send_signal(signal.SIGCONT)
        status, text, _ = timed_write(holder, "confirmed")
        assert status == 200, text
        # The unconfirmed write was committed on the holder all along; the standby has both now.
        cluster.wait_caught_up(standby, holder)
        assert {"unconfirmed", "confirmed"} <= keys(holder.proxy)
    finally:
        for member in cluster.members:
            if member.proc and member.proc.poll() is None:
                member.proc.send_signal(signal.SIGCONT)
        cluster.stop()


def test_a_slow_store_does_not_slow_writes_the_standby_confirms(tmp_path, s3):
    proxy = FaultProxy(s3.port)
    cluster = None
    try:
        slow = f"s3://hanode/app?endpoint={proxy.endpoint}"
        cluster = Cluster(tmp_path, slow, ttl="10s", replication="sync",
                          stores={"a": slow, "b": f"s3://hanode/app?endpoint={s3.endpoint}"})
        cluster.start()
        holder, standby = named_standby(cluster)
        assert holder.name == "a"
        # From now on every PUT of the holder (uploads, lease renewals) takes 0.2-1.5 s.
        proxy.methods = ("PUT",)
        proxy.kinds = ("delay",)
        proxy.rate = 1.0
        time.sleep(1)
        latencies = []
        until = time.monotonic() + 5
        while time.monotonic() < until:
            status, text, took = timed_write(holder, f"slow-{len(latencies)}")
            assert status == 200, text
            latencies.append(took)
            time.sleep(0.02)
        delayed = [r for r in proxy.requests if r[2] == "delay"]
        assert len(delayed) >= 3  # the store really was slow meanwhile
        latencies.sort()
        print(f"\n{len(latencies)} writes while {len(delayed)} store PUTs took 0.2-1.5 s each: "
              f"median {latencies[len(latencies) // 2] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
        # Before the shipper had its own task, every write behind a slow upload waited for it (up
        # to 1.6 s, many per run). One write in a run is seen at about 0.25 s now and then on this
        # 2-core machine (noted on issue 11 to run down); more than one, or any near a PUT's 1.5 s, fails.
        slow_writes = [took for took in latencies if took >= 0.15]
        assert len(slow_writes) <= 1 and latencies[-1] < 0.5, latencies[-5:]
        assert holder.status().get("syncStandby") == standby.name
    finally:
        if cluster:
            cluster.stop()
        proxy.stop()
