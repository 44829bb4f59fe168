"""App webhook delivery (docs/PROTOCOL.md "App webhooks") against a real local receiver
(Python's http.server): an agent's reply in an `app` session is POSTed to the account's webhook,
signed with HMAC-SHA256 (checked here with Python's hmac), retried after 503 answers, and kept
across a SIGKILL of the broker: the restarted broker delivers it, once (the receiver dedupes on
X-Intake-Delivery and sees one accepted delivery per id), and never again after it was recorded."""
import asyncio
import hashlib
import hmac
import json
import os
import signal
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import websockets

from conftest import start_broker
from test_conversation_interop import AGENTS, expect, run

KEY = "app-webhook-test-key"


class Receiver:
    """A webhook receiver: verifies signatures, answers `fail` 503s first, dedupes by delivery id."""

    def __init__(self, fail=0):
        self.fail = fail
        self.requests = []      # (delivery id, attempt header, status answered)
        self.accepted = {}      # delivery id -> body (first accepted)
        self.bad = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                sig = dict(p.split("=", 1) for p in self.headers["X-Intake-Signature"].split(","))
                expected = hmac.new(KEY.encode(), sig["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
                delivery = self.headers["X-Intake-Delivery"]
                with receiver.lock:
                    if not hmac.compare_digest(expected, sig["v1"]) or abs(time.time() - int(sig["t"])) > 300:
                        receiver.bad.append(delivery)
                        status = 401
                    elif receiver.fail > 0:
                        receiver.fail -= 1
                        status = 503
                    else:
                        status = 200
                        receiver.accepted.setdefault(delivery, json.loads(body))
                    receiver.requests.append((delivery, self.headers.get("X-Intake-Attempt"), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/replies"

    def wait(self, predicate, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                if predicate():
                    return True
            time.sleep(0.05)
        return False


def write_config(tmp_path, receiver):
    agents = tmp_path / "agents.json"
    agents.write_text(json.dumps(AGENTS))
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"agents": str(agents),
                                  "apps": [{"account": "cityapp", "key": KEY, "webhook": receiver.url}]}))
    return str(config)


def ingest(broker, mid, text):
    req = urllib.request.Request(f"http://{broker.http}/api/v1/messages", method="POST",
                                 data=json.dumps({"channel": "app", "account": "cityapp", "channelMessageId": mid,
                                                  "citizen": "user-42", "kind": "text", "text": text}).encode(),
                                 headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 202
        return json.loads(r.read())


async def agent_hello(broker):
    ws = await websockets.connect(broker.ws_base + "/ws/agent", compression=None)
    await ws.send(json.dumps({"type": "hello", "token": "interop-token-a1"}))
    return ws, await expect(ws, "welcome")


def metric(broker, line_prefix):
    with urllib.request.urlopen(f"http://{broker.http}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(line_prefix):
                return float(line.rsplit(" ", 1)[1])
    return None


def test_app_replies_reach_the_webhook_signed_retried_and_across_a_crash(tmp_path):
    receiver = Receiver(fail=2)
    config = write_config(tmp_path, receiver)
    first = start_broker("--config", config)
    state = {}
    try:
        async def converse():
            agent, _ = await agent_hello(first)
            got = ingest(first, "app-1", "小区门口的井盖丢了")
            offer = await expect(agent, "offer")
            await agent.send(json.dumps({"type": "accept", "offer": offer["offer"]}))
            await expect(agent, "assigned")
            await agent.send(json.dumps({"type": "send", "session": got["session"], "text": "已派人处理", "clientId": "r1"}))
            sent = await expect(agent, "sent")
            state.update(session=got["session"], reply=sent["id"])
            await agent.close()

        run(converse())
        # Two attempts answered 503 (1 s apart), then the broker dies before the next one.
        assert receiver.wait(lambda: len(receiver.requests) >= 2)
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(10)
        assert receiver.accepted == {}
        assert [r[2] for r in receiver.requests] == [503, 503]
        assert {r[0] for r in receiver.requests} == {state["reply"]}
    finally:
        if first.proc.poll() is None:
            first.proc.kill()

    second = start_broker("--config", config, "--data-dir", first.data_dir)
    try:
        assert receiver.wait(lambda: state["reply"] in receiver.accepted)
        body = receiver.accepted[state["reply"]]
        assert body["type"] == "reply" and body["session"] == state["session"] and body["account"] == "cityapp"
        assert body["citizen"] == "user-42" and body["from"] == "agent" and body["text"] == "已派人处理"
        assert body["agentName"] == "Ann"

        async def again():
            agent, welcome = await agent_hello(second)
            assert welcome["sessions"] == [state["session"]]
            await agent.send(json.dumps({"type": "send", "session": state["session"], "text": "处理完毕", "clientId": "r2"}))
            state["reply2"] = (await expect(agent, "sent", skip=("queue", "assigned", "message")))["id"]
            await agent.close()

        run(again())
        assert receiver.wait(lambda: state["reply2"] in receiver.accepted)
        assert metric(second, 'intake_outbound_deliveries_total{channel="app",result="delivered"}') == 2
        assert metric(second, 'intake_outbound_pending{channel="app"}') == 0
        assert second.stop() == 0
    finally:
        if second.proc.poll() is None:
            second.proc.kill()

    # Both deliveries were recorded: a third start sends nothing.
    seen = len(receiver.requests)
    third = start_broker("--config", config, "--data-dir", first.data_dir)
    try:
        time.sleep(1.5)
        assert len(receiver.requests) == seen
        assert third.stop() == 0
    finally:
        if third.proc.poll() is None:
            third.proc.kill()
    assert receiver.bad == []
    for delivery in (state["reply"], state["reply2"]):
        assert sum(1 for r in receiver.requests if r[0] == delivery and r[2] == 200) == 1
    receiver.server.shutdown()
