"""The demo as a newcomer meets it (`intake serve` with its embedded defaults): the widget and
the agent console, both in headless Chromium. The citizen asks for a person (the bot hands
over), the demo agent logs in with its sample token, accepts the offer, sees the bot's
suggestions and replies; the citizen's page shows the reply."""
import os
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import start_broker
from test_ops_page import _chrome

ROOT = os.path.join(os.path.dirname(__file__), "../..")


def test_widget_and_agent_console_talk_in_the_demo():
    b = start_broker()  # embedded defaults: sample agents, knowledge base, bot on for the widget
    citizen, agent = _chrome(), _chrome()
    try:
        agent.get(f"http://{b.http}/agent/")
        aw = WebDriverWait(agent, 20)
        agent.find_element(By.ID, "token").send_keys("demo-token-a001-not-for-production")
        agent.find_element(By.CSS_SELECTOR, "#login button").click()
        aw.until(lambda d: "在线" in d.find_element(By.ID, "conn").text)

        citizen.get(f"http://{b.http}/widget/")
        cw = WebDriverWait(citizen, 20)
        cw.until(lambda d: d.find_element(By.ID, "status").text == "已连接")
        citizen.find_element(By.ID, "text").send_keys("社保卡丢了怎么办，转人工")
        citizen.find_element(By.ID, "send").click()
        cw.until(lambda d: "已送达" in d.find_element(By.CSS_SELECTOR, "#log li.me").text)

        aw.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#offers li button"))
        agent.find_element(By.CSS_SELECTOR, "#offers li button").click()  # accept
        aw.until(lambda d: "社保卡丢了" in d.find_element(By.ID, "log").text)
        assert not agent.find_elements(By.CSS_SELECTOR, "#offers li"), "the accepted offer leaves the list"
        suggestions = agent.find_elements(By.CSS_SELECTOR, "#suggest button")
        assert suggestions, "the bot's hand-over suggestions are shown to the agent"
        agent.find_element(By.ID, "text").send_keys("您好，我是王芳，请问卡是在哪里丢失的？")
        agent.find_element(By.ID, "send").click()

        cw.until(lambda d: any("卡是在哪里丢失" in li.text for li in d.find_elements(By.CSS_SELECTOR, "#log li.agent")))
        os.makedirs(os.path.join(ROOT, "artifacts"), exist_ok=True)
        assert agent.save_screenshot(os.path.join(ROOT, "artifacts", "agent-console.png"))
        assert citizen.save_screenshot(os.path.join(ROOT, "artifacts", "widget-demo.png"))
    finally:
        citizen.quit()
        agent.quit()
        b.stop()
