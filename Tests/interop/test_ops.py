"""Operations: the systemd notification protocol (a real AF_UNIX datagram socket, as systemd
opens it), and the Prometheus files in Ops/ checked by Prometheus' own promtool."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request


from conftest import start_broker_env

ROOT = os.path.join(os.path.dirname(__file__), "../..")


def _notify_socket():
    path = os.path.join(tempfile.mkdtemp(prefix="intake-notify-"), "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(20)
    return s, path


def test_sd_notify_ready_then_stopping():
    sock, path = _notify_socket()
    b = start_broker_env({"NOTIFY_SOCKET": path})
    try:
        ready = sock.recv(4096).decode()
        fields = dict(line.split("=", 1) for line in ready.splitlines())
        assert fields["READY"] == "1"
        assert int(fields["MAINPID"]) == b.proc.pid
        assert f"http={b.http}" in fields["STATUS"]
        assert b.stop(signal.SIGTERM) == 0
        assert sock.recv(4096).decode() == "STOPPING=1"
    finally:
        if b.proc.poll() is None:
            b.proc.kill()
        sock.close()


def test_sd_notify_abstract_socket():
    name = f"intake-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(20)
    b = start_broker_env({"NOTIFY_SOCKET": "@" + name})
    try:
        assert sock.recv(4096).decode().startswith("READY=1\n")
    finally:
        b.stop()
        sock.close()


def test_without_notify_socket_the_broker_still_starts():
    b = start_broker_env({"NOTIFY_SOCKET": ""})
    assert b.stop() == 0


def _promtool(*args):
    return subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60)


def test_prometheus_rules_pass_promtool():
    r = _promtool("check", "rules", os.path.join(ROOT, "Ops/prometheus/rules.yml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_prometheus_rules_unit_tests_pass():
    r = _promtool("test", "rules", os.path.join(ROOT, "Ops/prometheus/rules.test.yml"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_prometheus_config_passes_promtool():
    r = _promtool("check", "config", "--syntax-only", os.path.join(ROOT, "Ops/prometheus/prometheus.yml"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_rejects_a_broken_rule_file():
    # The check above can fail: a rule with a bad expression is refused.
    bad = tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False)
    bad.write("groups:\n- name: x\n  rules:\n  - alert: X\n    expr: sum(\n")
    bad.close()
    assert _promtool("check", "rules", bad.name).returncode != 0


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _ingest_one(tcp, account, key, mid):
    host, port = tcp.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as s:
        f = s.makefile("rwb")
        f.write(json.dumps({"type": "auth", "account": account, "key": key}).encode() + b"\n")
        f.write(json.dumps({"channel": "app", "account": account, "channelMessageId": mid, "citizen": "u1",
                            "kind": "text", "text": "你好"}).encode() + b"\n")
        f.flush()
        assert json.loads(f.readline())["type"] == "authenticated"
        assert "ack" in json.loads(f.readline())


def test_real_prometheus_scrapes_the_broker_and_answers_a_query():
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"apps": [{"account": "promapp", "key": "prom-key-0123456789"}]}, config)
    config.close()
    b = start_broker_env({}, "--config", config.name)
    work = tempfile.mkdtemp(prefix="intake-prom-")
    port = _free_port()
    with open(os.path.join(work, "prometheus.yml"), "w") as f:
        f.write("global: {scrape_interval: 1s}\nscrape_configs:\n- job_name: intake\n"
                f"  static_configs: [{{targets: ['{b.http}']}}]\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={work}/prometheus.yml", f"--storage.tsdb.path={work}/tsdb",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _ingest_one(b.tcp, "promapp", "prom-key-0123456789", "prom-1")
        _ingest_one(b.tcp, "promapp", "prom-key-0123456789", "prom-2")

        def query(q):
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)["data"]["result"]

        deadline = time.time() + 60
        ingested = ready = depth = None
        while time.time() < deadline:
            try:
                ingested = query('intake_messages_ingested_total{channel="app"}')
                ready = query("intake_ready")
                depth = query('sum(intake_queue_depth{queue="general"})')
                up = query('up{job="intake"}')
                if ingested and ready and depth and up and float(depth[0]["value"][1]) == 1:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        assert ingested and float(ingested[0]["value"][1]) == 2, ingested
        assert ready and float(ready[0]["value"][1]) == 1, ready
        assert depth and float(depth[0]["value"][1]) == 1, depth  # one citizen: one session waiting
        assert up and float(up[0]["value"][1]) == 1
    finally:
        prom.terminate()
        prom.wait(timeout=20)
        b.stop()


def test_metrics_pass_promtool_check_metrics_with_traffic():
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"apps": [{"account": "promapp", "key": "prom-key-0123456789"}]}, config)
    config.close()
    b = start_broker_env({}, "--config", config.name)
    try:
        _ingest_one(b.tcp, "promapp", "prom-key-0123456789", "m-1")
        time.sleep(1.2)  # the queue gauges are published once a second
        with urllib.request.urlopen(f"http://{b.http}/metrics", timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = r.read()
        r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, timeout=60)
        assert r.returncode == 0, (r.stdout + r.stderr).decode()
        names = {line.split("{")[0].split(" ")[0] for line in text.decode().splitlines() if line and not line.startswith("#")}
        for required in ["intake_messages_ingested_total", "intake_messages_duplicate_total", "intake_queue_depth",
                         "intake_queue_oldest_wait_seconds", "intake_wait_seconds_bucket", "intake_agents",
                         "intake_assignments_total", "intake_offers_timed_out_total", "intake_sessions_open",
                         "intake_connections", "intake_store_fsync_seconds_bucket", "intake_store_bytes"]:
            assert required in names, f"{required} missing from /metrics"
    finally:
        b.stop()


def test_systemd_unit_verifies_and_uses_notify():
    unit = open(os.path.join(ROOT, "Ops/systemd/intake.service")).read()
    assert "Type=notify" in unit and "RestartPreventExitStatus=2" in unit
    binary = os.path.abspath(os.environ.get("INTAKE_BIN", os.path.join(ROOT, ".build/debug/intake")))
    work = tempfile.mkdtemp(prefix="intake-unit-")
    path = os.path.join(work, "intake.service")
    with open(path, "w") as f:
        f.write(unit.replace("/usr/local/bin/intake", binary))
    r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stderr.strip(), r.stdout + r.stderr
    # and the check can fail: a misspelt directive is reported
    with open(path, "w") as f:
        f.write(unit.replace("/usr/local/bin/intake", binary).replace("NoNewPrivileges=", "NoNewPrivilege="))
    r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
    assert "NoNewPrivilege" in r.stderr


def test_grafana_dashboard_queries_only_metrics_the_broker_exposes_and_promql_accepts():
    dash = json.load(open(os.path.join(ROOT, "Ops/grafana/intake-dashboard.json")))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 15
    b = start_broker_env({})
    try:
        time.sleep(1.2)
        with urllib.request.urlopen(f"http://{b.http}/metrics", timeout=10) as r:
            exposed = {line.split("{")[0].split(" ")[0] for line in r.read().decode().splitlines()
                       if line and not line.startswith("#")}
    finally:
        b.stop()
    import re
    for e in exprs:
        for name in re.findall(r"\bintake_[a-z_]+", e):
            assert name in exposed, f"dashboard uses {name}, which /metrics does not expose"
    # every expression parses: promtool checks it as a recording rule
    work = tempfile.mkdtemp(prefix="intake-dash-")
    path = os.path.join(work, "dash_rules.yml")
    with open(path, "w") as f:
        f.write("groups:\n- name: dashboard\n  rules:\n")
        for i, e in enumerate(exprs):
            f.write(f"  - record: dashboard:expr{i}\n    expr: {json.dumps(e.replace('$instance', '.*'))}\n")
    r = _promtool("check", "rules", path)
    assert r.returncode == 0, r.stdout + r.stderr
