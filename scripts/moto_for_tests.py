"""moto_server for a Python test module: the one MOTO_ENDPOINT names
(scripts/test starts one), else one started here on a free loopback port.
AWS_ENDPOINT_URL points the SDKs at it."""

import logging
import os
import socket

server = None


def start():
    global server
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"] = "us-east-1"
    if not os.environ.get("MOTO_ENDPOINT"):
        from moto.server import ThreadedMotoServer

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        os.environ["MOTO_ENDPOINT"] = f"http://127.0.0.1:{port}"
    os.environ["AWS_ENDPOINT_URL"] = os.environ["MOTO_ENDPOINT"]


def stop():
    global server
    if server:
        server.stop()
        server = None


# A test module imports these two to have the server for its tests.
def setUpModule():
    start()


def tearDownModule():
    stop()


def s(value):
    """A DynamoDB string attribute."""
    return {"S": value}
