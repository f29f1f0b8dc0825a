"""`baton lock`: batch jobs on several processes never run on the same data
at once, never lose an increment, and a killed holder pushes nothing."""
import os
import signal
import sqlite3
import subprocess
import sys
import time


from conftest import BATON, HERE, baton
from s3support import FaultProxy, Moto

JOB = [sys.executable, str(HERE / "counter_job.py")]


def counter(url, out):
    baton("restore", url, "-o", out, "--force", timeout=300)
    con = sqlite3.connect(out)
    try:
        return con.execute("SELECT n FROM c").fetchone()[0]
    finally:
        con.close()


def lock(url, db, env, *extra, ttl="3s"):
    return subprocess.Popen([BATON, "lock", url, "--db", str(db), "--wait", "120s", "--ttl", ttl, *extra, "--", *JOB],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_concurrent_jobs(tmp_path, url, env):
    # A generous TTL: eight processes and the S3 server share two cores.
    jobs = [lock(url, tmp_path / f"work-{i}.db", {**env, "JOB_PAUSE": "0.005", "JOB_LOG": str(tmp_path / "starts")},
                 ttl="20s") for i in range(8)]
    try:
        results = [(job.wait(timeout=300), job.stderr.read()) for job in jobs]
    finally:
        for job in jobs:
            if job.poll() is None:
                job.kill()
                job.wait()
    for code, err in results:
        assert code == 0, err
    assert counter(url, tmp_path / "final.db") == 160
    # One push per job, in strictly increasing epochs.
    epochs = [int(line.split()[1]) for line in (tmp_path / "starts").read_text().splitlines()]
    assert len(epochs) == 8 and len(set(epochs)) == 8
    pushed = [line for _, err in results for line in err.splitlines() if "pushed" in line]
    pushed_epochs = sorted(int(line.split("(epoch ")[1].rstrip(")")) for line in pushed)
    txids = sorted(int(line.split("as transaction ")[1].split()[0]) for line in pushed)
    assert pushed_epochs == sorted(epochs) and txids == list(range(1, 9))
    by_txid = {int(line.split("as transaction ")[1].split()[0]): int(line.split("(epoch ")[1].rstrip(")"))
               for line in pushed}
    assert [by_txid[t] for t in sorted(by_txid)] == sorted(by_txid.values())


def test_eight_concurrent_jobs_on_a_directory(tmp_path):
    run_concurrent_jobs(tmp_path, f"file://{tmp_path}/replica", dict(os.environ))


def test_eight_concurrent_jobs_on_s3(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto = Moto(tmp_path / "moto.log")
    try:
        moto.create_bucket("jobs")
        env = dict(os.environ)
        run_concurrent_jobs(tmp_path, f"s3://jobs/org/99?endpoint={moto.endpoint}", env)
    finally:
        moto.stop()


def test_killed_holders_push_nothing_and_others_proceed(tmp_path):
    url = f"file://{tmp_path}/replica"
    env = {**os.environ, "JOB_PAUSE": "0.1", "JOB_LOG": str(tmp_path / "starts")}
    jobs = [lock(url, tmp_path / f"work-{i}.db", env) for i in range(4)]
    killed = 0
    deadline = time.monotonic() + 120
    try:
        # Kill the first two holders mid-job (each job takes about 2 s).
        while killed < 2 and time.monotonic() < deadline:
            starts = (tmp_path / "starts").read_text().splitlines() if (tmp_path / "starts").exists() else []
            if len(starts) > killed:
                time.sleep(0.5)
                holder_pid = int(starts[killed].split()[0])
                # The job's parent is its `baton lock`: kill both with SIGKILL.
                parent = int(open(f"/proc/{holder_pid}/stat").read().split(") ")[1].split()[1])
                os.kill(parent, signal.SIGKILL)
                os.kill(holder_pid, signal.SIGKILL)
                killed += 1
            time.sleep(0.05)
        codes = [job.wait(timeout=180) for job in jobs]
    finally:
        for job in jobs:
            if job.poll() is None:
                job.kill()
                job.wait()
    assert killed == 2
    assert sorted(codes) == [-9, -9, 0, 0]
    assert counter(url, tmp_path / "final.db") == 40


def test_a_job_whose_renewals_fail_is_killed_before_its_lease_expires(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto = Moto(tmp_path / "moto.log")
    proxy = FaultProxy(moto.port)
    try:
        moto.create_bucket("fence")
        through_proxy = f"s3://fence/app?endpoint={proxy.endpoint}&timeout=2s"
        direct = f"s3://fence/app?endpoint={moto.endpoint}"
        env = {**os.environ, "JOB_PAUSE": "0.25", "JOB_LOG": str(tmp_path / "starts")}
        job = lock(through_proxy, tmp_path / "a.db", env)
        second = None
        try:
            deadline = time.monotonic() + 60
            while not (tmp_path / "starts").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            # The store becomes unreachable for this job: every request fails.
            proxy.kinds = ("503", "drop-before")
            proxy.rate = 1.0
            blocked_at = time.monotonic()
            code = job.wait(timeout=120)
            err = job.stderr.read()
            assert code != 0 and "lost the lease" in err, err
            # Killed within the safe hold time (ttl 3 s: 1.48 s after its last successful renewal).
            assert time.monotonic() - blocked_at < 3.0
            # Nothing it did reached the store; another job proceeds once the lease expired.
            second = lock(direct, tmp_path / "b.db", {**os.environ})
            assert second.wait(timeout=120) == 0, second.stderr.read()
        finally:
            for process in (job, second):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
        assert counter(direct, tmp_path / "final.db") == 20
    finally:
        proxy.stop()
        moto.stop()


def test_lease_shows_the_holder_and_never_releases_a_live_lease(tmp_path):
    url = f"file://{tmp_path}/replica"
    job = lock(url, tmp_path / "a.db", {**os.environ, "JOB_PAUSE": "0.15", "JOB_LOG": str(tmp_path / "starts")},
               ttl="10s")
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "starts").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        import json
        shown = json.loads(baton("lease", url, "--json").stdout)
        assert shown["holder"].startswith("lock@") and shown["epoch"] == 1 and shown["millisecondsLeft"] > 0
        refused = baton("lease", url, "--release-if-expired", check=False)
        assert refused.returncode != 0 and "live" in refused.stderr
        assert job.wait(timeout=60) == 0
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert "free" in baton("lease", url).stdout
    assert "marked released" in baton("lease", url, "--release-if-expired").stdout
