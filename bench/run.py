"""Cold-start and latency benchmark of the Lambda functions.

Implements the Lambda Runtime API on loopback, spawns each function the way
Lambda does (its binary, the Lambda environment variables, no SSL_CERT_* nor
AWS_CA_BUNDLE),
hands it API Gateway v2 events from events/, and measures:

  init      spawn -> the function's first GET /invocation/next
  first     spawn -> the response to the first event
  warm      p50 / p99 of the next invocations (event handed out -> response)
  RSS       peak resident memory (VmHWM)
  size      the binary on disk
  DynamoDB  calls per warm request, counted by a proxy in front of the emulator
  emulator  time the proxy waited on the emulator: what the first response
            and a warm request spent there, so that the function's own share
            shows (moto's Query of 20 items alone takes ~25 ms)

With --tls the proxy speaks HTTPS, as AWS endpoints do, with a certificate
from a CA made for the run that every subject trusts through AWS_CA_BUNDLE:
the first response then includes the TLS handshake.

Subjects run interleaved, round by round; figures are medians over rounds.
A benchmark: it prints, it never fails on a number.

Usage: python3 bench/run.py --moto URL --table NAME --target-dir DIR
       [--tls] [--rounds N] [--warm N] [--create-warm N]
"""

import argparse
import http.client
import http.server
import json
import os
import queue
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_event(name):
    with open(os.path.join(ROOT, "events", f"{name}.json")) as f:
        return json.load(f)


class QuickHandler(http.server.BaseHTTPRequestHandler):
    """No Nagle: a response's header and body segments must not wait for a
    delayed ACK (40 ms on Linux), or every figure measures the TCP stack."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass


class RuntimeApi:
    """One Lambda Runtime API endpoint for one function process."""

    def __init__(self):
        self.events = queue.Queue()
        self.responses = queue.Queue()
        self.first_next = None
        self.handed_out = {}
        api = self

        class Handler(QuickHandler):
            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    self.send_error(404)
                    return
                if api.first_next is None:
                    api.first_next = time.perf_counter()
                body = api.events.get()
                if body is None:
                    # The run is over: the process is being stopped and
                    # may be gone before it reads this answer.
                    try:
                        self.send_error(410)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                request_id = str(uuid.uuid4())
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000;Sampled=0")
                self.end_headers()
                api.handed_out[request_id] = time.perf_counter()
                self.wfile.write(payload)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                now = time.perf_counter()
                parts = self.path.split("/")
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if "invocation" in parts and parts[-1] in ("response", "error"):
                    request_id = parts[-2]
                    api.responses.put((parts[-1], request_id, now, body))
                elif parts[-1] == "error":
                    api.responses.put(("init-error", None, now, body))

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def invoke(self, event, timeout=60):
        self.events.put(event)
        kind, request_id, at, body = self.responses.get(timeout=timeout)
        if kind != "response":
            raise RuntimeError(f"{kind}: {body[:300]!r}")
        answer = json.loads(body)
        # An HTTP function's status, or an authorizer's verdict.
        status = answer.get("statusCode", answer.get("isAuthorized"))
        return at, self.handed_out.pop(request_id, at), status

    def close(self):
        self.events.put(None)
        self.server.shutdown()


class CountingProxy:
    """Forwards to the emulator and counts AWS operations (X-Amz-Target)."""

    def __init__(self, upstream, tls=None):
        target = urllib.parse.urlparse(upstream)
        self.scheme = "https" if tls else "http"
        self.counts = {}
        self.waited = 0.0
        self.lock = threading.Lock()
        proxy = self

        class Handler(QuickHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                operation = self.headers.get("X-Amz-Target") or self.path
                with proxy.lock:
                    proxy.counts[operation] = proxy.counts.get(operation, 0) + 1
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
                connection.connect()
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                sent = time.perf_counter()
                connection.request("POST", self.path, body, headers)
                answer = connection.getresponse()
                data = answer.read()
                with proxy.lock:
                    proxy.waited += time.perf_counter() - sent
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                connection.close()

            do_GET = do_POST

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def take(self):
        """The calls counted and the seconds waited on the emulator since the last take."""
        with self.lock:
            counts, self.counts = self.counts, {}
            waited, self.waited = self.waited, 0.0
        return counts, waited


def make_tls(directory):
    """A CA for this run and a certificate it signs for 127.0.0.1; returns
    the server context and the CA bundle path the subjects trust."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=bench CA", "-days", "2")
    openssl("req", *ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1")
    with open(os.path.join(directory, "leaf.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(directory, "leaf.pem"), os.path.join(directory, "leaf.key"))
    return context, os.path.join(directory, "ca.pem")


PROVIDER_CRATES = ("aws-sdk-sesv2", "aws-sdk-iam", "aws-sdk-secretsmanager", "reqwest", "jsonwebtoken")


def provider_crates_in(binary):
    """The provider-side crates a binary carries, by the source paths their
    code leaves in it (panic locations survive stripping)."""
    with open(binary, "rb") as f:
        content = f.read()
    return [name for name in PROVIDER_CRATES if re.search(rb"/" + name.encode() + rb"-\d", content)]


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return None


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_subject(subject, args, proxy):
    api = RuntimeApi()
    # Lambda sets no CA bundle; a machine may (AWS_CA_BUNDLE would make the
    # functions load the whole system bundle).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SSL_CERT_") and k not in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    env.update({
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": subject["name"],
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": proxy.url,
        "STORE": "dynamodb",
        "TABLE_NAME": args.table,
        # emulator-setup.py makes a bus of the table's name: a create
        # publishes its event as in AWS.
        "EVENT_BUS_NAME": args.table,
        "PASSWORD_KEY_ID": f"alias/{args.table}-passwords",
        "DAILY_CREATE_LIMIT": "1000000",
        "EMAIL_PROVIDER": "sandbox",
        "RUST_LOG": "warn",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
    })
    env.update(subject.get("env", {}))
    if args.ca_bundle:
        env["AWS_CA_BUNDLE"] = args.ca_bundle
    env.pop("AUTH_MODE", None)
    proxy.take()
    started = time.perf_counter()
    process = subprocess.Popen(subject["command"], env=env, cwd=subject.get("cwd", ROOT),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        first_at, _, first_status = api.invoke(subject["event"](0))
        init = (api.first_next or first_at) - started
        first = first_at - started
        _, first_waited = proxy.take()
        warm = []
        count = subject.get("warm", args.warm)
        for n in range(1, count + 1):
            answered, handed, _ = api.invoke(subject["event"](n))
            warm.append(answered - handed)
        calls, warm_waited = proxy.take()
        rss = peak_rss_kib(process.pid)
    finally:
        process.kill()
        process.wait()
        api.close()
    dynamodb = sum(v for k, v in calls.items() if k.startswith("DynamoDB_"))
    other = sum(v for k, v in calls.items() if not k.startswith("DynamoDB_"))
    return {
        "init": init * 1000, "first": first * 1000, "status": first_status,
        "first_own": (first - first_waited) * 1000, "emulator": warm_waited / count * 1000,
        "p50": percentile(warm, 50) * 1000, "p99": percentile(warm, 99) * 1000,
        "rss": (rss or 0) / 1024, "dynamodb": dynamodb / count, "other": other / count,
        "calls": calls,
    }


def seed_accounts(args, proxy, count=20):
    """Gives the events' user (user-alice) a fixed page of accounts to list,
    made by the real create function before anything is measured."""
    create = load_event("create")
    seeder = {"name": "seed", "command": [os.path.join(args.target_dir, "release", "create")],
              "event": lambda n: dict(create, body=json.dumps({"username": f"seed-{n:02d}"})),
              "binary": None, "warm": count - 1}
    run_subject(seeder, args, proxy)


def subjects(args):
    release = os.path.join(args.target_dir, "release")
    check = load_event("check-availability")
    listing = load_event("my-accounts")
    create = load_event("create")
    authorizing = load_event("authorizer")

    def creating(n):
        # Its own user: list's partition must not grow with the creates.
        event = json.loads(json.dumps(create))
        event["body"] = json.dumps({"username": f"bench-{uuid.uuid4().hex[:12]}"})
        event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] = "bench-creator"
        return event

    return [
        {"name": "bare", "command": [os.path.join(release, "bare-hello")], "event": lambda n: check,
         "binary": os.path.join(release, "bare-hello")},
        {"name": "check", "command": [os.path.join(release, "check")], "event": lambda n: check,
         "binary": os.path.join(release, "check")},
        {"name": "list", "command": [os.path.join(release, "list")], "event": lambda n: listing,
         "binary": os.path.join(release, "list")},
        # Each create adds items and a secret to the emulator, whose
        # transactions copy the whole table: fewer warm creates keep it quick.
        {"name": "create", "command": [os.path.join(release, "create")], "event": creating,
         "binary": os.path.join(release, "create"), "warm": args.create_warm},
        # In front of every route: an API key looked up by its hash (one
        # GetItem; this one is unknown, so no last-use write).
        {"name": "authorizer", "command": [os.path.join(release, "authorizer")],
         "event": lambda n: authorizing, "binary": os.path.join(release, "authorizer"),
         "env": {"JWT_ISSUER": "https://issuer.invalid", "JWT_AUDIENCE": "bench"}},
        {"name": "python-boto3", "command": [args.python, "-m", "awslambdaric", "handler.handle"],
         "cwd": os.path.join(ROOT, "bench", "peer"), "event": lambda n: check, "binary": None},
    ]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--moto", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--target-dir", required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm", type=int, default=500)
    parser.add_argument("--create-warm", type=int, default=100)
    parser.add_argument("--tls", action="store_true", help="AWS calls over HTTPS")
    args = parser.parse_args()

    tls, args.ca_bundle = None, None
    # The run's CA and key go when the run ends.
    tls_files = tempfile.TemporaryDirectory(prefix="bench-tls-")
    if args.tls:
        tls, args.ca_bundle = make_tls(tls_files.name)
    proxy = CountingProxy(args.moto, tls)
    everyone = subjects(args)
    seed_accounts(args, proxy)
    results = {s["name"]: [] for s in everyone}
    for round_number in range(args.rounds):
        for subject in everyone:
            results[subject["name"]].append(run_subject(subject, args, proxy))
        print(f"round {round_number + 1}/{args.rounds} done", file=sys.stderr)

    def median(name, key):
        return statistics.median(r[key] for r in results[name])

    print(f"\n{args.rounds} interleaved rounds, {args.warm} warm invocations each "
          f"({args.create_warm} for create), AWS calls over {proxy.scheme.upper()}; medians.\n")
    print("| function | init ms | first response ms | of which emulator ms | warm p50 ms | warm p99 ms | emulator ms/request | peak RSS MiB | binary MiB | DynamoDB calls/request | other AWS calls/request |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for subject in everyone:
        name = subject["name"]
        size = f"{os.path.getsize(subject['binary']) / 1048576:.1f}" if subject["binary"] else "-"
        print(f"| {name} | {median(name, 'init'):.1f} | {median(name, 'first'):.1f} "
              f"| {median(name, 'first') - median(name, 'first_own'):.1f} | {median(name, 'p50'):.2f} "
              f"| {median(name, 'p99'):.2f} | {median(name, 'emulator'):.2f} | {median(name, 'rss'):.1f} | {size} "
              f"| {median(name, 'dynamodb'):.2f} "
              f"| {median(name, 'other'):.2f} |")
    print("\n| binary | provider-side crates linked |")
    print("| --- | --- |")
    for subject in everyone:
        if subject["binary"]:
            print(f"| {subject['name']} | {', '.join(provider_crates_in(subject['binary'])) or 'none'} |")
    statuses = {name: sorted({r['status'] for r in rs}) for name, rs in results.items()}
    print(f"\nfirst-response status codes: {statuses}")

    bare, peer = "bare", "python-boto3"
    print("\n| ratio | value | target |")
    print("| --- | ---: | --- |")
    for name in ("check", "list"):
        print(f"| {name} first response / bare | {median(name, 'first') / median(bare, 'first'):.2f} | <= 3 |")
        print(f"| {name} first response without emulator time / bare | "
              f"{median(name, 'first_own') / median(bare, 'first'):.2f} | (<= 3) |")
        print(f"| {name} first response / boto3 peer | {median(name, 'first') / median(peer, 'first'):.3f} | <= 0.033 |")
        print(f"| {name} init / bare | {median(name, 'init') / median(bare, 'init'):.2f} | <= 2 |")
        print(f"| {name} peak RSS / boto3 peer | {median(name, 'rss') / median(peer, 'rss'):.2f} | <= 0.2 |")
    print(f"| create first response / check | {median('create', 'first') / median('check', 'first'):.2f} | <= 1.5 |")
    print(f"| create first response without emulator time / check's | "
          f"{median('create', 'first_own') / median('check', 'first_own'):.2f} | (<= 1.5) |")


if __name__ == "__main__":
    main()
