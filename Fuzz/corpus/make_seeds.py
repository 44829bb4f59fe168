#!/usr/bin/env python3
"""Writes the committed seed corpora of Fuzz/corpus/<target>/ from the test fixtures and small
hand-written valid inputs. Deterministic: run it again after changing a fixture or a harness's
input layout, and commit what changed. (recovery's segment seeds come from a Swift test instead,
so they are real logs: StoreFuzzSeedTests, `INTAKE_UPDATE_FUZZ_SEEDS=1 swift test --filter
StoreFuzzSeedTests`.) Each seed starts with the option bytes its harness reads first; the
harness file (Fuzz/<Name>.swift) documents them.

Usage: python3 Fuzz/corpus/make_seeds.py
"""
import hashlib
import json
import os
import re
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Fuzz", "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def clear(target):
    d = os.path.join(OUT, target)
    if os.path.isdir(d):
        for n in os.listdir(d):
            if not n.startswith("segment-"):  # the Swift test's seeds stay
                os.remove(os.path.join(d, n))


# MARK: http (byte 0: limits, byte 1: chunking seed)
BODY = '{"channel":"app","account":"cityapp","channelMessageId":"c1","citizen":"u1","kind":"text","text":"hi"}'


def http():
    clear("http")
    reqs = {
        "get": "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
        "post-json": "POST /api/v1/messages HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer app-key-0123456789abcdef\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY),
        "chunked-trailers": "POST /api/v1/messages?x=1&y=%E4%BD%A0 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
        "upgrade": "GET /ws/agent HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58",
        "pipelined": "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
        "http10-keepalive": "GET /readyz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        "absolute-form": "GET http://example.org:8080/p/%2Fq?z HTTP/1.1\r\nHost: example.org\r\n\r\n",
        "options-star": "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
        "connect": "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\nraw tunnel bytes",
        "cl-and-te": "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "obs-fold": "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n",
        "empty-lines-first": "\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    }
    for name, r in reqs.items():
        write("http", name, bytes([0, 7]) + r.encode("latin-1"))
        write("http", name + "-small", bytes([1, 11]) + r.encode("latin-1"))
    write("http", "long-target-small", bytes([1, 3]) + b"GET /" + b"a" * 70 + b" HTTP/1.1\r\n\r\n")


# MARK: websocket (byte 0: flags, byte 1: seed)
def ws_frame(opcode, payload, fin=True, mask=None):
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    if n <= 125:
        hdr = bytes([b0, (0x80 if mask else 0) | n])
    elif n <= 0xFFFF:
        hdr = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, (0x80 if mask else 0) | 127]) + struct.pack(">Q", n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        return hdr + bytes(mask) + payload
    return hdr + payload


def websocket():
    clear("websocket")
    k = [0x37, 0xFA, 0x21, 0x3D]
    server = {  # masked, as a client sends
        "rfc-hello": ws_frame(1, b"Hello", mask=k),
        "fragmented-text-with-ping": ws_frame(1, "你好".encode()[:4], fin=False, mask=k) + ws_frame(9, b"ping", mask=k)
        + ws_frame(0, "你好".encode()[4:] + b"!", mask=k),
        "binary-16bit-length": ws_frame(2, bytes(range(256)) * 2, mask=k),
        "close-with-reason": ws_frame(8, struct.pack(">H", 1000) + "再见".encode(), mask=k),
        "pong-then-close-empty": ws_frame(10, b"", mask=k) + ws_frame(8, b"", mask=k),
        "json-message": ws_frame(1, b'{"type":"hello","token":"demo-token-a001-not-for-production"}', mask=k),
    }
    for name, s in server.items():
        write("websocket", name, bytes([0, 5]) + s)
        write("websocket", name + "-small", bytes([2, 9]) + s)
    client = {  # unmasked, as a server sends
        "rfc-unmasked-fragments": ws_frame(1, b"Hel", fin=False) + ws_frame(0, b"lo"),
        "server-close": ws_frame(8, struct.pack(">H", 1001) + b"going away"),
    }
    for name, s in client.items():
        write("websocket", name, bytes([1, 5]) + s)
    # Structured mode: per frame byte a (opcode choice 0-7, bit 3 not final), byte b (length), payload.
    structured = {
        "text-one-frame": bytes([1, 5]) + b"hello",
        "text-split-utf8": bytes([1 | 8, 2]) + "你".encode()[:2] + bytes([4, 0]) + bytes([0, 1]) + "你".encode()[2:],
        "binary-ping-continuation": bytes([2 | 8, 3]) + b"abc" + bytes([4, 1]) + b"p" + bytes([0, 3]) + b"def",
        "close-code": bytes([3, 4]) + struct.pack(">H", 1000) + b"ok",
    }
    for name, s in structured.items():
        write("websocket", "structured-" + name, bytes([4, 1]) + s)
        write("websocket", "structured-" + name + "-client", bytes([5, 2]) + s)


# MARK: ndjson (byte 0: limit, byte 1: seed)
ENVELOPES = [
    {"channel": "app", "account": "cityapp", "channelMessageId": "c-1", "citizen": "u-100", "kind": "text", "text": "我的社保卡丢了怎么办"},
    {"channel": "web", "account": "widget", "channelMessageId": "w-1", "citizen": "v1", "kind": "image",
     "attachments": [{"type": "image", "url": "https://example.org/a.jpg", "mime": "image/jpeg"}], "priority": 5, "skills": ["social-security"]},
    {"channel": "phone", "account": "trunk-1", "channelMessageId": "p-9", "citizen": "+8613800000000", "kind": "transcript",
     "text": "市民来电咨询", "meta": {"callId": "x", "n": 1.5, "ok": True, "nested": [None, {"a": []}]}},
    {"channel": "wechat", "account": "wx5d3c1a2b4e6f7089", "channelMessageId": "o:1", "citizen": "oHot5", "kind": "event", "text": None,
     "id": "ignored", "receivedAt": "2026-11-22T02:44:45.123Z", "unknown": 1},
]


def ndjson():
    clear("ndjson")
    lines = [json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in ENVELOPES]
    write("ndjson", "envelopes", bytes([0, 3]) + "\n".join(lines).encode() + b"\n")
    write("ndjson", "envelopes-crlf", bytes([0, 4]) + "\r\n".join(lines).encode() + b"\r\n")
    write("ndjson", "auth-then-message", bytes([0, 5]) + b'{"type":"auth","account":"cityapp","key":"k"}\n{"type":"message",'
          + lines[0][1:].encode() + b"\n\n")
    write("ndjson", "short-lines-small-limit", bytes([1, 6]) + b'{"a":1}\r\n\r\n' + b"x" * 64 + b"\r\n" + b"y" * 65 + b"\n")
    for i, l in enumerate(lines):
        write("ndjson", "envelope-%d" % i, bytes([0, i]) + l.encode() + b"\n")


# MARK: json (the document itself)
def json_seeds():
    clear("json")
    src = open(os.path.join(ROOT, "Tests", "IntakeJSONTests", "JSONTestSuiteTests.swift"), encoding="utf-8").read()
    n = 0
    for m in re.finditer(r'Doc\("([yin]_[^"]+)", #"(.*?)"#', src):
        name, text = m.group(1), m.group(2)
        if name.startswith("y_") or n % 3 == 0:
            write("json", name, text.encode())
        n += 1
    for i, e in enumerate(ENVELOPES):
        write("json", "envelope-%d" % i, json.dumps(e, ensure_ascii=False))
    write("json", "numbers", "[0,-0,1e-7,123456789012345678901234567890,9007199254740993,-9223372036854775808,0.1,2.5e+308,1E400]")
    write("json", "escapes", r'{"a\u0000b":"\ud83d\ude00\n\t\"\\\/","k":[{"":{}}]}')
    write("json", "deep", "[" * 64 + "]" * 64)


# MARK: wechat (vectors.json)
def vectors():
    return json.load(open(os.path.join(ROOT, "Tests", "WeChatChannelTests", "Fixtures", "vectors.json"), encoding="utf-8"))


def wechat_xml():
    clear("wechat-xml")
    v = vectors()
    for i, x in enumerate(v["oa_safe_mode_inbound"]):
        write("wechat-xml", "plain-%02d-%s" % (i, x["name"]), x["expected_plaintext_xml"])
        if i < 4:
            write("wechat-xml", "outer-%02d" % i, x["http"]["body"])
    for i, x in enumerate(v["oa_passive_replies"]):
        write("wechat-xml", "reply-%d" % i, x["reply_plaintext_xml"])
        write("wechat-xml", "reply-envelope-%d" % i, x["wechatpy_envelope_xml"])
    write("wechat-xml", "declaration-entities", '<?xml version="1.0" encoding="UTF-8"?>\r\n<!-- c -->'
          '<xml a="1" b=\'&amp;\'><Content>&lt;&#x4F60;&#22909;&gt;\r\n<![CDATA[]]]]><![CDATA[>]]></Content><e/></xml>')
    write("wechat-xml", "doctype", '<!DOCTYPE x [<!ENTITY e "boom">]><xml>&e;</xml>')


def frame(msg, appid, random16=b"0123456789abcdef"):
    body = random16 + struct.pack(">I", len(msg)) + msg + appid
    pad = 32 - len(body) % 32
    return body + bytes([pad]) * pad


def wechat_crypto():
    clear("wechat-crypto")
    v = vectors()
    appid = v["config"]["appid"].encode()
    for i, x in enumerate(v["oa_safe_mode_inbound"]):
        msg = x["expected_plaintext_xml"].encode()
        if i < 12:
            write("wechat-crypto", "frame-%02d" % i, bytes([0, i]) + frame(msg, appid))
        write("wechat-crypto", "message-%02d" % i, bytes([1, i]) + msg)
        if i < 6:
            write("wechat-crypto", "body-%02d" % i, bytes([3, i]) + x["http"]["body"].encode())
            write("wechat-crypto", "encrypt-%02d" % i, bytes([2, i]) + x["encrypt"].encode())
    x = v["oa_safe_mode_inbound"][0]
    q = x["http"]["query"]
    vals = [q["signature"], q["timestamp"], q["nonce"], q["msg_signature"], "aes", "", "POST"]
    write("wechat-crypto", "query-vector", bytes([4, 0]) + "\0".join(vals).encode())
    for i, x in enumerate(v["negative"]):
        body = x.get("body")
        if body:
            write("wechat-crypto", "negative-%d" % i, bytes([3, i]) + body.encode())
    write("wechat-crypto", "frame-wrong-appid", bytes([0, 1]) + frame(b"<xml/>", b"wx0000000000000000"))
    write("wechat-crypto", "frame-bad-length", bytes([0, 2]) + frame(b"<xml/>", appid)[:16] + b"\xff\xff\xff\xff" + frame(b"<xml/>", appid)[20:])


# MARK: record (byte 0: type, or 0xF0+ snapshot, 0xF8+ history)
def s(x):
    b = x.encode()
    return struct.pack("<I", len(b)) + b


def record():
    clear("record")
    env = json.dumps({"id": "m01m80m350v0000", "channel": "app"}, separators=(",", ":")).encode()
    recs = {
        "messageReceived": (1, b"\x01" + s("m01m80m350v0000") + s("s01m80m350v0000") + s("app\x1fcityapp\x1fc-1")
                            + struct.pack("<q", 1763776000123) + struct.pack("<I", len(env)) + env),
        "sessionOpened": (2, b"\x01" + s("s01m80m350v0000") + s("wechat") + s("wx5d3c1a2b4e6f7089") + s("oHot5") + struct.pack("<q", 1763776000123)),
        "enqueued": (3, b"\x01" + s("s01m80m350v0000") + s("general") + b"\x05" + struct.pack("<q", 1763776000123)),
        "offered": (4, b"\x01" + s("s01m80m350v0000") + s("a001") + struct.pack("<Q", 7)),
        "assigned": (5, b"\x01" + s("s01m80m350v0000") + s("a001")),
        "closed": (7, b"\x01" + s("s01m80m350v0000") + s("a001") + s("resolved")),
    }
    for name, (t, p) in recs.items():
        write("record", "record-" + name, bytes([t]) + p)
    # A version-2 snapshot: one session, one dedupe entry, one queue with the session, one assignment.
    snap = struct.pack("<I", 0x54534249) + b"\x02"
    snap += struct.pack("<qI", 1763776000123, 3) + struct.pack("<qI", 1763776000123, 1) + struct.pack("<Q", 4)
    snap += struct.pack("<I", 2)
    snap += s("s01m80m350v0000") + b"\x02" + s("cityapp") + s("u-100") + struct.pack("<qQ", 1763776000123, 3) + s("m01m80m350v0003")
    snap += s("s01m80m350v0001") + b"\x01" + s("wx5d3c1a2b4e6f7089") + s("oHot5") + struct.pack("<qQ", 1763776000200, 1) + s("m01m80m350v0004")
    snap += struct.pack("<I", 2) + s("app\x1fcityapp\x1fc-1") + s("m01m80m350v0001") + struct.pack("<I", 0)
    snap += s("wechat\x1fwx\x1fo:1") + s("m01m80m350v0004") + struct.pack("<I", 0xFFFFFFFF) + s("s-gone")
    snap += struct.pack("<I", 1) + s("general") + struct.pack("<q", 600000) + struct.pack("<I", 1)
    snap += s("s01m80m350v0000") + b"\x05" + struct.pack("<q", 1763776000123)
    snap += struct.pack("<Q", 9) + struct.pack("<I", 1) + s("s01m80m350v0001") + s("a001") + s("general") + b"\x03" + struct.pack("<q", 1763776000200)
    write("record", "snapshot-v2", b"\xf0" + snap)
    write("record", "snapshot-v1-empty", b"\xf1" + struct.pack("<I", 0x54534249) + b"\x01" + bytes(12) + bytes(12) + bytes(8) + bytes(12))
    h = hashlib.sha256(b"intake history").digest() * 4
    write("record", "history", b"\xf8" + h)
    write("record", "history-ingest-assign-close", b"\xf9" + bytes([0, 0x18, 4, 0x20, 1, 0x31, 0, 0x40, 2, 0x50, 3, 0x10, 4, 0x99, 7, 0x11]))


# MARK: config (byte 0: 0 file mode, 1 argv mode)
def config():
    clear("config")
    write("config", "sample-config", b"\x00" + open(os.path.join(ROOT, "Ops", "samples", "config.json"), "rb").read())
    write("config", "minimal", b'\x00{"http":"[::1]:0","tcp":"localhost:7071","fsync":"batch:5","retention":"12h"}')
    write("config", "wechat-plain-file-secret", b'\x00{"wechat":[{"account":"m","appid":"wx1","token":"file:/run/secrets/wx-token","mode":"plain","clockSkew":0,"replyDeadline":"500ms"}]}')
    write("config", "argv", b"\x01--http\x00127.0.0.1:0\x00--tcp=127.0.0.1:0\x00--retention\x0030d\x00--max-body-bytes\x0064KiB\x00--header-timeout\x00500ms")
    write("config", "argv-config", b"\x01--config\x00/etc/intake.json\x00--loops\x004\x00--admin-token\x00env:ADMIN_TOKEN")


if __name__ == "__main__":
    http()
    websocket()
    ndjson()
    json_seeds()
    wechat_xml()
    wechat_crypto()
    record()
    config()
    total = 0
    for dirpath, _, files in os.walk(OUT):
        for f in files:
            total += os.path.getsize(os.path.join(dirpath, f))
    print("seed corpora: %d bytes" % total)
