"""Crash test under mixed load: the built broker is SIGKILLed 20 times at random moments while
three NDJSON producers (pipelining windows of 8 lines), two HTTP producers (keep-alive, one POST
at a time) and two WebSocket echo clients work against it, and restarted on the same data
directory each time. After each restart the messages that were in flight at the kill (sent,
never answered) are sent again with the same channelMessageId: each is answered once, as a
duplicate if the broker had stored it. At the end, with the broker stopped, `intake export
--unmasked` must hold every acknowledged message exactly once with the id and session it was
acknowledged with and its fields intact, no channelMessageId twice, each producer's new messages
in acknowledgement order, and the admin queue view in service order. Complements
test_crash.py (12 kills, NDJSON only). The seed is printed; INTAKE_CRASH_SEED=<n> replays it."""
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from websockets.sync.client import connect as ws_connect

from conftest import start_broker

APP_KEY = "mixed-crash-key-0123456789"
ADMIN = "mixed-crash-admin-0123456789"
KILLS = 20
TCP_PRODUCERS = 3
HTTP_PRODUCERS = 2
WS_CLIENTS = 2
WINDOW = 8
DEADLINE_S = 110


def binary():
    return os.environ.get("INTAKE_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/intake"))


class Producer:
    """One producer's ledger across all rounds: what was acknowledged (in order) and what was
    in flight when its connection died."""

    def __init__(self, name, priority):
        self.name, self.priority = name, priority
        self.next_n = 0
        self.acked = []        # (cmid, id, session, duplicate) in acknowledgement order
        self.in_flight = []    # messages sent and never answered (the broker died first)

    def message(self, n):
        return {"channel": "app", "account": "mixapp", "channelMessageId": f"{self.name}-{n}",
                "citizen": f"{self.name}-cit{n % 3}", "kind": "text", "priority": self.priority,
                "text": f"message {n} of {self.name}"}


def tcp_connect(tcp):
    host, port = tcp.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    f = s.makefile("rb")
    s.sendall(json.dumps({"type": "auth", "account": "mixapp", "key": APP_KEY}).encode() + b"\n")
    assert json.loads(f.readline())["type"] == "authenticated"
    return s, f


def record(p, msg, answer, id_key, problems):
    if id_key not in answer:
        problems.append(f"{msg['channelMessageId']}: {answer}")
        return
    p.acked.append((msg["channelMessageId"], answer[id_key], answer["session"], answer["duplicate"]))


def tcp_round(p, tcp, stop, problems):
    """Windows of WINDOW lines until the connection dies or `stop`; unanswered lines go to in_flight."""
    try:
        s, f = tcp_connect(tcp)
    except (OSError, ValueError):
        return
    try:
        while not stop.is_set():
            batch = [p.message(p.next_n + i) for i in range(WINDOW)]
            p.next_n += WINDOW
            p.in_flight.extend(batch)
            s.sendall(b"".join(json.dumps(m).encode() + b"\n" for m in batch))
            for m in batch:
                line = f.readline()
                if not line:
                    return
                p.in_flight.remove(m)
                answer = json.loads(line)
                record(p, m, answer, "ack", problems)
                if answer.get("duplicate") is not False:
                    problems.append(f"new message {m['channelMessageId']} answered {answer}")
    except (OSError, ValueError):
        pass
    finally:
        s.close()


def http_post(conn, msg):
    body = json.dumps(msg).encode()
    conn.request("POST", "/api/v1/messages", body=body,
                 headers={"Authorization": f"Bearer {APP_KEY}", "Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"{}")


def http_round(p, http_addr, stop, problems):
    host, port = http_addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        while not stop.is_set():
            m = p.message(p.next_n)
            p.next_n += 1
            p.in_flight.append(m)
            status, answer = http_post(conn, m)
            p.in_flight.remove(m)
            if status == 429:  # over the connection's rate: not processed, send it again later
                p.in_flight.append(m)
                time.sleep(0.05)
                continue
            if status != 202:
                problems.append(f"{m['channelMessageId']}: HTTP {status} {answer}")
                continue
            record(p, m, answer, "id", problems)
            if answer.get("duplicate") is not False:
                problems.append(f"new message {m['channelMessageId']} answered {answer}")
    except (OSError, http.client.HTTPException, ValueError):
        pass
    finally:
        conn.close()


def ws_round(i, url, stop, counts, problems):
    """Echo round trips until the broker dies; every echo must be exactly what was sent."""
    n = 0
    try:
        with ws_connect(url, open_timeout=3, close_timeout=0.2, max_size=1 << 20) as ws:
            while not stop.is_set():
                text = f"ws{i} echo {n} " + "x" * (n % 200)
                ws.send(text)
                got = ws.recv(timeout=5)
                if got != text:
                    problems.append(f"ws{i}: sent {text[:30]!r}, got {got[:60]!r}")
                    return
                counts[i] += 1
                n += 1
                time.sleep(0.06)  # within the default WebSocket rate (20 a second)
    except Exception:  # the broker was killed: any of websockets' connection errors
        pass


def resend_in_flight(broker, producers, problems):
    """Messages that got no answer before the kill are sent again, once each, and answered."""
    s, f = tcp_connect(broker.tcp)
    host, port = broker.http.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    resent = 0
    for p in producers:
        pending, p.in_flight = p.in_flight, []
        for m in pending:
            if p.name.startswith("tcp"):
                s.sendall(json.dumps(m).encode() + b"\n")
                record(p, m, json.loads(f.readline()), "ack", problems)
            else:
                status, answer = http_post(conn, m)
                if status != 202:
                    problems.append(f"resent {m['channelMessageId']}: HTTP {status} {answer}")
                    continue
                record(p, m, answer, "id", problems)
            resent += 1
    s.close()
    conn.close()
    return resent


def check_acked_repeats(broker, producers, rng, context):
    """A sample of acknowledged messages sent again: duplicates with the same id and session."""
    s, f = tcp_connect(broker.tcp)
    everything = [(p, a) for p in producers if p.name.startswith("tcp") for a in p.acked]
    for p, (cmid, mid, session, _) in rng.sample(everything, min(5, len(everything))):
        n = int(cmid.rsplit("-", 1)[1])
        s.sendall(json.dumps(p.message(n)).encode() + b"\n")
        answer = json.loads(f.readline())
        assert answer.get("duplicate") is True and answer["ack"] == mid and answer["session"] == session, \
            f"resent acknowledged {cmid}: {answer} {context}"
    s.close()


def echo_path(broker):
    """/ws/echo where it exists; before it did, /ws/widget was the echo."""
    host, port = broker.http.rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    c.request("GET", "/ws/echo")
    status = c.getresponse().status
    c.close()
    return "/ws/echo" if status != 404 else "/ws/widget"


def test_acknowledged_messages_survive_sigkill_under_mixed_load():
    seed = int(os.environ.get("INTAKE_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    context = f"(seed {seed}; rerun with INTAKE_CRASH_SEED={seed})"
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    # HTTP producers post in a closed loop, faster than the default 100 requests a second.
    json.dump({"apps": [{"account": "mixapp", "key": APP_KEY}], "adminToken": ADMIN, "httpRateLimit": 2000}, config)
    config.close()
    data_dir = tempfile.mkdtemp(prefix="intake-crash-mixed-")
    producers = [Producer(f"tcp{i}", i) for i in range(TCP_PRODUCERS)] + \
                [Producer(f"http{i}", TCP_PRODUCERS + i) for i in range(HTTP_PRODUCERS)]
    problems, echoes = [], [0] * WS_CLIENTS
    started = time.monotonic()
    broker, path, resent_total = None, None, 0
    for round_no in range(KILLS + 1):
        assert time.monotonic() - started < DEADLINE_S, f"crash test took too long {context}"
        broker = start_broker("--config", config.name, "--data-dir", data_dir)
        path = path or echo_path(broker)
        resent_total += resend_in_flight(broker, producers, problems)
        if round_no > 0:
            check_acked_repeats(broker, producers, rng, context)
        if round_no == KILLS:
            break
        stop = threading.Event()
        threads = [threading.Thread(target=tcp_round, args=(p, broker.tcp, stop, problems)) for p in producers[:TCP_PRODUCERS]]
        threads += [threading.Thread(target=http_round, args=(p, broker.http, stop, problems)) for p in producers[TCP_PRODUCERS:]]
        threads += [threading.Thread(target=ws_round, args=(i, f"ws://{broker.http}{path}", stop, echoes, problems))
                    for i in range(WS_CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.6))
        broker.proc.send_signal(signal.SIGKILL)
        broker.proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
            assert not t.is_alive(), f"a client hung after the kill {context}"
    assert not problems, f"{problems[:5]} {context}"

    req = urllib.request.Request(f"http://{broker.http}/api/v1/queues?limit=100000",
                                 headers={"Authorization": f"Bearer {ADMIN}"})
    queues = json.loads(urllib.request.urlopen(req, timeout=5).read())["queues"]
    assert broker.stop() == 0, f"SIGTERM did not exit 0 {context}"

    out = subprocess.run([binary(), "export", "--data-dir", data_dir, "--format", "jsonl", "--unmasked"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    stored = [json.loads(line) for line in out.stdout.splitlines()]
    by_cmid = {}
    for e in stored:
        assert e["channelMessageId"] not in by_cmid, f"{e['channelMessageId']} stored twice {context}"
        by_cmid[e["channelMessageId"]] = e
    total = 0
    for p in producers:
        new_ids = []
        seen = set()
        for cmid, mid, session, duplicate in p.acked:
            assert cmid not in seen, f"{cmid} acknowledged twice {context}"
            seen.add(cmid)
            total += 1
            e = by_cmid.get(cmid)
            assert e is not None, f"acknowledged {cmid} ({mid}) is missing {context}"
            assert e["id"] == mid and e["session"] == session, f"{cmid}: stored {e['id']}/{e['session']}, acked {mid}/{session} {context}"
            n = int(cmid.rsplit("-", 1)[1])
            expected = p.message(n)
            for k in ("text", "priority", "citizen", "channel", "account"):
                assert e[k] == expected[k], f"{cmid} changed: {k}={e[k]!r} {context}"
            if not duplicate:
                new_ids.append(mid)
        assert new_ids == sorted(new_ids), f"{p.name}: stored order differs from acknowledgement order {context}"
        # Every stored message of this producer was acknowledged (the unanswered ones were sent
        # again after the restart and answered then).
        mine = {c for c in by_cmid if c.startswith(p.name + "-")}
        assert mine == seen, f"{p.name}: stored but never acknowledged: {sorted(mine - seen)[:5]} {context}"
    assert total >= KILLS * len(producers), f"too few acknowledgements ({total}) to test anything {context}"
    assert sum(echoes) >= KILLS, f"too few WebSocket echoes ({echoes}) {context}"

    waiting = [w for q in queues for w in q["sessions"]]
    sessions = {e["session"] for e in stored}
    assert {w["session"] for w in waiting} <= sessions, f"queue holds sessions never stored {context}"
    for q in queues:
        order = [(-w["priority"], w["enqueuedAt"]) for w in q["sessions"]]
        assert order == sorted(order), f"queue {q['name']} not in service order {context}"
    elapsed = time.monotonic() - started
    by_kind = {k: sum(len(p.acked) for p in producers if p.name.startswith(k)) for k in ("tcp", "http")}
    print(f"mixed crash test: {KILLS} kills in {elapsed:.1f} s, {total} acknowledged "
          f"(NDJSON {by_kind['tcp']}, HTTP {by_kind['http']}; "
          f"{sum(len([a for a in p.acked if a[3]]) for p in producers)} of them as duplicates of in-flight "
          f"messages stored before a kill), {resent_total} resent after kills, {len(stored)} stored, "
          f"{sum(echoes)} WebSocket echoes {context}")
