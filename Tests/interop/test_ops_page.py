"""The live operations page: the /ws/ops feed read with Python's websockets library, and the
page itself in headless Chromium (selenium), checked against the broker's real state, with a
screenshot kept in artifacts/."""
import asyncio
import json
import os
import socket
import tempfile
import time

import websockets
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import start_broker_env

ROOT = os.path.join(os.path.dirname(__file__), "../..")
KEY = "ops-key-0123456789"


def _broker():
    config = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump({"apps": [{"account": "opsapp", "key": KEY}]}, config)
    config.close()
    return start_broker_env({}, "--config", config.name)


def _ingest(tcp, citizens, priority=None, skills=None):
    host, port = tcp.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=20) as s:
        f = s.makefile("rwb")
        f.write(json.dumps({"type": "auth", "account": "opsapp", "key": KEY}).encode() + b"\n")
        for i, c in enumerate(citizens):
            env = {"channel": "app", "account": "opsapp", "channelMessageId": f"{c}-{i}-{time.time()}",
                   "citizen": c, "kind": "text", "text": "你好"}
            if priority is not None:
                env["priority"] = priority
            if skills:
                env["skills"] = skills
            f.write(json.dumps(env).encode() + b"\n")
        f.flush()
        assert json.loads(f.readline())["type"] == "authenticated"
        for _ in citizens:
            assert "ack" in json.loads(f.readline())


def test_ops_feed_over_websockets_reflects_the_queues_and_is_rate_limited():
    b = _broker()
    try:
        _ingest(b.tcp, ["c1", "c2", "c3"], priority=7, skills=["tax"])

        async def run():
            async with websockets.connect(f"ws://{b.http}/ws/ops") as ws:
                frames, started = [], time.monotonic()
                while time.monotonic() - started < 4.5:
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
                        frames.append((time.monotonic(), frame))
                    except asyncio.TimeoutError:
                        break
                await ws.send("hello")
                return frames, json.loads(await asyncio.wait_for(ws.recv(), 5))

        frames, answer = asyncio.run(run())
        assert answer["type"] == "error" and answer["code"] == "read_only"
        assert frames and all(f["type"] == "ops" for _, f in frames)
        # at most one frame per second (a first frame at once, then one per tick when changed)
        gaps = [b_[0] - a[0] for a, b_ in zip(frames, frames[1:])]
        assert all(g > 0.9 for g in gaps), gaps
        last = frames[-1][1]
        tax = [q for q in last["queues"] if q["name"] == "tax"]
        assert tax and tax[0]["depth"] == 3 and tax[0]["byPriority"][7] == 3, last["queues"]
        assert last["waiting"] >= 3 and last["messagesTotal"] >= 3
        # three citizens waiting for a skill nobody online has: the alert is on
        assert any(a["name"] == "IntakeNoAgentForWaitingQueue" and "tax" in a["text"] for a in last["alerts"]), last["alerts"]
    finally:
        b.stop()


def _chrome():
    opts = Options()
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900"]:
        opts.add_argument(a)
    if os.path.exists("/usr/bin/chromium"):
        opts.binary_location = "/usr/bin/chromium"
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver") if os.path.exists("/usr/bin/chromedriver") else None
    return webdriver.Chrome(options=opts, service=service) if service else webdriver.Chrome(options=opts)


def test_ops_page_in_headless_chromium_shows_live_queues_and_alerts():
    b = _broker()
    driver = _chrome()
    try:
        driver.get(f"http://{b.http}/ops/")
        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: d.find_element(By.ID, "conn").text.startswith("实时"))
        wait.until(lambda d: int(d.find_element(By.TAG_NAME, "body").get_attribute("data-frames") or 0) >= 1)
        assert driver.find_element(By.ID, "waiting").text == "0"
        _ingest(b.tcp, ["p1", "p2"], priority=9, skills=["enterprise"])
        # pushed, not polled by the page: the row appears within a couple of seconds
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'tr[data-queue="enterprise"] td.depth')
                   and d.find_element(By.CSS_SELECTOR, 'tr[data-queue="enterprise"] td.depth').text == "2")
        assert driver.find_element(By.ID, "waiting").text == "2"
        row = driver.find_element(By.CSS_SELECTOR, 'tr[data-queue="enterprise"]')
        assert "hot" in row.get_attribute("class")  # waiting and nobody available
        alerts = driver.find_elements(By.CSS_SELECTOR, '[data-alert="IntakeNoAgentForWaitingQueue"]')
        assert alerts and "enterprise" in alerts[0].text
        assert driver.execute_script("return document.getElementById('chartWaiting').getContext('2d') !== null")
        os.makedirs(os.path.join(ROOT, "artifacts"), exist_ok=True)
        shot = os.path.join(ROOT, "artifacts", "ops-page.png")
        assert driver.save_screenshot(shot)
        assert os.path.getsize(shot) > 10_000
        # the connection indicator turns red when the broker goes away
        b.stop()
        wait.until(lambda d: "down" in d.find_element(By.ID, "conn").get_attribute("class"))
    finally:
        driver.quit()
        if b.proc.poll() is None:
            b.stop()
