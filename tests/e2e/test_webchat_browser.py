"""The web chat page in a real headless Chromium: pick who you are, file an appeal, see the number."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.server_process import ServerProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="Debian packages chromium and chromium-driver are not installed")


@pytest.fixture
def browser(tmp_path):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture
def server(database_url, tmp_path):  # type: ignore[no-untyped-def]
    proc = ServerProcess(database_url, tmp_path)
    proc.start()
    yield proc
    proc.stop()


def test_file_an_appeal_through_the_page(server, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)

    def bot_says(fragment: str) -> None:
        wait.until(lambda d: any(fragment in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))

    def type_and_send(text: str) -> None:
        box = browser.find_element(By.ID, "input")
        box.send_keys(text)
        browser.find_element(By.ID, "send").click()

    def tap(label_start: str) -> None:
        def find(d):  # type: ignore[no-untyped-def]
            buttons = d.find_elements(By.CSS_SELECTOR, ".msg.bot:last-child .choices button")
            return next((b for b in buttons if b.get_attribute("data-label").startswith(label_start)), False)
        wait.until(find).click()

    browser.get(server.url + "/")
    wait.until(ec.element_to_be_clickable((By.ID, "as-enterprise"))).click()
    bot_says("企呼 · 企业诉求服务")
    type_and_send("我们公司新上的生产线需要增容一台变压器，报装两个月了供电所一直没有答复，影响投产")
    bot_says("企业全称")
    type_and_send("示范精密机械有限公司")
    bot_says("统一社会信用代码（18 位")
    type_and_send("91330825MA2DH4KX39")
    bot_says("联系人姓名")
    type_and_send("张伟")
    bot_says("联系人手机号")
    type_and_send("13800138000")
    bot_says("所在的乡镇")
    tap("溪口镇")
    bot_says("建议归入")
    tap("水电气能源")
    bot_says("请确认您的诉求")
    tap("确认提交")
    bot_says("诉求已登记，编号 QH")
    number = next(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".msg.bot") if "诉求已登记" in e.text)
    assert "QH" in number and "待受理" in number
    browser.save_screenshot(str(tmp_path / "webchat.png"))


def test_text_is_shown_as_text_not_html(server, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get(server.url + "/")
    wait.until(ec.element_to_be_clickable((By.ID, "as-enterprise"))).click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".msg.bot"))
    browser.find_element(By.ID, "input").send_keys('<img src=x onerror="document.title=\'pwned\'">')
    browser.find_element(By.ID, "send").click()
    # Long enough to read as a problem description: the bot starts filing with it, and echoes nothing as HTML.
    wait.until(lambda d: any("企业全称" in e.text for e in d.find_elements(By.CSS_SELECTOR, ".msg.bot")))
    assert browser.title != "pwned"
    assert not browser.find_elements(By.CSS_SELECTOR, "#log img")
    assert any("<img" in e.text for e in browser.find_elements(By.CSS_SELECTOR, ".msg.me"))
