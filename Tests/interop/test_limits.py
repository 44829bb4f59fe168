"""The limits of the built binary seen by independent clients (Python's http.client, socket and
websockets): per-IP connections closed at accept, HTTP 429 with Retry-After and the JSON error,
WebSocket close 1008 after the error frame, NDJSON rate_limited lines, the counters in /metrics,
and bad limit values refused at start-up with exit 2."""
import http.client
import json
import os
import socket
import subprocess
import tempfile
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from conftest import start_broker


def binary():
    return os.environ.get("INTAKE_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/intake"))


def metrics(http_addr, source="127.0.0.250"):
    host, port = http_addr.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=5, source_address=(source, 0))
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}


@pytest.fixture
def limited():
    b = start_broker("--max-connections-per-ip", "2", "--http-rate-limit", "1", "--http-rate-burst", "2",
                     "--ws-rate-limit", "1", "--ws-rate-burst", "2", "--tcp-rate-limit", "1", "--tcp-rate-burst", "2")
    yield b
    if b.proc.poll() is None:
        b.proc.kill()
        b.proc.wait()


def test_per_ip_connections_are_closed_at_accept(limited):
    host, port = limited.http.rsplit(":", 1)
    kept = [socket.create_connection((host, int(port)), timeout=5) for _ in range(2)]
    extra = socket.create_connection((host, int(port)), timeout=5)
    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        assert extra.recv(100) == b"", "the third connection from 127.0.0.1 was answered"
    except ConnectionResetError:
        pass  # closed with our request unread: a reset is a close too
    other = http.client.HTTPConnection(host, int(port), timeout=5, source_address=("127.0.0.2", 0))
    other.request("GET", "/healthz")
    assert other.getresponse().status == 200, "another address is served"
    other.close()
    assert metrics(limited.http)['intake_connections_rejected_total{reason="per_ip"}'] >= 1
    for s in kept:
        s.close()


def test_http_over_the_rate_gets_429_with_retry_after(limited):
    host, port = limited.http.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    statuses = []
    for _ in range(3):
        c.request("GET", "/healthz")
        r = c.getresponse()
        body = r.read()
        statuses.append(r.status)
    assert statuses == [200, 200, 429]
    assert r.getheader("Retry-After") == "1"
    assert json.loads(body)["error"] == "rate_limited"
    time.sleep(1.05)
    c.request("GET", "/healthz")
    assert c.getresponse().status == 200, "the same connection is served again after Retry-After"
    c.close()
    assert metrics(limited.http)['intake_rate_limited_total{kind="http"}'] >= 1


def test_websocket_over_the_rate_gets_an_error_frame_then_1008(limited):
    host, port = limited.http.rsplit(":", 1)
    probe = http.client.HTTPConnection(host, int(port), timeout=5)
    probe.request("GET", "/ws/echo")
    path = "/ws/echo" if probe.getresponse().status != 404 else "/ws/widget"  # the echo, before and after it moved
    probe.close()
    with ws_connect(f"ws://{limited.http}{path}", open_timeout=5) as ws:
        for i in range(2):
            ws.send(f"m{i}")
        ws.send("over")
        ws.send("over again")
        assert [ws.recv(timeout=5) for _ in range(2)] == ["m0", "m1"]
        warning = json.loads(ws.recv(timeout=5))
        assert warning["type"] == "error" and warning["code"] == "rate_limited" and warning["retryAfterMs"] > 0
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1008 and closed.value.rcvd.reason == "rate limit exceeded"


def test_ndjson_lines_over_the_rate_are_answered_in_order(limited):
    host, port = limited.tcp.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    f = s.makefile("rb")
    s.sendall(b"1\n2\n3\n4\n")
    answers = [json.loads(f.readline())["error"] for _ in range(4)]
    assert answers == ["bad_json", "bad_json", "rate_limited", "rate_limited"]
    s.close()
    assert metrics(limited.http)['intake_rate_limited_total{kind="tcp"}'] >= 2


@pytest.mark.parametrize("flags,fragment", [
    (["--max-connections-per-ip", "-3"], "--max-connections-per-ip: '-3'"),
    (["--ws-rate-limit", "lots"], "--ws-rate-limit: 'lots' is not a rate"),
    (["--tcp-rate-burst", "0"], "--tcp-rate-burst: '0'"),
    (["--max-open-sessions", "5", "--max-open-sessions-per-citizen", "6"], "must not exceed --max-open-sessions"),
])
def test_bad_limits_stop_start_up_with_exit_2(flags, fragment):
    r = subprocess.run([binary(), "serve", "--data-dir", tempfile.mkdtemp(), "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", *flags],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert fragment in r.stderr, r.stderr


def test_open_session_limit_refuses_new_sessions_but_not_open_ones(tmp_path):
    import json as _json
    import socket as _socket
    from conftest import start_broker
    config = tmp_path / "c.json"
    config.write_text(_json.dumps({"apps": [{"account": "lim", "key": "lim-key-0123456789"}], "maxOpenSessions": 2,
                                   "maxOpenSessionsPerCitizen": 1}))
    b = start_broker("--config", str(config))
    try:
        host, port = b.tcp.rsplit(":", 1)
        with _socket.create_connection((host, int(port)), timeout=20) as s:
            f = s.makefile("rwb")
            f.write(b'{"type":"auth","account":"lim","key":"lim-key-0123456789"}\n')
            for i, citizen in enumerate(["u1", "u2", "u3", "u1"]):
                f.write(_json.dumps({"channel": "app", "account": "lim", "channelMessageId": f"m{i}", "citizen": citizen,
                                     "kind": "text", "text": "你好"}).encode() + b"\n")
            f.flush()
            f.readline()
            answers = [_json.loads(f.readline()) for _ in range(4)]
        assert "ack" in answers[0] and "ack" in answers[1]
        assert answers[2].get("error") == "unavailable", answers[2]  # a third session: the broker is full
        assert "ack" in answers[3] and answers[3]["session"] == answers[0]["session"]  # u1's open session still takes messages
    finally:
        b.stop()
