#!/usr/bin/env python3
# fake-intake.py: a test double of `intake serve` for developing intake-bench, not a broker.
# Speaks the ingest wire (NDJSON auth + envelope lines over TCP, POST /api/v1/messages over
# HTTP) and acknowledges after one os.fsync per group of appended lines (group commit), with
# dedupe on channelMessageId; recovers by reading its log; prints the same ready line.
#
# usage: fake-intake.py serve [--config FILE] [--data-dir DIR] [--http H:P] [--tcp H:P] [--fsync always|never]
import asyncio, json, os, signal, sys

def flags(argv):
    opts = {"data-dir": "./data", "http": "127.0.0.1:0", "tcp": "127.0.0.1:0", "fsync": "always", "config": None}
    if not argv or argv[0] != "serve":
        sys.exit("usage: fake-intake.py serve [flags]")
    it = iter(argv[1:])
    for word in it:
        opts[word.lstrip("-")] = next(it)
    return opts

class Log:
    def __init__(self, path, sync):
        self.sync, self.pending, self.seen, self.wake = sync, [], set(), asyncio.Event()
        if os.path.exists(path):
            with open(path, "rb") as f:
                for line in f:
                    self.seen.add(json.loads(line)["channelMessageId"])
        self.f = open(path, "ab")

    async def append(self, env):
        key = env.get("channelMessageId")
        if key in self.seen:
            return {"id": key, "session": "s-" + env.get("citizen", ""), "duplicate": True}
        self.seen.add(key)
        done = asyncio.get_running_loop().create_future()
        self.pending.append((json.dumps(env, separators=(",", ":")).encode() + b"\n", done))
        self.wake.set()
        await done
        return {"id": key, "session": "s-" + env.get("citizen", ""), "duplicate": False}

    async def writer(self):
        while True:
            await self.wake.wait()
            self.wake.clear()
            group, self.pending = self.pending, []
            self.f.write(b"".join(line for line, _ in group))
            self.f.flush()
            if self.sync:
                await asyncio.to_thread(os.fsync, self.f.fileno())
            for _, done in group:
                done.set_result(None)

def parse(raw, keys):
    try:
        env = json.loads(raw)
    except ValueError:
        return None, {"error": "bad_json", "message": "not JSON"}
    if not isinstance(env, dict) or env.get("account") not in keys:
        return None, {"error": "forbidden", "message": "unknown account"}
    return env, None

async def tcp_client(reader, writer, log, keys):
    account = None
    while line := await reader.readline():
        msg = json.loads(line) if line.strip() else None
        if msg is None:
            continue
        if msg.get("type") == "auth":
            ok = keys.get(msg.get("account")) == msg.get("key")
            account = msg["account"] if ok else None
            answer = {"type": "authenticated", "account": account} if ok else {"error": "unauthorized", "message": "bad key"}
        elif account is None:
            answer = {"error": "unauthorized", "message": "auth first"}
        else:
            env, answer = parse(line, keys)
            if env is not None:
                r = await log.append(env)
                answer = {"ack": r["id"], "session": r["session"], "duplicate": r["duplicate"]}
        writer.write(json.dumps(answer).encode() + b"\n")
        await writer.drain()
    writer.close()

async def http_client(reader, writer, log, keys):
    bearer = {"Bearer " + k for k in keys.values()}
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            break
        lines = head.decode().split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        env, err = parse(body, keys)
        if headers.get("authorization") not in bearer:
            status, answer = "401 Unauthorized", {"error": "unauthorized", "message": "bad key"}
        elif err:
            status, answer = "400 Bad Request", err
        else:
            status, answer = "202 Accepted", await log.append(env)
        out = json.dumps(answer).encode()
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(out)}\r\n\r\n".encode() + out)
        await writer.drain()
    writer.close()

async def main():
    opts = flags(sys.argv[1:])
    apps = json.load(open(opts["config"]))["apps"] if opts["config"] else []
    keys = {a["account"]: a["key"] for a in apps}
    os.makedirs(opts["data-dir"], exist_ok=True)
    log = Log(os.path.join(opts["data-dir"], "fake.log"), opts["fsync"] != "never")
    asyncio.create_task(log.writer())
    servers = []
    for name, handler in (("http", http_client), ("tcp", tcp_client)):
        host, port = opts[name].rsplit(":", 1)
        cb = lambda r, w, h=handler: h(r, w, log, keys)
        servers.append(await asyncio.start_server(cb, host, int(port), limit=1 << 20))
    addr = [s.sockets[0].getsockname() for s in servers]
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(f"intake ready http={addr[0][0]}:{addr[0][1]} tcp={addr[1][0]}:{addr[1][1]}", flush=True)
    await stop.wait()
    log.f.flush()
    os.fsync(log.f.fileno())

asyncio.run(main())
