"""TLS on the HTTP/WebSocket listener, against peers we did not write: Python's ssl module
(over OpenSSL), the `websockets` library over wss://, curl, and the openssl CLI, which also
makes the certificates. Every test talks to the built binary over real loopback sockets.

What is checked: TLS 1.3 and 1.2 work and 1.1/1.0 are refused by the server (its failure
counter moves, so the refusal is the server's, not the client's); plaintext HTTP gets no
answer; wss echo including 1 MiB messages under back-pressure; a 1 MiB request body and
pipelined keep-alive requests; 200 concurrent TLS connections; the handshake deadline
(slowloris); certificate reload on SIGHUP, good and bad; bad TLS flags exit 2.
"""
import asyncio
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import warnings

import pytest
import websockets

from conftest import start_broker

BINARY = os.environ.get("INTAKE_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/intake"))


# MARK: - certificates


def make_cert(directory, name, key_type="ec", serial=None):
    """A self-signed certificate for 127.0.0.1 and localhost, made by the openssl CLI."""
    cert, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] if key_type == "ec" else ["-newkey", "rsa:2048"]
    cmd = ["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "2",
           "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
    if serial is not None:
        cmd += ["-set_serial", str(serial)]
    subprocess.run(cmd, check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.fail("the openssl CLI is needed to make test certificates (apt-get install openssl)")
    d = str(tmp_path_factory.mktemp("tls"))
    return {
        "one": make_cert(d, "intake-one", "ec", serial=1001),
        "two": make_cert(d, "intake-two", "rsa", serial=2002),
        "dir": d,
    }


@pytest.fixture(scope="module")
def tls_broker(certs):
    cert, key = certs["one"]
    b = start_broker("--tls-cert", cert, "--tls-key", key)
    yield b
    if b.proc.poll() is None:
        b.proc.kill()
        b.proc.wait()


# MARK: - clients


def client_context(cafile=None, version=None):
    """A verifying client context (trusting `cafile`), optionally pinned to one version."""
    if cafile is None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = ssl.create_default_context(cafile=cafile)
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    return ctx


def host_port(b):
    host, port = b.http.rsplit(":", 1)
    return host, int(port)


def https_get(b, path, ctx, conn=None):
    host, port = host_port(b)
    c = conn or http.client.HTTPSConnection(host, port, context=ctx, timeout=20)
    c.request("GET", path)
    r = c.getresponse()
    return r.status, r.read(), c


def metric(b, cafile, name, labels=""):
    """The value of one series from /metrics, fetched over TLS."""
    status, body, conn = https_get(b, "/metrics", client_context(cafile))
    conn.close()
    assert status == 200
    for line in body.decode().splitlines():
        if line.startswith(name + labels + " "):
            return float(line.split()[-1])
    return 0.0


def failures(b, cafile, reason):
    return metric(b, cafile, "intake_tls_handshake_failures_total", f'{{reason="{reason}"}}')


def peer_cert_der(b, cafile=None):
    host, port = host_port(b)
    with socket.create_connection((host, port), timeout=10) as s:
        with client_context(cafile).wrap_socket(s, server_hostname="localhost") as t:
            return t.getpeercert(binary_form=True)


def der(cert_path):
    with open(cert_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def wait_until(predicate, timeout=10.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout=timeout))


# MARK: - versions


@pytest.mark.parametrize("version,name", [(ssl.TLSVersion.TLSv1_3, "TLSv1.3"), (ssl.TLSVersion.TLSv1_2, "TLSv1.2")])
def test_healthz_over_tls_1_3_and_1_2(tls_broker, certs, version, name):
    status, body, conn = https_get(tls_broker, "/healthz", client_context(certs["one"][0], version))
    assert (status, body) == (200, b"ok\n")
    assert conn.sock.version() == name
    cipher = conn.sock.cipher()[0]
    if name == "TLSv1.2":
        assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    conn.close()


@pytest.mark.parametrize("version", ["TLSv1_1", "TLSv1"])
def test_old_versions_are_refused_by_the_server(tls_broker, certs, version):
    cafile = certs["one"][0]
    before = failures(tls_broker, cafile, "protocol")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # Security level 0 so that the local OpenSSL really offers the old version: the refusal
    # must come from the broker, which answers with a protocol_version alert.
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python deprecates what we test is refused
        ctx.minimum_version = ctx.maximum_version = getattr(ssl.TLSVersion, version)
    host, port = host_port(tls_broker)
    with socket.create_connection((host, port), timeout=10) as s:
        with pytest.raises(ssl.SSLError) as info:
            ctx.wrap_socket(s).close()
    assert "ALERT_PROTOCOL_VERSION" in str(info.value), info.value  # an alert received from the server
    assert wait_until(lambda: failures(tls_broker, cafile, "protocol") == before + 1)


def test_plaintext_http_to_the_tls_port_gets_no_answer(tls_broker, certs):
    cafile = certs["one"][0]
    before = failures(tls_broker, cafile, "protocol")
    host, port = host_port(tls_broker)
    got = b""
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try:
            while chunk := s.recv(4096):
                got += chunk
        except ConnectionResetError:
            pass
    assert b"HTTP/1.1 200" not in got and b"ok\n" not in got, got
    assert wait_until(lambda: failures(tls_broker, cafile, "protocol") == before + 1)


# MARK: - peers


def test_curl_fetches_metrics(tls_broker, certs):
    if shutil.which("curl") is None:
        pytest.fail("curl is needed (apt-get install curl)")
    r = subprocess.run(["curl", "-sS", "--fail", "--max-time", "20", "--cacert", certs["one"][0],
                        f"https://{tls_broker.http}/metrics"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "intake_tls_handshake_failures_total" in r.stdout
    assert re.search(r"^intake_tls_certificate_not_after_seconds \d", r.stdout, re.M)
    # And curl's own check of the name: https://localhost/ verifies against the SAN too.
    port = tls_broker.http.rsplit(":", 1)[1]
    r = subprocess.run(["curl", "-sS", "--fail", "--max-time", "20", "--cacert", certs["one"][0],
                        f"https://localhost:{port}/healthz"], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr


def test_wss_echo_text_binary_and_large_messages(tls_broker, certs):
    ctx = client_context(certs["one"][0])
    # A small receive buffer, so that the broker's socket fills while this client is not
    # reading and SSL_write meets EAGAIN in the middle of a record.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.connect(host_port(tls_broker))
    sock.setblocking(False)

    async def go():
        async with websockets.connect(f"wss://{tls_broker.http}/ws/echo", ssl=ctx, server_hostname="localhost",
                                      sock=sock, max_size=2 * 1024 * 1024, compression=None) as ws:
            await ws.send("你好，12345")
            assert await ws.recv() == "你好，12345"
            blob = os.urandom(1024 * 1024)
            await ws.send(blob)
            assert await ws.recv() == blob
            # Eight 1 MiB messages sent while their echoes come back: the broker's outbound
            # buffer goes over its high-water mark, reading pauses and resumes, and SSL_write
            # meets a full socket (partial writes, retries from a moved buffer).
            messages = [os.urandom(1024 * 1024) for _ in range(8)]

            async def sender():
                for m in messages:
                    await ws.send(m)

            async def receiver():
                await asyncio.sleep(1.5)  # the broker's socket and outbound buffer fill meanwhile
                return [await ws.recv() for _ in messages]

            _, echoed = await asyncio.gather(sender(), receiver())
            assert echoed == messages
            await ws.close()
            assert ws.close_code == 1000
    run(go())


def test_large_body_and_pipelined_keep_alive(tls_broker, certs):
    ctx = client_context(certs["one"][0])
    host, port = host_port(tls_broker)
    # A body of exactly the limit (1 MiB) is read in full over many records; the route then
    # answers 401 (no app key), and the connection stays usable.
    c = http.client.HTTPSConnection(host, port, context=ctx, timeout=20)
    c.request("POST", "/api/v1/messages", body=b"x" * (1024 * 1024), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    assert r.status == 401, r.read()
    r.read()
    status, body, _ = https_get(tls_broker, "/healthz", ctx, conn=c)
    assert (status, body) == (200, b"ok\n")
    c.close()
    # One byte over: 413 from Content-Length, before the body is read.
    c = http.client.HTTPSConnection(host, port, context=ctx, timeout=20)
    c.request("POST", "/api/v1/messages", body=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "application/json"})
    assert c.getresponse().status == 413
    c.close()
    # 100 requests in one write; 100 answers, in order, on the same connection.
    with socket.create_connection((host, port), timeout=20) as s, ctx.wrap_socket(s, server_hostname="localhost") as t:
        t.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n" * 99
                  + b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        got = b""
        while chunk := t.recv(65536):
            got += chunk
    assert got.count(b"HTTP/1.1 200 OK\r\n") == 100
    assert got.count(b"\r\n\r\nok\n") == 99 and got.endswith(b"ready\n")


def test_200_concurrent_tls_connections(tls_broker, certs):
    ctx = client_context(certs["one"][0])
    host, port = host_port(tls_broker)

    async def one(i):
        reader, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname="localhost")
        return reader, writer

    async def go():
        conns = await asyncio.gather(*(one(i) for i in range(200)))  # all handshakes first
        for _, w in conns:
            w.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answers = await asyncio.gather(*(r.read() for r, _ in conns))
        for _, w in conns:
            w.close()
        return answers

    answers = run(go(), timeout=120)
    assert len(answers) == 200
    assert all(a.startswith(b"HTTP/1.1 200 OK\r\n") and a.endswith(b"ok\n") for a in answers)


# MARK: - the NDJSON listener


def ndjson_auth(sock):
    f = sock.makefile("rb")
    sock.sendall(json.dumps({"type": "auth", "account": "nobody", "key": "wrong-key-0123456789"}).encode() + b"\n")
    return json.loads(f.readline())


def test_tcp_stays_plaintext_unless_tcp_tls_is_set(tls_broker, certs):
    host, port = tls_broker.tcp.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        assert ndjson_auth(s)["error"] == "unauthorized"


def test_tcp_tls_puts_the_ndjson_listener_under_tls_too(certs):
    cert, key = certs["one"]
    b = start_broker("--tls-cert", cert, "--tls-key", key, "--tcp-tls", "true")
    try:
        host, port = b.tcp.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as s:
            with client_context(cert, ssl.TLSVersion.TLSv1_3).wrap_socket(s, server_hostname="localhost") as t:
                assert ndjson_auth(t)["error"] == "unauthorized"  # an answer over TLS, and the connection stays
                assert ndjson_auth(t)["error"] == "unauthorized"
        with socket.create_connection((host, int(port)), timeout=10) as s:
            s.sendall(b'{"type":"auth","account":"a","key":"k"}\n')
            got = b""
            try:
                while chunk := s.recv(4096):
                    got += chunk
            except ConnectionResetError:
                pass
            assert b"unauthorized" not in got
    finally:
        b.stop()


# MARK: - handshake deadline


def closed_within(s, seconds):
    """Seconds until the peer closed `s` (EOF or reset), or None if it did not in time."""
    s.settimeout(seconds)
    start = time.monotonic()
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except socket.timeout:
        return None
    return time.monotonic() - start


def test_a_client_that_never_finishes_the_handshake_is_closed(certs):
    cert, key = certs["one"]
    b = start_broker("--tls-cert", cert, "--tls-key", key, "--header-timeout", "1s")
    try:
        host, port = host_port(b)
        before = failures(b, cert, "timeout")
        silent = socket.create_connection((host, port))
        # A ClientHello cut short: the record header promises 512 bytes, 5 arrive.
        partial = socket.create_connection((host, port))
        partial.sendall(b"\x16\x03\x01\x02\x00" + b"\x01\x00\x01\xfc\x03")
        # Meanwhile a normal client is served.
        status, body, conn = https_get(b, "/healthz", client_context(cert))
        assert (status, body) == (200, b"ok\n")
        conn.close()
        for s in (silent, partial):
            took = closed_within(s, 6)
            assert took is not None, "the broker kept a connection that never finished its handshake"
            s.close()
        assert wait_until(lambda: failures(b, cert, "timeout") == before + 2)
    finally:
        b.stop()


# MARK: - reload on SIGHUP


def test_sighup_loads_a_new_certificate_for_new_connections(certs, tmp_path):
    one_cert, one_key = certs["one"]
    two_cert, two_key = certs["two"]
    cert, key = str(tmp_path / "live.crt"), str(tmp_path / "live.key")
    shutil.copy(one_cert, cert)
    shutil.copy(one_key, key)
    b = start_broker("--tls-cert", cert, "--tls-key", key)
    try:
        assert peer_cert_der(b) == der(one_cert)
        host, port = host_port(b)
        old = http.client.HTTPSConnection(host, port, context=client_context(one_cert), timeout=20)
        assert https_get(b, "/healthz", None, conn=old)[0] == 200
        # Rotate as an operator would: new files in place (the EC key is replaced by RSA), HUP.
        shutil.copy(two_cert, cert + ".new")
        shutil.copy(two_key, key + ".new")
        os.replace(cert + ".new", cert)
        os.replace(key + ".new", key)
        b.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: peer_cert_der(b) == der(two_cert)), "new connections still get the old certificate"
        # A new connection verifies against the new certificate (serial 2002, CN intake-two) …
        with socket.create_connection((host, port), timeout=10) as s:
            with client_context(two_cert).wrap_socket(s, server_hostname="localhost") as t:
                peer = t.getpeercert()
                assert peer["serialNumber"] == "07D2"
                assert dict(x[0] for x in peer["subject"])["commonName"] == "intake-two"
        # … the connection opened before the reload keeps its session and still works …
        status, body, _ = https_get(b, "/healthz", None, conn=old)
        assert (status, body) == (200, b"ok\n")
        old.close()
        # … and the broker kept running.
        assert b.proc.poll() is None
        assert metric(b, two_cert, "intake_reloads_total", '{outcome="ok",what="tls_certificate"}') == 1
    finally:
        b.stop()


@pytest.mark.parametrize("breakage", ["garbage certificate", "empty key", "key of another certificate", "missing files"])
def test_sighup_with_a_broken_certificate_keeps_the_old_one(certs, tmp_path, breakage):
    one_cert, one_key = certs["one"]
    cert, key = str(tmp_path / "live.crt"), str(tmp_path / "live.key")
    shutil.copy(one_cert, cert)
    shutil.copy(one_key, key)
    b = start_broker("--tls-cert", cert, "--tls-key", key)
    try:
        if breakage == "garbage certificate":
            with open(cert, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        elif breakage == "empty key":
            open(key, "w").close()
        elif breakage == "key of another certificate":
            shutil.copy(certs["two"][1], key)
        else:
            os.remove(cert)
            os.remove(key)
        b.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: metric(b, one_cert, "intake_reloads_total", '{outcome="failed",what="tls_certificate"}') == 1)
        assert b.proc.poll() is None
        assert peer_cert_der(b) == der(one_cert)
        status, body, conn = https_get(b, "/healthz", client_context(one_cert))
        assert (status, body) == (200, b"ok\n")
        conn.close()
    finally:
        b.stop()


def test_sighup_without_tls_is_harmless():
    b = start_broker()
    try:
        b.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        assert b.proc.poll() is None
        c = http.client.HTTPConnection(*host_port(b), timeout=10)
        c.request("GET", "/healthz")
        assert c.getresponse().status == 200
    finally:
        assert b.stop() == 0


# MARK: - bad configuration


def run_serve(*flags, env=None):
    environment = dict(os.environ, **(env or {}))
    return subprocess.run([BINARY, "serve", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--data-dir", "/nonexistent/never-created",
                           *flags], capture_output=True, text=True, timeout=30, env=environment)


def test_bad_tls_configuration_exits_2_with_one_line(certs, tmp_path):
    one_cert, one_key = certs["one"]
    two_key = certs["two"][1]
    unreadable = tmp_path / "unreadable.key"
    shutil.copy(one_key, unreadable)
    os.chmod(unreadable, 0)
    cases = [
        (["--tls-cert", one_cert], "--tls-key is not"),
        ([], "--tls-cert is not"),  # key from the environment only
        (["--tls-cert", one_cert, "--tls-key", str(tmp_path / "missing.key")], "cannot be read"),
        (["--tls-cert", one_cert, "--tls-key", two_key], "does not match the certificate"),
        (["--tls-cert", one_key, "--tls-key", one_key], "no usable PEM certificate"),
    ]
    if os.geteuid() != 0:  # root reads a mode-000 file
        cases.append((["--tls-cert", one_cert, "--tls-key", str(unreadable)], "cannot be read"))
    for flags, fragment in cases:
        env = {"INTAKE_TLS_KEY": one_key} if not flags else None
        r = run_serve(*flags, env=env)
        assert r.returncode == 2, (flags, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and fragment in lines[0], (flags, r.stderr)
        assert r.stdout == ""
