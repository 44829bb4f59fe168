"""The admin API over real HTTP with and without the bearer token: agents (and setting an
agent's presence), one session with its routing audit trail, drain, and the `intake agents`
command against the running broker."""
import asyncio
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import websockets

from conftest import start_broker

TOKEN = "admin-token-0123456789"
BIN = os.environ.get("INTAKE_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/intake"))


def _broker():
    work = tempfile.mkdtemp(prefix="intake-admin-")
    with open(os.path.join(work, "agents.json"), "w") as f:
        json.dump([{"id": "a1", "name": "Ann", "skills": {"general": 3}, "capacity": {"chat": 2}, "token": "admin-test-token-a1"}], f)
    with open(os.path.join(work, "c.json"), "w") as f:
        json.dump({"adminToken": TOKEN, "agents": os.path.join(work, "agents.json"),
                   "apps": [{"account": "adm", "key": "adm-key-0123456789"}]}, f)
    return start_broker("--config", os.path.join(work, "c.json"))


def _call(b, method, path, body=None, token=TOKEN):
    req = urllib.request.Request(f"http://{b.http}{path}", method=method, data=None if body is None else json.dumps(body).encode())
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def _ingest(b, mid, citizen):
    host, port = b.tcp.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as s:
        f = s.makefile("rwb")
        f.write(b'{"type":"auth","account":"adm","key":"adm-key-0123456789"}\n')
        f.write(json.dumps({"channel": "app", "account": "adm", "channelMessageId": mid, "citizen": citizen, "kind": "text",
                            "text": "我的电话13812341234"}).encode() + b"\n")
        f.flush()
        f.readline()
        return json.loads(f.readline())


def test_admin_api_needs_the_token():
    b = _broker()
    try:
        for path in ["/api/v1/agents", "/api/v1/sessions/s1", "/api/v1/status", "/api/v1/queues"]:
            assert _call(b, "GET", path, token=None)[0] == 401
            assert _call(b, "GET", path, token="wrong")[0] == 401
        assert _call(b, "POST", "/api/v1/drain", {"drain": True}, token="wrong")[0] == 401
        assert _call(b, "GET", "/api/v1/agents")[0] == 200
    finally:
        b.stop()


def test_agents_presence_sessions_audit_and_drain():
    b = _broker()
    try:
        async def scenario():
            agent = await websockets.connect(f"ws://{b.http}/ws/agent")
            await agent.send(json.dumps({"type": "hello", "token": "admin-test-token-a1"}))
            assert json.loads(await agent.recv())["type"] == "welcome"
            status, agents = _call(b, "GET", "/api/v1/agents")
            a1 = agents["agents"][0]
            assert status == 200 and a1["id"] == "a1" and a1["presence"] == "online" and a1["connected"] is True

            ack = _ingest(b, "m1", "13812341234")
            offer = json.loads(await asyncio.wait_for(agent.recv(), 10))
            assert offer["type"] == "offer"
            await agent.send(json.dumps({"type": "accept", "offer": offer["offer"]}))
            while json.loads(await asyncio.wait_for(agent.recv(), 10))["type"] != "assigned":
                pass
            status, s = _call(b, "GET", f"/api/v1/sessions/{ack['session']}")
            assert status == 200 and s["open"] and s["state"] == "assigned to a1", s
            assert s["citizen"] == "138****1234", "personal data is masked in admin views"
            events = [line["event"] for line in s["audit"]]
            assert events[:4] == ["opened", "queued", "offered", "assigned"], events
            offered = [line for line in s["audit"] if line["event"] == "offered"][0]
            assert offered["agent"] == "a1" and offered["reason"], "the router's reason is in the trail"
            assert _call(b, "GET", "/api/v1/sessions/s-nope")[0] == 404

            # set the agent away: it keeps its session, takes no new offers
            status, a = _call(b, "POST", "/api/v1/agents/a1/presence", {"state": "away"})
            assert status == 200 and a["presence"] == "away"
            assert _call(b, "POST", "/api/v1/agents/zz/presence", {"state": "away"})[0] == 404
            assert _call(b, "POST", "/api/v1/agents/a1/presence", {"state": "sleepy"})[0] == 400
            _call(b, "POST", "/api/v1/agents/a1/presence", {"state": "online"})

            # drain: a new session is held (stored, acknowledged) but not offered until the drain ends
            status, d = _call(b, "POST", "/api/v1/drain", {"drain": True})
            assert status == 200 and d["draining"] is True
            held = _ingest(b, "m2", "u2")
            assert "ack" in held
            try:
                while True:
                    f = json.loads(await asyncio.wait_for(agent.recv(), 1.5))
                    assert f["type"] != "offer", "no offer while draining"
            except asyncio.TimeoutError:
                pass
            _call(b, "POST", "/api/v1/drain", {"drain": False})
            while True:
                f = json.loads(await asyncio.wait_for(agent.recv(), 10))
                if f["type"] == "offer":
                    assert f["session"] == held["session"]
                    break
            await agent.close()

        asyncio.run(scenario())
        r = subprocess.run([BIN, "agents", "--url", f"http://{b.http}", "--token", TOKEN], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.startswith("AGENT") and "a1" in r.stdout and "Ann" in r.stdout, r.stdout + r.stderr
    finally:
        b.stop()
