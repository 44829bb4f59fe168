"""Later replies to WeChat citizens through the customer-service API, against a mock of the WeChat
API served over HTTPS (a self-signed certificate the broker trusts through SSL_CERT_FILE): the
access token is fetched, refreshed when the API says it expired (40001), the agent's reply
reaches the mock with the citizen's OpenID; a reply refused with 45015 (outside the 48-hour
window) ends, and the agent is told."""
import asyncio
import base64
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import websockets

from conftest import start_broker_env

HERE = os.path.dirname(__file__)
APPID = "wx5d3c1a2b4e6f7089"


class MockWeChat(http.server.BaseHTTPRequestHandler):
    tokens, sends, plan = [], [], []

    def log_message(self, *a):
        pass

    def _json(self, obj):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        assert self.path.startswith("/cgi-bin/token"), self.path
        assert q["appid"] == [APPID] and q["secret"] == ["testsecret0123456789"]
        token = f"T{len(MockWeChat.tokens) + 1}"
        MockWeChat.tokens.append(token)
        self._json({"access_token": token, "expires_in": 7200})

    def do_POST(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        MockWeChat.sends.append((q["access_token"][0], body))
        answer = MockWeChat.plan.pop(0) if MockWeChat.plan else {"errcode": 0, "errmsg": "ok"}
        self._json(answer)


def _https_mock(work):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{work}/k.pem", "-out", f"{work}/c.pem",
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), MockWeChat)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(f"{work}/c.pem", f"{work}/k.pem")
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_replies_go_through_the_customer_service_api_over_https():
    work = tempfile.mkdtemp(prefix="intake-wxout-")
    mock = _https_mock(work)
    MockWeChat.tokens, MockWeChat.sends = [], []
    MockWeChat.plan = [{"errcode": 40001, "errmsg": "invalid credential"}, {"errcode": 0, "errmsg": "ok"},
                       {"errcode": 45015, "errmsg": "response out of time limit"}]
    token = "tok" + base64.b16encode(os.urandom(6)).decode().lower()
    aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    with open(f"{work}/agents.json", "w") as f:
        json.dump([{"id": "a1", "name": "Ann", "skills": {"general": 3}, "capacity": {"chat": 2}, "token": "wxout-token-a1"}], f)
    with open(f"{work}/c.json", "w") as f:
        json.dump({"agents": f"{work}/agents.json", "bot": {"enabled": False},
                   "wechat": [{"account": "main", "appid": APPID, "token": "env:WX_TOKEN", "aesKey": "env:WX_AES_KEY",
                               "secret": "env:WX_SECRET", "mode": "safe",
                               "apiBase": f"https://localhost:{mock.server_address[1]}"}]}, f)
    b = start_broker_env({"WX_TOKEN": token, "WX_AES_KEY": aes_key, "WX_SECRET": "testsecret0123456789",
                          "SSL_CERT_FILE": f"{work}/c.pem"}, "--config", f"{work}/c.json")
    try:
        ts = str(int(time.time()))
        made = subprocess.run([sys.executable, os.path.join(HERE, "wechat/make_inbound.py"), "--token", token, "--aes-key", aes_key,
                               "--appid", APPID, "--openid", "oUser_0123456789", "--original-id", "gh_0123456789ab",
                               "--timestamp", ts], capture_output=True, text=True, timeout=60, check=True)
        first = json.loads(made.stdout)[0]
        req = urllib.request.Request(f"http://{b.http}/wechat/main?" + urllib.parse.urlencode(first["query"]),
                                     data=first["body"].encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.read() == b"success"

        async def agent():
            ws = await websockets.connect(f"ws://{b.http}/ws/agent")
            await ws.send(json.dumps({"type": "hello", "token": "wxout-token-a1"}))
            session = None
            while True:
                f = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if f["type"] == "offer":
                    await ws.send(json.dumps({"type": "accept", "offer": f["offer"]}))
                if f["type"] == "assigned":
                    session = f["session"]
                    break
            await ws.send(json.dumps({"type": "send", "session": session, "text": "您好，已收到您的反映。", "clientId": "c1"}))
            deadline = time.time() + 20
            while time.time() < deadline and len(MockWeChat.sends) < 2:
                await asyncio.sleep(0.1)
            await ws.send(json.dumps({"type": "send", "session": session, "text": "还在吗？", "clientId": "c2"}))
            while True:
                f = json.loads(await asyncio.wait_for(ws.recv(), 20))
                if f["type"] == "error" and f["code"] == "outside_48h":
                    assert f["session"] == session
                    break
            await ws.close()

        asyncio.run(agent())
        # 40001 → a new token, the same reply again; then the second reply refused with 45015
        assert MockWeChat.tokens == ["T1", "T2"], MockWeChat.tokens
        assert [t for t, _ in MockWeChat.sends] == ["T1", "T2", "T2"]
        assert MockWeChat.sends[1][1] == {"touser": "oUser_0123456789", "msgtype": "text", "text": {"content": "您好，已收到您的反映。"}}
        with urllib.request.urlopen(f"http://{b.http}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        assert 'intake_outbound_deliveries_total{channel="wechat",result="delivered"} 1' in metrics
        assert 'intake_outbound_deliveries_total{channel="wechat",result="outside_48h"} 1' in metrics
    finally:
        b.stop()
        mock.shutdown()
