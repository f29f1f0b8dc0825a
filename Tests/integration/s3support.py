"""S3 for the integration tests: a real S3-compatible server (moto) on a free
loopback port, and a fault-injecting HTTP proxy of our own between Baton and
that server (500/503 answers, dropped connections before and after the
server saw the request, delays), which also counts requests."""
import http.client
import os
import http.server
import random
import socket
import subprocess
import sys
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    def __init__(self, log_path, host="127.0.0.1", env=None):
        self.host = host
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", host, "-p", str(self.port)],
                                     stdout=open(log_path, "wb"), stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host, self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start (pip install 'moto[server]')")

    @property
    def endpoint(self):
        return f"http://{self.host}:{self.port}"

    def create_bucket(self, name):
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        urllib.request.urlopen(request, timeout=30).read()

    def keys(self, bucket, prefix=""):
        body = urllib.request.urlopen(f"{self.endpoint}/{bucket}?list-type=2&prefix={prefix}&max-keys=100000",
                                      timeout=30).read().decode()
        import re
        return re.findall(r"<Key>([^<]*)</Key>", body)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FaultProxy:
    """Forwards to `upstream`; with probability `rate` a request meets a fault."""

    FAULTS = ("500", "503", "drop-before", "drop-after", "delay")

    def __init__(self, upstream_port, rate=0.0, seed=1):
        self.upstream_port = upstream_port
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.requests = []  # (method, path, fault)
        self.bytes_up = 0
        self.kinds = FaultProxy.FAULTS
        self.methods = ("GET", "PUT", "POST", "DELETE", "HEAD")
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy.lock:
                    eligible = self.command in proxy.methods
                    fault = proxy.rng.choice(proxy.kinds) if eligible and proxy.rng.random() < proxy.rate else None
                    proxy.requests.append((self.command, self.path, fault))
                    proxy.bytes_up += len(body)
                if fault == "500":
                    return self.answer(500, b"<Error><Code>InternalError</Code><Message>injected</Message></Error>")
                if fault == "503":
                    return self.answer(503, b"<Error><Code>SlowDown</Code><Message>injected</Message></Error>")
                if fault == "drop-before":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if fault == "delay":
                    time.sleep(proxy.rng.uniform(0.2, 1.5))
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                if fault == "drop-after":
                    # The server did it; the client never hears so.
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                # The server's own Date (and other headers) go through unchanged.
                self.send_response_only(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            def answer(self, status, payload):
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Content-Type", "application/xml")
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def count(self):
        with self.lock:
            return len(self.requests)

    def faults(self):
        with self.lock:
            return [fault for _, _, fault in self.requests if fault]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    # python3 s3support.py proxy UPSTREAM_PORT FAULT COUNT: the first COUNT
    # requests meet FAULT, the rest pass; prints the proxy's port, runs until killed.
    import signal as _signal
    _, mode, upstream, fault, count = sys.argv
    proxy = FaultProxy(int(upstream), rate=0.0)
    remaining = [int(count)]

    class Scripted(random.Random):
        def random(self):
            if remaining[0] > 0:
                remaining[0] -= 1
                return 0.0
            return 1.0

        def choice(self, seq):
            return fault

        def uniform(self, a, b):
            return a

    proxy.rng = Scripted()
    proxy.rate = 0.5
    print(proxy.port, flush=True)
    _signal.sigwait([_signal.SIGTERM, _signal.SIGINT])
    proxy.stop()
