"""The front proxy with an app nobody here wrote the client for: bodies
streamed both ways, headers kept, X-Forwarded-For added, hop-by-hop headers
dropped, and requests through the standby reach the holder's app."""
import hashlib
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path

from cluster import Cluster
from s3support import free_port

HERE = Path(__file__).resolve().parent


def test_the_proxy_streams_bodies_and_keeps_headers(tmp_path):
    cluster = Cluster(tmp_path, f"file://{tmp_path}/replica", ttl="3s")
    for member in cluster.members:
        # The app: an echo server instead of the demo counter.
        member.app_command = f"{sys.executable} {HERE / 'echo_app.py'} {member.app_port}"
    cluster.start()
    try:
        holder = cluster.holder()
        standby = cluster["b" if holder.name == "a" else "a"]
        cluster.wait_streaming(standby)
        body = bytes(range(256)) * (4 * 4096)  # 4 MiB
        for member in (holder, standby):
            connection = http.client.HTTPConnection("127.0.0.1", member.proxy_port, timeout=60)

            def chunks():
                for start in range(0, len(body), 65536):
                    yield body[start:start + 65536]

            connection.request("POST", "/upload?x=1", body=chunks(), encode_chunked=True,
                               headers={"X-Custom": "kept", "X-Forwarded-For": "10.1.2.3", "Connection": "keep-alive",
                                        "Transfer-Encoding": "chunked"})
            response = connection.getresponse()
            answer = json.loads(response.read())
            assert response.status == 200
            assert response.getheader("X-Echo") == "yes"
            assert answer["method"] == "POST" and answer["path"] == "/upload?x=1"
            assert answer["length"] == len(body) and answer["sha256"] == hashlib.sha256(body).hexdigest()
            headers = {k.lower(): v for k, v in answer["headers"].items()}
            assert headers["x-custom"] == "kept"
            # The client's chain plus each proxy it crossed.
            assert headers["x-forwarded-for"].startswith("10.1.2.3, 127.0.0.1")
            assert "x-baton-hops" not in headers

            connection.request("GET", "/big?mib=32")
            response = connection.getresponse()
            total = 0
            while chunk := response.read(1 << 16):
                total += len(chunk)
            assert response.status == 200 and total == 32 << 20
            connection.close()
    finally:
        cluster.stop()
