"""Starts the built broker on loopback ports picked by the kernel, for the interop tests."""
import os
import signal
import subprocess
import tempfile

import pytest


class Broker:
    def __init__(self, proc, http, tcp, data_dir):
        self.proc, self.http, self.tcp, self.data_dir = proc, http, tcp, data_dir

    @property
    def ws_base(self):
        return f"ws://{self.http}"

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def start_broker(*extra):
    return start_broker_env({}, *extra)


def start_broker_env(env, *extra):
    """start_broker with `env` added to (or, for empty values, removed from) the environment."""
    binary = os.environ.get("INTAKE_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/intake"))
    data_dir = tempfile.mkdtemp(prefix="intake-interop-")
    environment = dict(os.environ)
    for k, v in env.items():
        if v:
            environment[k] = v
        else:
            environment.pop(k, None)
    proc = subprocess.Popen(
        [binary, "serve", "--http", "127.0.0.1:0", "--tcp", "127.0.0.1:0", "--data-dir", data_dir, *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=environment)
    line = proc.stdout.readline().strip()
    assert line.startswith("intake ready "), f"no ready line, got {line!r}"
    fields = dict(kv.split("=", 1) for kv in line.split()[2:])
    return Broker(proc, fields["http"], fields["tcp"], data_dir)


@pytest.fixture
def broker():
    b = start_broker()
    yield b
    if b.proc.poll() is None:
        b.proc.kill()
        b.proc.wait()
