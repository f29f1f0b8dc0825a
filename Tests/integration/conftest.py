"""Helpers for Baton's integration tests: they run the real `baton` binary
(BATON_BIN, default .build/debug/baton) against real SQLite files written by
other processes. Every wait is bounded and every process is stopped."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BATON = os.environ.get("BATON_BIN", str(ROOT / ".build" / "debug" / "baton"))
TORTURE = os.environ.get("BATON_TORTURE") == "1"

sys.path.insert(0, str(HERE))


def baton(*args, check=True, timeout=120):
    """Runs baton to completion; returns the CompletedProcess (text)."""
    result = subprocess.run([BATON, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"baton {' '.join(map(str, args))} failed ({result.returncode}): {result.stderr}")
    return result


def workload(db, seed, first, last, log, **extra):
    """Starts the workload writer as a separate process."""
    args = {"db": str(db), "seed": seed, "first": first, "last": last, "log": str(log), **extra}
    return subprocess.Popen([sys.executable, str(HERE / "workload.py"), json.dumps(args)])


def wait(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"process {proc.args} did not finish within {timeout} s")


def wait_for(predicate, timeout, what, every=0.05):
    """Returns once predicate() is true; fails after `timeout` seconds naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Processes:
    """Tracks started processes and kills leftovers at the end of a test."""

    def __init__(self):
        self.procs = []

    def replicate(self, db, url, *extra, log=None):
        out = open(log, "ab") if log else subprocess.DEVNULL
        proc = subprocess.Popen([BATON, "replicate", str(db), str(url), *map(str, extra)], stdout=out, stderr=out)
        self.procs.append(proc)
        return proc

    def add(self, proc):
        self.procs.append(proc)
        return proc

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def procs():
    tracker = Processes()
    yield tracker
    tracker.stop_all()


def stop(proc, sig=signal.SIGTERM, timeout=60):
    proc.send_signal(sig)
    return wait(proc, timeout)


def commit_times(log):
    """{k: commit time ms} and the checkpoint lines from a workload log."""
    times, checkpoints = {}, []
    for line in Path(log).read_text().splitlines():
        parts = line.split()
        if parts[0] == "ckpt":
            checkpoints.append((parts[1], float(parts[2]), int(parts[3])))
        else:
            times[int(parts[0])] = int(parts[1])
    return times, checkpoints


def listing(url):
    return json.loads(baton("ls", url, "--json").stdout)


@pytest.fixture
def s3(tmp_path, monkeypatch):
    """moto on a free loopback port with the bucket `hanode`; stopped after the test."""
    from s3support import Moto
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto = Moto(tmp_path / "moto.log")
    try:
        moto.create_bucket("hanode")
        yield moto
    finally:
        moto.stop()


# Secrets the tests hand to Baton (tokens; Cluster adds its own): none may appear in any log a
# test's processes wrote, nor may private keys (age identities, PEM keys).
SECRETS = set()
SECRET_PATTERNS = ("AGE-SECRET-KEY-1", "PRIVATE KEY-----")


@pytest.fixture(autouse=True)
def no_secrets_in_logs(tmp_path):
    """After each test, its logs (every *.log under its tmp_path) hold no secret."""
    yield
    folder = tmp_path
    needles = list(SECRETS) + list(SECRET_PATTERNS)
    leaks = []
    for log in Path(folder).rglob("*.log"):
        text = log.read_text(errors="replace")
        leaks += [f"{log.relative_to(folder)}: {needle[:4]}…" for needle in needles if needle in text]
    assert not leaks, f"secrets in logs: {leaks}"
