"""moto_server, handling one request at a time.

DynamoDB runs transactions in isolation. moto rolls a cancelled
TransactWriteItems back by restoring a copy of the whole table taken when
the transaction began, so under moto_server's threaded server a
cancellation can erase what concurrent requests wrote meanwhile. Serving
requests one at a time restores the isolation the service relies on; the
clients' concurrency stays real.

Usage: python3 scripts/moto_serial.py HOST PORT
"""

import os
import socket
import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple


class NoDelayHandler(WSGIRequestHandler):
    """Answers go out as headers then body: with Nagle on, the body waits
    for the client's delayed ACK (up to 40 ms on Linux)."""

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def serialized(environ, start_response):
        with one_at_a_time:
            return list(app(environ, start_response))

    run_simple(host, port, serialized, threaded=True, request_handler=NoDelayHandler)


if __name__ == "__main__":
    main()
