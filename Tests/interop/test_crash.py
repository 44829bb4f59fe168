"""Crash test: the built broker under load from several concurrent NDJSON clients is SIGKILLed
at random moments and restarted on the same data directory, again and again. At the end every
acknowledged message is stored exactly once with the id it was acknowledged with, each
client's messages are stored in the order they were acknowledged, repeats of acknowledged
messages are answered "duplicate": true, and the queue is in service order.
The seed is printed on failure; INTAKE_CRASH_SEED=<n> replays a run's choices."""
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

from conftest import start_broker

APP_KEY = "crash-test-key-0123456789"
ADMIN = "crash-admin-token-0123456789"
CLIENTS = 4
KILLS = 12
WINDOW = 8  # lines a client sends before reading their answers


def binary():
    return os.environ.get("INTAKE_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/intake"))


def connect(tcp):
    host, port = tcp.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    f = s.makefile("rb")
    s.sendall(json.dumps({"type": "auth", "account": "crashapp", "key": APP_KEY}).encode() + b"\n")
    assert json.loads(f.readline())["type"] == "authenticated"
    return s, f


def message(client, n):
    # Three citizens per client; the client's number is its citizens' priority.
    return {"channel": "app", "account": "crashapp", "channelMessageId": f"c{client}-{n}",
            "citizen": f"cit{client}-{n % 3}", "kind": "text", "text": f"message {n} of client {client}",
            "priority": client}


def producer(client, tcp, start_n, acked, stop):
    """Sends windows of messages until the connection dies or `stop` is set; records acks."""
    n = start_n
    try:
        s, f = connect(tcp)
        while not stop.is_set():
            batch = [message(client, n + i) for i in range(WINDOW)]
            s.sendall(b"".join(json.dumps(m).encode() + b"\n" for m in batch))
            for m in batch:
                line = f.readline()
                if not line:
                    return n
                answer = json.loads(line)
                assert "ack" in answer, answer
                assert answer["duplicate"] is False, answer
                acked[client].append((m["channelMessageId"], answer["ack"], answer["session"]))
            n += WINDOW
    except (ConnectionError, socket.timeout, OSError, ValueError):
        pass
    return n


def test_acknowledged_messages_survive_sigkill():
    seed = int(os.environ.get("INTAKE_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    context = f"(seed {seed}; rerun with INTAKE_CRASH_SEED={seed})"
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"apps": [{"account": "crashapp", "key": APP_KEY}], "adminToken": ADMIN}, config)
    config.close()
    data_dir = tempfile.mkdtemp(prefix="intake-crash-")
    acked = {c: [] for c in range(CLIENTS)}
    next_n = {c: 0 for c in range(CLIENTS)}
    deadline = time.monotonic() + 60
    broker = None
    for round_no in range(KILLS + 1):
        assert time.monotonic() < deadline, f"crash test took too long {context}"
        broker = start_broker("--config", config.name, "--data-dir", data_dir)
        if round_no > 0:
            # Repeats of messages acknowledged before earlier kills are duplicates, same id.
            s, f = connect(broker.tcp)
            everything = [(c, item) for c in acked for item in acked[c]]
            for c, (cmid, mid, session) in rng.sample(everything, min(5, len(everything))):
                n = int(cmid.split("-")[1])
                s.sendall(json.dumps(message(c, n)).encode() + b"\n")
                answer = json.loads(f.readline())
                assert answer.get("duplicate") is True and answer["ack"] == mid and answer["session"] == session, \
                    f"resent {cmid}: {answer} {context}"
            s.close()
        if round_no == KILLS:
            break
        stop = threading.Event()
        results = {}
        threads = [threading.Thread(target=lambda c=c: results.__setitem__(c, producer(c, broker.tcp, next_n[c], acked, stop)))
                   for c in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.05, 0.6))
        broker.proc.send_signal(signal.SIGKILL)
        broker.proc.wait(timeout=10)
        stop.set()
        for t in threads:
            t.join(timeout=10)
            assert not t.is_alive(), f"a client hung after the kill {context}"
        for c in range(CLIENTS):
            # Messages sent but not acknowledged may or may not be stored: never reuse their ids.
            next_n[c] = results.get(c, next_n[c]) + WINDOW

    # The queue view of the last (live) broker: service order and one entry per citizen.
    req = urllib.request.Request(f"http://{broker.http}/api/v1/queues?limit=100000",
                                 headers={"Authorization": f"Bearer {ADMIN}"})
    queues = json.loads(urllib.request.urlopen(req, timeout=5).read())["queues"]
    assert broker.stop() == 0, f"SIGTERM did not exit 0 {context}"

    out = subprocess.run([binary(), "export", "--data-dir", data_dir, "--format", "jsonl"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    stored = [json.loads(line) for line in out.stdout.splitlines()]
    by_cmid = {}
    for e in stored:
        assert e["channelMessageId"] not in by_cmid, f"{e['channelMessageId']} stored twice {context}"
        by_cmid[e["channelMessageId"]] = e
    total_acked = 0
    for c in range(CLIENTS):
        ids = []
        for cmid, mid, session in acked[c]:
            total_acked += 1
            e = by_cmid.get(cmid)
            assert e is not None, f"acknowledged {cmid} ({mid}) is missing {context}"
            assert e["id"] == mid and e["session"] == session, f"{cmid}: stored {e['id']}/{e['session']}, acked {mid}/{session} {context}"
            n = int(cmid.split("-")[1])
            assert e["text"] == f"message {n} of client {c}" and e["priority"] == c, f"{cmid} changed: {e} {context}"
            ids.append(mid)
        assert ids == sorted(ids), f"client {c}: stored order differs from acknowledgement order {context}"
    assert total_acked >= KILLS * CLIENTS, f"too few acknowledgements ({total_acked}) to test anything {context}"

    assert [q["name"] for q in queues] == ["general"], queues
    waiting = queues[0]["sessions"]
    sessions = {e["session"] for e in stored}
    assert len(waiting) == len(sessions) == queues[0]["depth"], f"queue holds {len(waiting)} of {len(sessions)} sessions {context}"
    assert {w["session"] for w in waiting} == sessions, f"queue and stored sessions differ {context}"
    order = [(-w["priority"], w["enqueuedAt"]) for w in waiting]
    assert order == sorted(order), f"queue not in service order: {waiting} {context}"
    print(f"crash test: {KILLS} kills, {total_acked} acknowledged, {len(stored)} stored {context}")
