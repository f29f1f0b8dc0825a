"""Replication to an S3-compatible server (moto on loopback), through a
fault-injecting proxy: nothing acknowledged is lost, restores equal the
oracle, an idle database costs no requests."""
import os
import random
import signal
import time

import pytest

from conftest import BATON, TORTURE, baton, stop, wait, workload
from s3support import FaultProxy, Moto
import workload as oracle


@pytest.fixture
def moto(tmp_path):
    server = Moto(tmp_path / "moto.log")
    yield server
    server.stop()


@pytest.fixture
def s3env(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)


def url_for(bucket, endpoint, prefix="apps/app"):
    return f"s3://{bucket}/{prefix}?endpoint={endpoint}&region=us-east-1"


def check_restore(url, out, seed, *target):
    baton("restore", url, "-o", out, "--force", *target, timeout=300)
    n, kv = oracle.read_state(out)
    assert oracle.integrity(out) == "ok"
    assert kv == oracle.expected_state(seed, n)
    return n


def test_replicate_and_restore_through_faults(tmp_path, procs, moto, s3env):
    seed = random.randrange(1 << 30)
    print("seed", seed)
    chaos = random.Random(seed)
    moto.create_bucket("faults")
    proxy = FaultProxy(moto.port, rate=0.10, seed=seed)
    try:
        url = url_for("faults", proxy.endpoint)
        total = 1500 if TORTURE else 500
        db, log = tmp_path / "app.db", tmp_path / "writes.log"
        oracle.create(db)
        options = ("--batch-window-ms", "50")
        replicate = procs.replicate(db, url, *options, log=tmp_path / "baton.log")
        writer = procs.add(workload(db, seed, 1, total, log, chaos_seed=seed, pause_ms=[2, 10]))
        deadline = time.monotonic() + 240
        while writer.poll() is None and time.monotonic() < deadline:
            time.sleep(chaos.uniform(0.5, 1.5))
            if writer.poll() is None and chaos.random() < 0.5:
                # A SIGTERM'd replicate flushes through the faults; it sometimes waits out the
                # S3 client's 30 s request timeout on a connection the proxy half-closed (noted
                # on issue 11, to fix with the HTTP client), so give it that time twice over.
                stop(replicate, signal.SIGKILL if chaos.random() < 0.5 else signal.SIGTERM, timeout=150)
                replicate = procs.replicate(db, url, *options, log=tmp_path / "baton.log")
        assert wait(writer, max(1, deadline - time.monotonic())) == 0
        time.sleep(1.5)
        code = stop(replicate, timeout=180)
        if code != 0:
            # Files the store refused stay local; the next run sends them.
            baton("replicate", db, url, "--once", timeout=300)
        assert check_restore(url, tmp_path / "latest.db", seed) == total
        # Random points in time through the same faults.
        ends = sorted({f["maxTXID"] for f in __import__("json").loads(baton("ls", url, "--json", timeout=300).stdout)})
        for txid in chaos.sample(ends, min(6, len(ends))):
            check_restore(url, tmp_path / "at.db", seed, "--txid", txid)
        faults = proxy.faults()
        assert len(faults) >= 5 and proxy.count() >= 100, (len(faults), proxy.count())
    finally:
        proxy.stop()
    # Nothing half-done is left behind: no multipart uploads, no temporary objects; the LTX files and the
    # segments that publish their headers.
    keys = moto.keys("faults")
    assert all(key.startswith("apps/app/ltx/") and key.endswith(".ltx")
               or key.startswith("apps/app/ltx-headers/") and key.endswith(".txt") for key in keys), keys
    assert any(key.startswith("apps/app/ltx-headers/") for key in keys)


def test_idle_database_costs_no_requests(tmp_path, procs, moto, s3env):
    moto.create_bucket("idle")
    proxy = FaultProxy(moto.port, rate=0.0)
    try:
        url = url_for("idle", proxy.endpoint)
        db, log = tmp_path / "app.db", tmp_path / "writes.log"
        oracle.create(db)
        assert wait(workload(db, 4, 1, 10, log, pause_ms=[0, 0]), 60) == 0
        replicate = procs.replicate(db, url, log=tmp_path / "baton.log")
        time.sleep(3)
        before = proxy.count()
        assert before > 0
        time.sleep(5)
        assert proxy.count() == before, proxy.requests[before:]
        assert stop(replicate) == 0
    finally:
        proxy.stop()


def big_database(path, rows, row_bytes):
    """A database of about rows × row_bytes × 2 bytes of incompressible rows."""
    import sqlite3
    oracle.create(path)
    con = sqlite3.connect(path)
    con.execute(f"WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM c WHERE i < {rows}) "
                f"INSERT INTO kv(id, val) SELECT i, hex(randomblob({row_bytes})) FROM c")
    con.commit()
    con.close()
    return path


def test_large_snapshot_goes_up_in_parts(tmp_path, moto, s3env):
    moto.create_bucket("large")
    db = big_database(tmp_path / "big.db", 20000, 2000)
    url = url_for("large", moto.endpoint) + "&multipartThresholdMiB=16&partSizeMiB=5"
    baton("replicate", db, url, "--once", timeout=300)
    baton("restore", url, "-o", tmp_path / "out.db", timeout=300)
    assert oracle.read_state(tmp_path / "out.db") == oracle.read_state(db)


def test_bad_credentials_and_missing_bucket_are_one_line(tmp_path, moto, monkeypatch):
    db = tmp_path / "app.db"
    oracle.create(db)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    result = baton("replicate", db, url_for("x", moto.endpoint), "--once", check=False)
    assert result.returncode != 0 and "AWS_ACCESS_KEY_ID" in result.stderr.strip().splitlines()[-1]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "a")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "b")
    result = baton("replicate", db, url_for("missing-bucket", moto.endpoint), "--once", check=False, timeout=120)
    assert result.returncode != 0 and "missing-bucket" in result.stderr.strip().splitlines()[-1]


def test_failed_multipart_upload_is_aborted_and_nothing_is_lost(tmp_path, moto, s3env):
    import re
    import urllib.request
    moto.create_bucket("abort")
    db = big_database(tmp_path / "big.db", 6000, 1000)
    proxy = FaultProxy(moto.port, rate=1.0)
    proxy.kinds = ("503",)
    proxy.methods = ("PUT",)  # every part upload fails; create, abort and lists pass
    try:
        options = "&multipartThresholdMiB=5&partSizeMiB=5"
        failed = baton("replicate", db, url_for("abort", proxy.endpoint) + options, "--once", check=False, timeout=300)
        assert failed.returncode != 0
        assert any(path.endswith("?uploads") or "uploads=" in path for _, path, _ in proxy.requests)
    finally:
        proxy.stop()
    uploads = urllib.request.urlopen(f"{moto.endpoint}/abort?uploads", timeout=30).read().decode()
    assert re.findall(r"<UploadId>", uploads) == [], uploads
    # The sealed snapshot waited on local disk; the next run sends it.
    assert list((tmp_path / "big.db-baton" / "pending").glob("*.ltx"))
    baton("replicate", db, url_for("abort", moto.endpoint) + options, "--once", timeout=300)
    baton("restore", url_for("abort", moto.endpoint), "-o", tmp_path / "out.db", timeout=300)
    assert oracle.read_state(tmp_path / "out.db") == oracle.read_state(db)
