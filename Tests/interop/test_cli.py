"""The `intake` executable as an operator meets it: the ready line, bad configuration (exit 2
and one clear line naming every problem), and a clean stop on SIGINT."""
import os
import signal
import subprocess

from conftest import start_broker

BIN = os.environ.get("INTAKE_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/intake"))


def test_bad_flags_exit_2_with_one_line_naming_every_problem():
    r = subprocess.run([BIN, "serve", "--http", "nope", "--loops", "0", "--fsync", "sometimes", "--frobnicate", "1"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    for fragment in ["--http", "--loops", "--fsync", "--frobnicate"]:
        assert fragment in lines[0]
    assert r.stdout == ""


def test_bad_environment_and_config_file(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text('{"tcp": "127.0.0.1:99999", "adminToken": "env:NOT_SET_ANYWHERE"}')
    env = dict(os.environ, INTAKE_MAX_BODY_BYTES="huge")
    r = subprocess.run([BIN, "serve", "--config", str(cfg)], capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 2
    assert "INTAKE_MAX_BODY_BYTES" in r.stderr and "NOT_SET_ANYWHERE" in r.stderr and "99999" in r.stderr


def test_unknown_command_exits_2():
    r = subprocess.run([BIN, "frob"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "unknown command" in r.stderr


def test_sigint_stops_cleanly():
    b = start_broker()
    assert b.stop(signal.SIGINT) == 0


def test_bad_agent_directory_exits_2_with_one_line(tmp_path):
    agents = tmp_path / "agents.json"
    agents.write_text('[{"id": "a1", "name": "x", "skills": {"general": 1}, "capacity": {"chat": 1, "voice": 2}, "token": "t"}]')
    r = subprocess.run([BIN, "serve", "--agents", str(agents), "--data-dir", str(tmp_path / "data"),
                        "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    assert "capacity.voice" in lines[0] and str(agents) in lines[0]
    agents.write_text('[{"id": "a1", "name": "x", "skills": {"general": 1}, "capacity": {"chat": 1}, "token": "env:INTAKE_NOT_SET_TOKEN"}]')
    r = subprocess.run([BIN, "serve", "--agents", str(agents), "--data-dir", str(tmp_path / "data"),
                        "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "INTAKE_NOT_SET_TOKEN" in r.stderr


def test_export_masks_personal_data_and_filters_by_time(tmp_path):
    import datetime
    import json as _json
    import socket as _socket
    config = tmp_path / "c.json"
    config.write_text(_json.dumps({"apps": [{"account": "exp", "key": "export-key-0123456789"}]}))
    from conftest import start_broker
    b = start_broker("--config", str(config))
    host, port = b.tcp.rsplit(":", 1)
    with _socket.create_connection((host, int(port)), timeout=20) as s:
        f = s.makefile("rwb")
        f.write(b'{"type":"auth","account":"exp","key":"export-key-0123456789"}\n')
        for i, text in enumerate(["我的手机13812341234", "身份证110101199003071234", "座机021-88886666 谢谢"]):
            f.write(_json.dumps({"channel": "app", "account": "exp", "channelMessageId": f"e{i}", "citizen": "13900001111",
                                 "kind": "text", "text": text}, ensure_ascii=False).encode() + b"\n")
        f.flush()
        assert _json.loads(f.readline())["type"] == "authenticated"
        for _ in range(3):
            assert "ack" in _json.loads(f.readline())
    assert b.stop() == 0

    def export(*extra):
        r = subprocess.run([BIN, "export", "--data-dir", b.data_dir, *extra], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return [_json.loads(line) for line in r.stdout.splitlines()]

    masked = export()
    assert [m["text"] for m in masked] == ["我的手机138****1234", "身份证110101********1234", "座机021-****6666 谢谢"]
    assert all(m["citizen"] == "139****1111" for m in masked)
    raw = export("--unmasked")
    assert [m["text"] for m in raw][0] == "我的手机13812341234" and raw[0]["citizen"] == "13900001111"
    now = datetime.datetime.now(datetime.timezone.utc)
    fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len(export("--since", fmt(now - datetime.timedelta(hours=1)), "--until", fmt(now + datetime.timedelta(hours=1)))) == 3
    assert export("--since", fmt(now + datetime.timedelta(hours=1))) == []
    assert export("--until", (now - datetime.timedelta(days=1)).strftime("%Y-%m-%d")) == []
    bad = subprocess.run([BIN, "export", "--data-dir", b.data_dir, "--since", "yesterday"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_operator_commands_against_a_running_broker(tmp_path):
    import json as _json
    config = tmp_path / "c.json"
    config.write_text(_json.dumps({"adminToken": "admin-token-0123456789", "apps": [{"account": "cli", "key": "cli-key-0123456789"}]}))
    b = start_broker("--config", str(config))
    try:
        url = f"http://{b.http}"
        env = dict(os.environ, INTAKE_ADMIN_TOKEN="admin-token-0123456789")
        r = subprocess.run([BIN, "status", "--url", url], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, r.stderr
        assert "ready          yes" in r.stdout and "agents" in r.stdout and "alerts" in r.stdout
        r = subprocess.run([BIN, "status", "--url", url, "--json"], capture_output=True, text=True, timeout=60, env=env)
        assert _json.loads(r.stdout)["type"] == "ops"
        import socket as _socket
        host, port = b.tcp.rsplit(":", 1)
        with _socket.create_connection((host, int(port)), timeout=20) as s:
            f = s.makefile("rwb")
            f.write(b'{"type":"auth","account":"cli","key":"cli-key-0123456789"}\n')
            f.write(b'{"channel":"app","account":"cli","channelMessageId":"q1","citizen":"u1","kind":"text","text":"hi","priority":4}\n')
            f.flush()
            f.readline()
            assert "ack" in _json.loads(f.readline())
        r = subprocess.run([BIN, "queues", "--url", url], capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0 and r.stdout.startswith("QUEUE"), r.stderr
        row = [line.split() for line in r.stdout.splitlines() if line.startswith("general")]
        assert row and row[0][1] == "1" and row[0][2:12] == ["0", "0", "0", "0", "0", "1", "0", "0", "0", "0"], r.stdout
        # a wrong token: exit 1 and a line that says what to do
        r = subprocess.run([BIN, "status", "--url", url, "--token", "wrong"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "401" in r.stderr and "INTAKE_ADMIN_TOKEN" in r.stderr
    finally:
        b.stop()
    # nobody listening: exit 1, a clear line
    r = subprocess.run([BIN, "status", "--url", url], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 1 and "cannot reach the broker" in r.stderr
    r = subprocess.run([BIN, "status", "--bogus"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
