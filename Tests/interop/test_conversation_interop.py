"""An end-to-end conversation with Python's `websockets` library as both the agent's desktop
client (/ws/agent) and the citizen's widget (/ws/widget), across a restart of the built broker:
offer, accept, replies both ways with sequence numbers and acknowledgements, the broker
stopped with SIGTERM and started again on the same data directory, the agent and the citizen
finding their conversation again, and the close reaching the citizen. Also: a bad `routing`
section stops the broker with exit 2 and one line."""
import asyncio
import json
import os
import subprocess
import urllib.request

import websockets

from conftest import start_broker
from test_cli import BIN

AGENTS = [{"id": "a1", "name": "Ann", "skills": {"general": 3}, "capacity": {"chat": 2}, "token": "interop-token-a1"}]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


async def expect(ws, kind, skip=("queue",)):
    """The next frame of type `kind`, skipping the types in `skip`."""
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == kind:
            return frame
        assert frame["type"] in skip, f"expected {kind}, got {frame}"


async def agent_hello(broker):
    ws = await websockets.connect(broker.ws_base + "/ws/agent", compression=None)
    await ws.send(json.dumps({"type": "hello", "token": "interop-token-a1"}))
    return ws, await expect(ws, "welcome")


async def widget_hello(broker, resume=None):
    ws = await websockets.connect(broker.ws_base + "/ws/widget", compression=None)
    hello = {"type": "hello"}
    if resume:
        hello["resume"] = resume
    await ws.send(json.dumps(hello))
    return ws, await expect(ws, "welcome")


def test_a_conversation_survives_a_restart(tmp_path):
    agents = tmp_path / "agents.json"
    agents.write_text(json.dumps(AGENTS))
    # The agents' side of a conversation: the FAQ bot (on for web in the demo defaults) stays out.
    no_bot = tmp_path / "no-bot.json"
    no_bot.write_text(json.dumps({"bot": {"enabled": False}}))
    first = start_broker("--agents", str(agents), "--config", str(no_bot))
    state = {}

    async def before():
        agent, welcome = await agent_hello(first)
        assert welcome["agent"] == "a1" and welcome["sessions"] == []
        citizen, hi = await widget_hello(first)
        assert hi["session"] is None and len(hi["resume"]) == 32
        await citizen.send(json.dumps({"type": "message", "clientId": "c1", "text": "路灯坏了，在人民路 12 号"}))
        ack = await expect(citizen, "ack")
        session = ack["session"]
        offer = await expect(agent, "offer")
        assert offer["session"] == session and offer["preview"].startswith("路灯坏了")
        await agent.send(json.dumps({"type": "accept", "offer": offer["offer"]}))
        assigned = await expect(agent, "assigned")
        assert [m["text"] for m in assigned["history"]] == ["路灯坏了，在人民路 12 号"]
        assert (await expect(citizen, "assigned"))["agentName"] == "Ann"
        await agent.send(json.dumps({"type": "send", "session": session, "text": "已登记，请问灯杆编号？", "clientId": "r1"}))
        sent = await expect(agent, "sent")
        reply = await expect(citizen, "message")
        assert reply == {"type": "message", "session": session, "from": "agent", "text": "已登记，请问灯杆编号？", "id": sent["id"]}
        await citizen.send(json.dumps({"type": "message", "clientId": "c2", "text": "编号 A-0312"}))
        await expect(citizen, "ack")
        pushed = await expect(agent, "message")
        assert pushed["seq"] == 2 and pushed["envelope"]["text"] == "编号 A-0312"
        # Not acknowledged: it must come again after the restart.
        state.update(session=session, resume=hi["resume"], visitor=hi["visitor"], reply=sent["id"])
        await agent.close()
        await citizen.close()

    run(before())
    assert first.stop() == 0
    second = start_broker("--agents", str(agents), "--config", str(no_bot), "--data-dir", first.data_dir)
    try:
        async def after():
            agent, welcome = await agent_hello(second)
            assert welcome["sessions"] == [state["session"]]
            assigned = await expect(agent, "assigned")
            assert assigned["seq"] == 1 and [h["text"] for h in assigned["history"]] == ["路灯坏了，在人民路 12 号", "已登记，请问灯杆编号？"]
            again = await expect(agent, "message")
            assert again["seq"] == 2 and again["envelope"]["text"] == "编号 A-0312"
            await agent.send(json.dumps({"type": "ack", "session": state["session"], "upTo": 2}))
            citizen, hi = await widget_hello(second, resume=state["resume"])
            assert hi["resumed"] is True and hi["visitor"] == state["visitor"] and hi["session"] == state["session"]
            assert (await expect(citizen, "assigned"))["agentName"] == "Ann"
            # The reply it already had comes again (no `after` given); the widget drops repeats by id.
            assert (await expect(citizen, "message"))["id"] == state["reply"]
            await agent.send(json.dumps({"type": "close", "session": state["session"], "disposition": "已派单"}))
            assert (await expect(agent, "closed"))["session"] == state["session"]
            closed = await expect(citizen, "closed")
            assert closed["session"] == state["session"]
            await agent.close()
            await citizen.close()

        run(after())
        assert second.stop() == 0
    finally:
        if second.proc.poll() is None:
            second.proc.kill()


def test_the_faq_bot_answers_a_widget_question_and_hands_over_on_request(tmp_path):
    """The demo defaults: the bot answers web first, from the repo's sample knowledge base."""
    kb = [json.loads(line) for line in open(os.path.join(os.path.dirname(__file__), "../../Ops/samples/kb.jsonl"), encoding="utf-8")]
    agents = tmp_path / "agents.json"
    agents.write_text(json.dumps(AGENTS))
    broker = start_broker("--agents", str(agents))
    try:
        async def talk():
            agent, _ = await agent_hello(broker)
            citizen, _ = await widget_hello(broker)
            await citizen.send(json.dumps({"type": "message", "clientId": "c1", "text": kb[0]["question"]}))
            await expect(citizen, "ack")
            answer = await expect(citizen, "message")
            assert answer["from"] == "bot" and answer["text"] == kb[0]["answer"] and answer["id"].startswith("m")
            await citizen.send(json.dumps({"type": "message", "clientId": "c2", "text": "我要转人工"}))
            await expect(citizen, "ack")
            notice = await expect(citizen, "message")
            assert notice["from"] == "bot" and "人工" in notice["text"]
            offer = await expect(agent, "offer")
            assert offer["botReason"] == "askedForPerson" and len(offer["botSuggestions"]) == 3
            assert [t["from"] for t in offer["botTranscript"]] == ["citizen", "bot", "citizen"]
            await agent.send(json.dumps({"type": "accept", "offer": offer["offer"]}))
            assigned = await expect(agent, "assigned")
            assert assigned["botTranscript"] == offer["botTranscript"]
            await agent.close()
            await citizen.close()

        run(talk())
        with urllib.request.urlopen(f"http://{broker.http}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        assert 'intake_bot_replies_total{outcome="answered"} 1' in metrics
        assert 'intake_bot_replies_total{outcome="handed_off"} 1' in metrics
        assert "intake_knowledge_base_entries 400" in metrics
    finally:
        assert broker.stop() == 0


def test_a_bad_routing_section_exits_2_with_one_line(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"routing": {"offerTimeoutSeconds": -5, "rules": [{"name": "x", "priority": 42}]}}))
    r = subprocess.run([BIN, "serve", "--config", str(cfg), "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0",
                        "--data-dir", str(tmp_path / "d")], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert "routing.offerTimeoutSeconds" in lines[0] and "routing.rules[0].priority" in lines[0]
