"""The call centre's feed over real TCP against the built broker: a recorded call (partials,
an out-of-order segment, a resent final), an agent with voice capacity (Python websockets)
accepts the call's offer, and the `assign` line comes back on the call centre's connection;
finals are stored once each (callId:seq), partials never; one session per call."""
import asyncio
import json
import os
import socket
import subprocess
import tempfile

import websockets

from conftest import start_broker

BIN = os.environ.get("INTAKE_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/intake"))
HERE = os.path.dirname(__file__)


def _broker():
    work = tempfile.mkdtemp(prefix="intake-phone-")
    with open(os.path.join(work, "agents.json"), "w") as f:
        json.dump([{"id": "v1", "name": "李强", "skills": {"general": 3}, "capacity": {"chat": 2, "voice": 1},
                    "token": "phone-test-token-v1"}], f)
    with open(os.path.join(work, "c.json"), "w") as f:
        json.dump({"agents": os.path.join(work, "agents.json"), "apps": [{"account": "12345-main", "key": "cc-key-0123456789"}]}, f)
    return start_broker("--config", os.path.join(work, "c.json"))


def _lines(call_id, caller):
    return [
        {"type": "call_start", "callId": call_id, "caller": caller, "trunk": "12345-main"},
        {"type": "segment", "callId": call_id, "seq": 1, "speaker": "ivr", "text": "请说出您要反映的问题", "final": True},
        {"type": "segment", "callId": call_id, "seq": 2, "speaker": "caller", "text": "我家楼下", "final": False},
        {"type": "segment", "callId": call_id, "seq": 3, "speaker": "caller", "text": "路灯坏了好几天", "final": True},
        {"type": "segment", "callId": call_id, "seq": 2, "speaker": "caller", "text": "我家楼下的路口", "final": True},
        {"type": "segment", "callId": call_id, "seq": 2, "speaker": "caller", "text": "我家楼下的路口", "final": True},
    ]


def test_a_call_reaches_an_agent_and_the_assignment_comes_back_on_the_feed():
    b = _broker()
    try:
        host, port = b.tcp.rsplit(":", 1)
        feed = socket.create_connection((host, int(port)), timeout=20)
        f = feed.makefile("rwb")
        f.write(b'{"type":"auth","account":"12345-main","key":"cc-key-0123456789"}\n')
        lines = _lines("c-1", "13812341234")
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
        f.flush()
        assert json.loads(f.readline())["type"] == "authenticated"
        answers = [json.loads(f.readline()) for _ in lines]
        assert "ack" in answers[0] and answers[1]["duplicate"] is False
        assert answers[2] == {"partial": True, "callId": "c-1", "seq": 2, "stored": False}
        assert answers[3]["duplicate"] is False and answers[4]["duplicate"] is False
        assert answers[5]["duplicate"] is True, "a resent final is a repeat"
        session = answers[0]["session"]
        assert all(a.get("session", session) == session for a in answers), "one session per call"

        async def agent():
            ws = await websockets.connect(f"ws://{b.http}/ws/agent")
            await ws.send(json.dumps({"type": "hello", "token": "phone-test-token-v1"}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if frame["type"] == "offer":
                    assert frame["session"] == session
                    await ws.send(json.dumps({"type": "accept", "offer": frame["offer"]}))
                if frame["type"] == "assigned":
                    await ws.close()
                    return frame
        asyncio.run(agent())
        assign = json.loads(f.readline())
        assert assign == {"type": "assign", "callId": "c-1", "session": session, "agent": "v1", "agentName": "李强"}

        # the same caller's second call is a session of its own
        f.write(json.dumps({"type": "call_start", "callId": "c-2", "caller": "13812341234", "trunk": "12345-main"}).encode() + b"\n")
        f.write(b'{"type":"segment","callId":"c-9","seq":1,"speaker":"caller","text":"x","final":true}\n')
        f.write(b'{"type":"call_end","callId":"c-1","reason":"hangup"}\n')
        f.write(b'{"type":"call_start","callId":"c-3","caller":"1","trunk":"other-trunk"}\n')
        f.flush()
        second, unknown, end, forbidden = (json.loads(f.readline()) for _ in range(4))
        assert second["session"] != session
        assert unknown["error"] == "unknown_call" and end["duplicate"] is False and forbidden["error"] == "forbidden"
        feed.close()
    finally:
        b.stop()
    out = subprocess.run([BIN, "export", "--data-dir", b.data_dir, "--unmasked"], capture_output=True, text=True, timeout=60)
    stored = [json.loads(line) for line in out.stdout.splitlines()]
    call1 = [s for s in stored if s["meta"].get("callId") == "c-1"]
    assert [s["channelMessageId"] for s in call1] == ["c-1:start", "c-1:1", "c-1:3", "c-1:2", "c-1:end"]
    assert [s.get("text") for s in call1 if s["kind"] == "transcript"] == ["请说出您要反映的问题", "路灯坏了好几天", "我家楼下的路口"]
    assert all(s["channel"] == "phone" and s["account"] == "12345-main" and s["citizen"] == "13812341234#c-1" for s in call1)
