"""A Baton HA cluster for the integration tests: `baton node` processes on
free loopback ports, each with the demo counter app (`baton demo-app`) as its
supervised app, configured through a YAML file (so the config path is
exercised too). Clients write through the front proxies and keep a history
of acknowledged writes with the epoch that acknowledged them."""
from http.client import HTTPException
import json
import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import BATON, SECRETS
from s3support import free_port

# A Rails 8 app's four databases: the group the group variants of the HA tests hold.
RAILS = ["production", "production_cache", "production_queue", "production_cable"]


def http(method, url, timeout=5.0, body=None, headers=None, context=None):
    """(status, body text); status 0 when the connection failed. `context`: the ssl
    context of an https:// URL."""
    request = urllib.request.Request(url, method=method, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError, OSError) as error:
        # HTTPException: e.g. a body cut short when the server was killed mid-answer.
        return 0, str(error)


class Member:
    def __init__(self, cluster, name):
        self.cluster = cluster
        self.name = name
        self.api_port = free_port()
        self.proxy_port = free_port()
        self.app_port = free_port()
        self.dir = cluster.root / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.db = self.dir / "app.db"
        # A group (cluster.databases): name -> file, the first one is also `db`.
        self.dbs = {}
        if cluster.databases:
            (self.dir / "storage").mkdir(exist_ok=True)
            self.dbs = {name: self.dir / "storage" / f"{name}.sqlite3" for name in cluster.databases}
            self.db = next(iter(self.dbs.values()))
        self.log = self.dir / "node.log"
        self.proc = None
        # The address its API and proxy listen on, and a command prefix that runs the node
        # (and its app) somewhere else, e.g. a network namespace (Cluster's `network`).
        self.host = "127.0.0.1"
        self.prefix = []
        # Extra environment of the node process (the app gets it too, unless its command drops it).
        self.env = {}
        self.app_command = f"'{cluster.binary}' demo-app --listen 127.0.0.1:{self.app_port}"
        # (cert, key) from the cluster's CA, with `Cluster(tls=...)`.
        self.tls_files = None

    @property
    def scheme(self):
        return "https" if self.cluster.tls else "http"

    @property
    def api(self):
        return f"{self.scheme}://{self.host}:{self.api_port}"

    @property
    def proxy(self):
        return f"{self.scheme}://{self.host}:{self.proxy_port}"

    def tls_yaml(self):
        """The `tls:` section: this node's certificate from the cluster's CA (issued once)."""
        if not self.cluster.tls:
            return ""
        if not self.tls_files:
            self.tls_files = self.cluster.tls.issue(self.name, ips=(self.host,))
        cert, key = self.tls_files
        return (f"tls:\n  cert: {cert}\n  key: {key}\n  ca: {self.cluster.tls.cert}\n"
                f"  clientAuth: {self.cluster.tls_client_auth}\n")

    def write_config(self, store):
        peers = "\n".join(
            f"  - name: {p.name}\n    api: {p.api}\n    proxy: {p.proxy}" for p in self.cluster.members if p is not self)
        if self.dbs:
            database = "databases:\n" + "".join(f"  - path: {path}\n" for path in self.dbs.values())
        else:
            database = f"database: {self.db}\n"
        store_line = f"store: ${{TEST_STORE_{self.name.upper()}}}"
        if self.cluster.second_store:
            store_line = f"stores:\n  - ${{TEST_STORE_{self.name.upper()}}}\n  - {self.cluster.second_store}"
        text = f"""name: {self.name}
{database}{store_line}
api:
  listen: {self.host}:{self.api_port}
proxy:
  listen: {self.host}:{self.proxy_port}
  upstream: http://127.0.0.1:{self.app_port}
app:
  command: "{self.app_command}"
  ready: http://127.0.0.1:{self.app_port}/health
  stopTimeout: 5s
peers:
{peers}
lease:
  ttl: {self.cluster.ttl}
  heartbeatTimeout: 1s
handoff:
  holdTimeout: {self.cluster.hold_timeout}
replication:
  batchWindow: {self.cluster.batch_window}
  mode: {self.cluster.replication}
  onStandbyLoss: {self.cluster.on_standby_loss}
""" + (f"token: ${{TEST_TOKEN}}\n" if self.cluster.token else "") + self.tls_yaml() + self.cluster.extra_yaml
        path = self.dir / "baton.yml"
        path.write_text(text)
        return path

    def start(self):
        config = self.write_config(self.cluster.stores[self.name])
        env = {**os.environ, **self.env, f"TEST_STORE_{self.name.upper()}": self.cluster.stores[self.name],
               "TEST_TOKEN": self.cluster.token or ""}
        self.proc = subprocess.Popen([*self.prefix, self.cluster.binary, "node", "--config", str(config)], stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT, env=env)

    def status(self):
        code, body = http("GET", self.api + "/status", timeout=2, context=self.cluster.client_context)
        return json.loads(body) if code == 200 else None

    def get(self, path):
        return http("GET", self.api + path, timeout=2, context=self.cluster.client_context)[0]

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def log_text(self):
        return self.log.read_text() if self.log.exists() else ""


class Cluster:
    def __init__(self, root, store, names=("a", "b"), ttl="3s", stores=None, token=None, batch_window="1s",
                 replication="async", on_standby_loss="degrade", hold_timeout="20s", extra_yaml="", databases=None,
                 binary=None, network=None, second_store=None, tls=None, tls_client_auth="none"):
        """`databases`: names of a group (each `storage/<name>.sqlite3`, named after its stem);
        `binary`: the `baton` to run (default BATON_BIN's, benchmarks compare two builds);
        `network`: gives each node an address and a command prefix (the chaos suite's
        network namespaces: `addresses` and `prefix(name)`); `second_store`: a DR copy's URL
        (`stores: [primary, second]`); `tls`: a `certificates.CertificateAuthority` that issues
        each node's certificate (`tls:` with `tls_client_auth`), and whose operator certificate
        `client_context` presents."""
        self.second_store = second_store
        self.tls = tls
        self.tls_client_auth = tls_client_auth
        self.client_context = None
        if tls:
            self.client_context = tls.client_context(*tls.issue("operator", label="operator"))
        self.root = Path(root)
        self.binary = binary or BATON
        self.databases = list(databases or [])
        self.extra_yaml = extra_yaml
        self.replication = replication
        self.on_standby_loss = on_standby_loss
        self.hold_timeout = hold_timeout
        self.batch_window = batch_window
        self.ttl = ttl
        self.token = token
        if token:
            SECRETS.add(token)
        self.members = []
        for name in names:
            member = Member(self, name)
            if network:
                member.host = network.addresses[name]
                member.prefix = network.prefix(name)
            self.members.append(member)
        self.stores = stores or {name: store for name in names}

    def __getitem__(self, name):
        return next(m for m in self.members if m.name == name)

    def start(self):
        """Starts the first node, waits until it holds the baton, then the others (moto's
        conditional writes are not atomic under concurrency, so the first lease is not raced)."""
        self.members[0].start()
        self.holder(among=[self.members[0]])
        for member in self.members[1:]:
            member.start()

    def stop(self):
        for member in self.members:
            if member.proc and member.proc.poll() is None:
                member.proc.send_signal(signal.SIGTERM)
        for member in self.members:
            if member.proc:
                try:
                    member.proc.wait(30)
                except subprocess.TimeoutExpired:
                    member.proc.kill()
                    member.proc.wait()

    def holder(self, timeout=30, among=None):
        """The member whose /primary answers 200."""
        deadline = time.monotonic() + timeout
        candidates = among or self.members
        while time.monotonic() < deadline:
            for member in candidates:
                if member.proc and member.proc.poll() is None and member.get("/primary") == 200:
                    return member
            time.sleep(0.05)
        logs = "\n".join(f"--- {m.name}\n{m.log_text()[-3000:]}" for m in self.members)
        raise AssertionError(f"no holder within {timeout} s\n{logs}")

    def wait_streaming(self, member, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if member.get("/replica") == 200:
                return
            time.sleep(0.05)
        raise AssertionError(f"{member.name} is not streaming:\n{member.log_text()[-3000:]}")

    def wait_caught_up(self, standby, holder, timeout=30):
        """Waits until the standby applied what the holder captured; the holder
        polls its WAL every 20 ms, so a commit just acknowledged is captured first."""
        time.sleep(0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            a, b = holder.status(), standby.status()
            if a and b and all(theirs.get("txid") is not None and theirs["txid"] >= (ours.get("txid") or 0)
                               for ours, theirs in zip(a["databases"], b["databases"])):
                return
            time.sleep(0.05)
        raise AssertionError(f"{standby.name} did not catch up with {holder.name}")


class Load:
    """Client threads writing unique keys through proxies; each acknowledged
    write is kept with its epoch and send/receive times (monotonic)."""

    def __init__(self, proxies, threads=4, prefix="w", context=None):
        self.proxies = proxies
        self.context = context
        self.threads = threads
        self.prefix = prefix
        self.lock = threading.Lock()
        self.acks = []  # (key, epoch, sent, received)
        self.committed_at = {}  # key -> the app's commit time (wall clock, seconds)
        self.failures = []  # (key, status, text, sent, received)
        self.stopping = threading.Event()
        self.workers = []
        self.counter = 0

    def _next_key(self):
        with self.lock:
            self.counter += 1
            return f"{self.prefix}-{self.counter}"

    def _run(self, index):
        proxy = self.proxies[index % len(self.proxies)]
        while not self.stopping.is_set():
            key = self._next_key()
            sent = time.monotonic()
            status, text = http("POST", f"{proxy}/write?key={key}", timeout=30, body=b"", context=self.context)
            received = time.monotonic()
            with self.lock:
                if status == 200:
                    answer = json.loads(text)
                    self.acks.append((key, answer["epoch"], sent, received))
                    self.committed_at[key] = answer["at"] / 1000.0
                else:
                    self.failures.append((key, status, text[:200], sent, received))
            time.sleep(0.005)

    def start(self):
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self.workers.append(worker)

    def stop(self):
        self.stopping.set()
        for worker in self.workers:
            worker.join(60)


def keys(proxy, db=None, context=None):
    """The keys the demo app has, in its first database or the one named `db`."""
    status, text = http("GET", f"{proxy}/keys" + (f"?db={db}" if db else ""), timeout=30, context=context)
    assert status == 200, text
    return set(text.split())
