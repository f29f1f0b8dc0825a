"""moto's S3 server for the tests, with its writes made atomic.

moto checks `If-None-Match: *` and `If-Match` and then stores the object
without holding a lock, so two racing conditional creates can both succeed
(seen here: 2 winners out of 16). Real S3 decides conditional writes
atomically; the tests rely on that, so this wrapper serializes moto's
mutating requests (reads stay concurrent).

Used by the Swift S3 tests (their conformance suite races 16 conditional
creates). Usage: python3 moto_server.py -H 127.0.0.1 -p PORT
"""
import argparse
import os
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    # As moto.server's own main does.
    os.environ.setdefault("MOTO_PORT", str(args.port))
    moto_app = DomainDispatcherApplication(create_backend_app)
    moto_app.debug = True
    writes = threading.Lock()

    def app(environ, start_response):
        if environ.get("REQUEST_METHOD") in ("PUT", "POST", "DELETE"):
            # moto does the work (check, then store) when called; the iterable it returns only holds the answer.
            with writes:
                return moto_app(environ, start_response)
        return moto_app(environ, start_response)

    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
