"""Intake's WebSocket server against an independent client: Python's `websockets` library.

Sizes around every length-encoding boundary, binary and text, fragmented messages, pings,
the close handshake, and the close codes for oversized and invalid-UTF-8 messages.
"""
import asyncio
import json
import os
import signal

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

SIZES = [0, 125, 126, 65535, 65536, 1024 * 1024]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, timeout=60))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("path", ["/ws/echo"])
def test_text_and_binary_echo(broker, size, path):
    async def go():
        async with websockets.connect(broker.ws_base + path, max_size=2 * 1024 * 1024, compression=None) as ws:
            text = ("说" * (size // 3)) + ("x" * (size % 3))
            assert len(text.encode()) == size
            await ws.send(text)
            assert await ws.recv() == text
            blob = os.urandom(size)
            await ws.send(blob)
            assert await ws.recv() == blob
    run(go())


def test_fragmented_message_is_reassembled(broker):
    async def go():
        async with websockets.connect(broker.ws_base + "/ws/echo", compression=None) as ws:
            await ws.send(["你好，", "12345 ", "热线"])  # three frames: text + 2 continuations
            assert await ws.recv() == "你好，12345 热线"
            await ws.send([b"\x00\x01", b"", b"\x02"])
            assert await ws.recv() == b"\x00\x01\x02"
    run(go())


def test_ping_is_answered_with_pong(broker):
    async def go():
        async with websockets.connect(broker.ws_base + "/ws/echo", compression=None) as ws:
            for payload in [b"", b"hello", os.urandom(125)]:
                waiter = await ws.ping(payload)
                latency = await asyncio.wait_for(waiter, 5)
                assert latency >= 0
    run(go())


def test_close_handshake_echoes_code(broker):
    async def go():
        ws = await websockets.connect(broker.ws_base + "/ws/echo", compression=None)
        await ws.close(code=1000, reason="bye")
        assert ws.close_code == 1000
        assert ws.state.name == "CLOSED"
    run(go())


def test_oversized_message_closes_with_1009(broker):
    async def go():
        async with websockets.connect(broker.ws_base + "/ws/echo", max_size=None, compression=None) as ws:
            await ws.send(b"x" * (1024 * 1024 + 1))
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    run(go())


def test_invalid_utf8_text_closes_with_1007(broker):
    async def go():
        async with websockets.connect(broker.ws_base + "/ws/echo", compression=None) as ws:
            await ws.send(b"\xc3\x28 not utf-8", text=True)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd is not None and info.value.rcvd.code == 1007
    run(go())


def test_many_clients_at_once(broker):
    async def client(i):
        async with websockets.connect(broker.ws_base + "/ws/echo", compression=None) as ws:
            for n in range(20):
                msg = f"client {i} message {n}"
                await ws.send(msg)
                assert await ws.recv() == msg

    async def go():
        await asyncio.gather(*(client(i) for i in range(100)))
    run(go())


def test_sigterm_closes_clients_with_1001_and_exits_0(broker):
    async def go():
        async with websockets.connect(broker.ws_base + "/ws/echo", compression=None) as ws:
            await ws.send("before")
            assert await ws.recv() == "before"
            broker.proc.send_signal(signal.SIGTERM)
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 10)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    run(go())
    assert broker.proc.wait(timeout=15) == 0


def test_agent_hello_with_the_demo_directory(broker):
    """`intake serve` alone loads Ops/samples/agents.json: its demo token logs in; a wrong one is refused."""
    async def go():
        async with websockets.connect(broker.ws_base + "/ws/agent", compression=None) as ws:
            await ws.send(json.dumps({"type": "hello", "token": "demo-token-a001-not-for-production"}))
            welcome = json.loads(await ws.recv())
            assert welcome["type"] == "welcome" and welcome["agent"] == "a001" and welcome["sessions"] == []
        async with websockets.connect(broker.ws_base + "/ws/agent", compression=None) as ws:
            await ws.send(json.dumps({"type": "hello", "token": "wrong"}))
            assert json.loads(await ws.recv())["code"] == "unauthorized"
            with pytest.raises(ConnectionClosed) as info:
                await asyncio.wait_for(ws.recv(), 10)
            assert info.value.rcvd.code == 1008
    run(go())
    # the refusal is counted
    import urllib.request
    with urllib.request.urlopen(f"http://{broker.http}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    count = [l for l in metrics.splitlines() if l.startswith("intake_auth_failures_total")]
    assert count and float(count[0].split()[-1]) >= 1, count
