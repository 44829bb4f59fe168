"""The citizens' widget in headless Chromium on a phone-sized screen, against the built broker:
the citizen types, sees the acknowledgement, the queue banner, the agent's name and reply (the
agent is a Python websockets client), a reload resumes the same session without losing or
duplicating anything, and the close brings the rating prompt, whose score is stored."""
import asyncio
import json
import os
import subprocess
import tempfile
import threading
import time

import websockets
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import start_broker
from test_ops_page import _chrome

ROOT = os.path.join(os.path.dirname(__file__), "../..")
BIN = os.environ.get("INTAKE_BIN", os.path.join(ROOT, ".build/debug/intake"))


def _broker():
    work = tempfile.mkdtemp(prefix="intake-widget-")
    with open(os.path.join(work, "agents.json"), "w") as f:
        json.dump([{"id": "a1", "name": "王芳", "skills": {"general": 3}, "capacity": {"chat": 3}, "token": "widget-test-token-a1"}], f)
    with open(os.path.join(work, "c.json"), "w") as f:
        # the bot off: this test is the agent conversation (the bot has its own interop test)
        json.dump({"agents": os.path.join(work, "agents.json"), "bot": {"enabled": False}}, f)
    return start_broker("--config", os.path.join(work, "c.json"))


class Agent:
    """A desktop agent client on its own thread: accepts offers, replies, closes on request."""

    def __init__(self, broker):
        self.broker, self.frames, self.loop = broker, [], asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),), daemon=True)
        self.thread.start()
        assert self.ready.wait(20)

    async def main(self):
        self.ws = await websockets.connect(f"ws://{self.broker.http}/ws/agent")
        await self.ws.send(json.dumps({"type": "hello", "token": "widget-test-token-a1"}))
        self.ready.set()
        try:
            async for raw in self.ws:
                f = json.loads(raw)
                self.frames.append(f)
                if f["type"] == "offer":
                    await self.ws.send(json.dumps({"type": "accept", "offer": f["offer"]}))
        except websockets.ConnectionClosed:
            pass

    def send(self, frame):
        asyncio.run_coroutine_threadsafe(self.ws.send(json.dumps(frame)), self.loop).result(10)

    def wait_for(self, pred, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for f in list(self.frames):
                if pred(f):
                    return f
            time.sleep(0.05)
        raise AssertionError(f"agent never saw the frame; got {[f['type'] for f in self.frames]}")


def test_widget_conversation_in_chromium_on_a_phone_screen():
    b = _broker()
    driver = _chrome()
    driver.set_window_size(390, 844)  # a phone
    try:
        driver.get(f"http://{b.http}/widget/")
        wait = WebDriverWait(driver, 20)
        wait.until(lambda d: d.find_element(By.ID, "status").text == "已连接")
        box = driver.find_element(By.ID, "text")
        box.send_keys("我的社保卡丢了怎么补办")
        driver.find_element(By.ID, "send").click()
        wait.until(lambda d: "已送达" in d.find_element(By.CSS_SELECTOR, "#log li.me").text)
        # nobody online yet: the queue banner tells the citizen where they stand
        wait.until(lambda d: "转接人工客服" in d.find_element(By.ID, "banner").text)

        agent = Agent(b)
        assigned = agent.wait_for(lambda f: f["type"] == "assigned")
        session = assigned["session"]
        wait.until(lambda d: "王芳" in d.find_element(By.ID, "banner").text)
        agent.send({"type": "send", "session": session, "text": "您好，请携带身份证到社保经办机构补办。", "clientId": "r1"})
        wait.until(lambda d: any("社保经办机构" in li.text for li in d.find_elements(By.CSS_SELECTOR, "#log li.agent")))

        # reload: the same visitor and session, nothing lost, nothing shown twice
        driver.refresh()
        wait.until(lambda d: d.find_element(By.ID, "status").text == "已连接")
        time.sleep(1)
        agent_lines = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#log li.agent")]
        assert len(agent_lines) == 1 and "社保经办机构" in agent_lines[0], agent_lines
        assert len(driver.find_elements(By.CSS_SELECTOR, "#log li.me")) == 1
        notes = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#log li.note") if "已接入" in li.text]
        assert notes == ["客服 王芳 已接入"], notes
        box = driver.find_element(By.ID, "text")
        box.send_keys("好的，谢谢")
        driver.find_element(By.ID, "send").click()
        msg = agent.wait_for(lambda f: f["type"] == "message" and f["envelope"]["text"] == "好的，谢谢")
        assert msg["session"] == session, "the reload resumed the same session"

        agent.send({"type": "close", "session": session, "disposition": "resolved"})
        wait.until(lambda d: d.find_element(By.ID, "rating").is_displayed())
        driver.find_elements(By.CSS_SELECTOR, "#rating .stars button")[4].click()
        wait.until(lambda d: "感谢" in d.find_element(By.CSS_SELECTOR, "#rating p").text)
        os.makedirs(os.path.join(ROOT, "artifacts"), exist_ok=True)
        shot = os.path.join(ROOT, "artifacts", "widget-phone.png")
        assert driver.save_screenshot(shot) and os.path.getsize(shot) > 10_000
        # no horizontal scrolling on a phone
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        time.sleep(0.5)
    finally:
        driver.quit()
        b.stop()
    out = subprocess.run([BIN, "export", "--data-dir", b.data_dir], capture_output=True, text=True, timeout=60)
    texts = [json.loads(line)["text"] for line in out.stdout.splitlines()]
    assert texts == ["我的社保卡丢了怎么补办", "好的，谢谢"], texts
