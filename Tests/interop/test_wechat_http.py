"""The WeChat callback over real HTTP: requests encrypted and signed by wechatpy (an independent
implementation) as WeChat's servers send them in safe mode; the broker answers `success` only
once the message is durable, recognises WeChat's retries as repeats, answers the URL check with
the echostr, and refuses a bad signature without storing anything."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from conftest import start_broker_env

HERE = os.path.dirname(__file__)
BIN = os.environ.get("INTAKE_BIN", os.path.join(HERE, "../../.build/debug/intake"))
APPID = "wx5d3c1a2b4e6f7089"


def _broker(token, aes_key):
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"wechat": [{"account": "main", "appid": APPID, "token": "env:WX_TOKEN", "aesKey": "env:WX_AES_KEY",
                           "secret": "env:WX_SECRET", "mode": "safe"}],
               # These messages are about storage and `success`; the bot's passive replies are tested apart.
               "bot": {"enabled": False}}, config)
    config.close()
    return start_broker_env({"WX_TOKEN": token, "WX_AES_KEY": aes_key, "WX_SECRET": "testsecret0123456789"},
                            "--config", config.name)


def _post(url, body, timeout=10):
    req = urllib.request.Request(url, data=body.encode(), method="POST", headers={"Content-Type": "text/xml"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_wechatpy_requests_are_stored_once_and_answered_success():
    token = "tok" + base64.b16encode(os.urandom(6)).decode().lower()
    aes_key = base64.b64encode(os.urandom(32)).decode().rstrip("=")
    ts = str(int(time.time()))
    made = subprocess.run([sys.executable, os.path.join(HERE, "wechat/make_inbound.py"), "--token", token, "--aes-key", aes_key,
                           "--appid", APPID, "--openid", "oUser_0123456789", "--original-id", "gh_0123456789ab",
                           "--timestamp", ts], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr + " (run Ops/scripts/deps.sh test for wechatpy)"
    requests = json.loads(made.stdout)
    b = _broker(token, aes_key)
    try:
        base = f"http://{b.http}/wechat/main"
        for m in requests:
            status, body = _post(base + "?" + urllib.parse.urlencode(m["query"]), m["body"])
            assert (status, body) == (200, "success"), (m["name"], status, body)
        # WeChat's retry of the first message: answered success again, stored once
        first = requests[0]
        assert _post(base + "?" + urllib.parse.urlencode(first["query"]), first["body"]) == (200, "success")
        # a bad msg_signature: 403, nothing stored
        bad = dict(first["query"], msg_signature="0" * 40)
        status, body = _post(base + "?" + urllib.parse.urlencode(bad), first["body"])
        assert status == 403 and json.loads(body)["error"]
        # the URL check: the echostr, unchanged
        from wechatpy.utils import WeChatSigner
        signer = WeChatSigner()
        signer.add_data(token, ts, "12345")
        q = urllib.parse.urlencode({"signature": signer.signature, "timestamp": ts, "nonce": "12345", "echostr": "echo-8812"})
        with urllib.request.urlopen(f"{base}?{q}", timeout=10) as r:
            assert r.read().decode() == "echo-8812"
        # an account that is not configured
        try:
            urllib.request.urlopen(f"http://{b.http}/wechat/other?{q}", timeout=10)
            assert False, "expected 404"
        except urllib.error.HTTPError as e:
            assert e.code == 404
    finally:
        assert b.stop() == 0
    out = subprocess.run([BIN, "export", "--data-dir", b.data_dir, "--unmasked"], capture_output=True, text=True, timeout=60)
    stored = [json.loads(line) for line in out.stdout.splitlines()]
    assert [s["text"] for s in stored] == [m["content"] for m in requests], "each message once, in order, exactly as sent"
    assert all(s["channel"] == "wechat" and s["account"] == APPID and s["citizen"] == "oUser_0123456789" for s in stored)
