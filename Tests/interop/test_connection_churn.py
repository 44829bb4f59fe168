"""10,000 connections opened and dropped abruptly while a healthy client keeps being served
(then 10,000 more, each reset right after its connect).

The connections come from 64 loopback addresses (127.0.1.1-64, about 160 each, under the
default per-IP limit of 256), in batches of 1,000, to both listeners: a quarter say nothing, a
quarter send half an HTTP request head, a quarter complete a WebSocket upgrade and never read,
a quarter send half an NDJSON line. Once the broker holds them all, they are dropped with a
reset (SO_LINGER 0), again in batches. Then 10,000 more are opened and reset at once, batch
by batch, so the broker also accepts sockets whose peer is already gone. Throughout, a healthy client from 127.0.0.1 ingests over
NDJSON and asks /healthz over HTTP; every request must be answered. Afterwards the connection
gauges are back at their baseline and the broker serves new clients normally.

The test raises its own file-descriptor limit (the broker inherits it). If it cannot hold
10,000 sockets at once it holds as many as allowed (at least 5,000) per round and says so; the
total opened and dropped is 10,000 either way."""
import http.client
import json
import resource
import socket
import struct
import tempfile
import threading
import time

from websockets.sync.client import connect as ws_connect

from conftest import start_broker_env

TOTAL = 10_000
BATCH = 1_000
SOURCES = [f"127.0.1.{i}" for i in range(1, 65)]
APP_KEY = "churn-test-key-0123456789"


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ValueError, OSError):
        want = soft
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def connection_gauges(http_addr):
    """The sum of intake_connections{kind=…} and the per_ip refusals, from /metrics."""
    host, port = http_addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    open_now, refused = 0.0, 0.0
    for line in text.splitlines():
        if line.startswith("intake_connections{"):
            open_now += float(line.rsplit(" ", 1)[1])
        elif line.startswith('intake_connections_rejected_total{reason="per_ip"}'):
            refused = float(line.rsplit(" ", 1)[1])
    return open_now, refused


def wait_for_gauge(http_addr, want, timeout):
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen, _ = connection_gauges(http_addr)
        if seen == want:
            return seen
        time.sleep(0.2)
    return seen


class Healthy(threading.Thread):
    """Ingests one NDJSON line and asks /healthz once per turn, 25 turns a second (within the
    default rates), recording each turn's latency and any failure."""

    def __init__(self, broker):
        super().__init__()
        self.broker, self.stop, self.latencies, self.failures = broker, threading.Event(), [], []

    def run(self):
        host, port = self.broker.tcp.rsplit(":", 1)
        tcp = socket.create_connection((host, int(port)), timeout=10)
        f = tcp.makefile("rb")
        tcp.sendall(json.dumps({"type": "auth", "account": "churnapp", "key": APP_KEY}).encode() + b"\n")
        assert json.loads(f.readline())["type"] == "authenticated"
        h, p = self.broker.http.rsplit(":", 1)
        web = http.client.HTTPConnection(h, int(p), timeout=10)
        n = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                msg = {"channel": "app", "account": "churnapp", "channelMessageId": f"healthy-{n}",
                       "citizen": "healthy", "kind": "text", "text": f"still here {n}"}
                tcp.sendall(json.dumps(msg).encode() + b"\n")
                answer = json.loads(f.readline())
                if "ack" not in answer:
                    self.failures.append(f"ingest {n}: {answer}")
                web.request("GET", "/healthz")
                r = web.getresponse()
                if r.status != 200 or r.read() != b"ok\n":
                    self.failures.append(f"healthz {n}: {r.status}")
            except (OSError, ValueError, http.client.HTTPException) as e:
                self.failures.append(f"turn {n}: {e!r}")
                return
            self.latencies.append(time.monotonic() - t0)
            n += 1
            time.sleep(0.04)
        tcp.close()
        web.close()


def open_one(i, broker, echo_path):
    """Opens connection number i from one of SOURCES and leaves it in one of four states."""
    kind = i % 4
    addr = broker.tcp if kind == 3 else broker.http
    host, port = addr.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    s.bind((SOURCES[i % len(SOURCES)], 0))
    s.connect((host, int(port)))
    if kind == 1:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half: ")
    elif kind == 2:
        s.sendall(f"GET {echo_path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    elif kind == 3:
        s.sendall(b'{"type":"auth","acc')
    return s


def drop(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_ten_thousand_connections_dropped_abruptly_while_others_are_served():
    limit = raise_fd_limit()
    per_round = min(TOTAL, max(0, limit - 500))
    assert per_round >= 5_000, f"the file-descriptor limit ({limit}) allows only {per_round} sockets; at least 5,000 needed"
    if per_round < TOTAL:
        print(f"fd limit {limit}: holding {per_round} connections at once, in {-(-TOTAL // per_round)} rounds")
    config = f'{{"apps": [{{"account": "churnapp", "key": "{APP_KEY}"}}]}}'
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as cf:
        cf.write(config)
    broker = start_broker_env({}, "--config", cf.name)
    started = time.monotonic()
    try:
        host, port = broker.http.rsplit(":", 1)
        probe = http.client.HTTPConnection(host, int(port), timeout=5)
        probe.request("GET", "/ws/echo")
        echo_path = "/ws/echo" if probe.getresponse().status != 404 else "/ws/widget"
        probe.close()

        healthy = Healthy(broker)
        healthy.start()
        time.sleep(0.3)
        baseline, refused_before = connection_gauges(broker.http)  # the healthy client's two (and the scrape)
        opened = dropped = 0
        held_max = 0
        while opened < TOTAL:
            held = []
            target = min(per_round, TOTAL - opened)
            while len(held) < target:
                for _ in range(min(BATCH, target - len(held))):
                    held.append(open_one(opened + len(held), broker, echo_path))
            opened += len(held)
            # The broker holds every one of them (nothing refused, nothing lost in the backlog).
            seen = wait_for_gauge(broker.http, baseline + len(held), timeout=30)
            assert seen == baseline + len(held), f"broker holds {seen} connections, expected {baseline + len(held)}"
            held_max = max(held_max, len(held))
            for k in range(0, len(held), BATCH):
                for s in held[k:k + BATCH]:
                    drop(s)
                dropped += len(held[k:k + BATCH])
            seen = wait_for_gauge(broker.http, baseline, timeout=30)
            assert seen == baseline, f"after the resets the broker still counts {seen} connections (baseline {baseline})"
        # Then churn: another 10,000, each reset right after its connect, before the broker has
        # necessarily accepted it (accept then hands over sockets that are already reset).
        churned = 0
        while churned < TOTAL:
            batch = [open_one(TOTAL + churned + k, broker, echo_path) for k in range(min(BATCH, TOTAL - churned))]
            for s in batch:
                drop(s)
            churned += len(batch)
        seen = wait_for_gauge(broker.http, baseline, timeout=30)
        assert seen == baseline, f"after the churn the broker still counts {seen} connections (baseline {baseline})"
        healthy.stop.set()
        healthy.join(timeout=15)
        assert not healthy.is_alive(), "the healthy client hung"
        assert not healthy.failures, healthy.failures[:5]
        lat = sorted(healthy.latencies)
        assert len(lat) >= 20, f"the healthy client got only {len(lat)} answers"
        p50, p99, worst = lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]
        assert worst < 3.0, f"the healthy client waited {worst:.2f} s for an answer"
        _, refused_after = connection_gauges(broker.http)
        assert refused_after == refused_before, "connections were refused by the per-IP limit"

        # Business as usual for newcomers: a WebSocket echo, an ingest, readiness.
        with ws_connect(f"ws://{broker.http}{echo_path}", open_timeout=5) as ws:
            ws.send("after the storm")
            assert ws.recv(timeout=5) == "after the storm"
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        body = json.dumps({"channel": "app", "account": "churnapp", "channelMessageId": "after", "citizen": "x",
                           "kind": "text", "text": "after"})
        c.request("POST", "/api/v1/messages", body=body, headers={"Authorization": f"Bearer {APP_KEY}"})
        r = c.getresponse()
        assert r.status == 202 and json.loads(r.read())["duplicate"] is False
        c.request("GET", "/readyz")
        assert c.getresponse().status == 200
        c.close()
        elapsed = time.monotonic() - started
        assert elapsed < 120, f"took {elapsed:.0f} s"
        print(f"churn: {opened} connections opened (up to {held_max} at once, from {len(SOURCES)} addresses) and "
              f"{dropped} reset, then {churned} opened and reset at once, in {elapsed:.1f} s; the healthy client got {len(lat)} answers, "
              f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, worst {worst * 1000:.0f} ms; gauges back to {baseline:.0f}")
    finally:
        if broker.proc.poll() is None:
            broker.proc.kill()
            broker.proc.wait()
