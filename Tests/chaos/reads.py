"""A client that checks reads during a chaos run: it writes a key through a
front proxy, then reads it back from a random node's relay API, once at
`level=none` carrying the TXID the write's answer named (X-Baton-TXID) and
once at `level=strong`. A read answered 200 that does not show the key is
stale: the write was acknowledged before the read was sent.
"""
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.client import HTTPException


def request(method, url, headers=None, timeout=10.0):
    """(status, body text, response headers); status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, data=b"" if method == "POST" else None,
                                                           headers=headers or {}), timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)
    except (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError, OSError) as error:
        return 0, str(error), {}


def shows(body, key):
    """Whether a relay answer's rows include `key` (None: the answer is an error)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    results = answer.get("results") or []
    if not results or any("error" in result for result in results):
        return None
    return any(key in row for result in results for row in result.get("values") or [])


class Reader:
    """One thread: write, then read back at both levels, over and over."""

    def __init__(self, members, rng, token=None):
        self.members = members
        self.rng = rng
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.writes = []  # history entries of the writes it made (the checker's format)
        self.reads = []  # {"level", "key", "node", "status", "shows", "sent", "received"}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.counter = 0

    def _run(self):
        while not self.stopping.is_set():
            self.counter += 1
            key = f"r-{self.counter}"
            proxy = self.rng.choice(self.members).proxy
            sent = time.monotonic()
            status, body, headers = request("POST", f"{proxy}/write?key={key}", timeout=30)
            received = time.monotonic()
            txid = headers.get("X-Baton-TXID")
            if status != 200:
                self.writes.append({"key": key, "sent": sent, "received": received, "status": status,
                                    "error": body[:200]})
                time.sleep(0.05)
                continue
            answer = json.loads(body)
            self.writes.append({"key": key, "sent": sent, "received": received, "status": 200,
                                "epoch": int(answer["epoch"]), "at": answer["at"]})
            query = urllib.parse.quote(f"SELECT key FROM writes WHERE key = '{key}'")
            for level in ("none", "strong"):
                member = self.rng.choice(self.members)
                extra = {"X-Baton-TXID": txid} if level == "none" and txid else {}
                started = time.monotonic()
                status, body, _ = request("GET", f"{member.api}/db/query?level={level}&q={query}",
                                          headers={**self.auth, **extra})
                self.reads.append({"level": level, "key": key, "node": member.name, "status": status,
                                   "shows": shows(body, key) if status == 200 else None, "txid": txid,
                                   "sent": started, "received": time.monotonic(), "answer": body[:200]})
            time.sleep(0.02)

    def start(self):
        self.thread.start()

    def stop(self):
        self.stopping.set()
        self.thread.join(60)
