"""The web chat on a phone-sized page (390×844) in a real headless Chromium: every button of every rating
prompt tapped and what was stored checked; a notice written between two polls still shown; the
handler's buttons after 签收; the report link. With QIHU_SCREENSHOTS set, docs/screenshots/ is rewritten."""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from storage import tables as t
from storage.engine import create_engine
from tests.e2e.server_process import ServerProcess
from tests.e2e.test_webchat_browser import CHROMEDRIVER, CHROMIUM
from tests.integration.test_filing_dialogue import PROBLEM, USCC

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="Debian packages chromium and chromium-driver are not installed")
ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"非常满意": 5, "满意": 4, "基本满意": 3, "不满意": 2, "非常不满意": 1}
SOLVED = ["已解决", "部分解决", "未解决"]


@pytest.fixture
def phone(tmp_path):  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 f"--user-data-dir={tmp_path / 'profile'}", "--window-size=390,844", "--lang=zh-CN"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    # A 390×844 phone viewport: headless Chromium keeps its window at least 500 wide, so emulate it.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    yield driver
    driver.quit()


@pytest.fixture
def server(database_url, tmp_path):  # type: ignore[no-untyped-def]
    proc = ServerProcess(database_url, tmp_path)
    proc.env["QIHU_SERVER__SENDER_PER_MINUTE"] = "0"  # the set-up below talks faster than a person
    proc.env["QIHU_SERVER__PUBLIC_URL"] = proc.url
    proc.start()
    yield proc
    proc.stop()


def screenshot(driver, name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = ROOT / "docs" / "screenshots" if os.environ.get("QIHU_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"{name}.png"))


def api(server: ServerProcess, user: str, text: str) -> str:
    """What another person (or this one, outside the page) sends, through the same HTTP API."""
    body = json.dumps({"user": user, "text": text}).encode()
    req = urllib.request.Request(server.url + "/api/web/messages", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return "\n".join(r["text"] for r in json.load(resp)["replies"])


def file_appeal(server: ServerProcess, user: str) -> str:
    for said in (PROBLEM, "示范精密机械有限公司", USCC, "张伟", "13800138000", "溪口镇", "1"):
        api(server, user, said)
    done = api(server, user, "确认提交")
    assert "诉求已登记" in done, done
    return done.split("编号 ")[1].split("。")[0]


def resolved(server: ServerProcess, user: str) -> str:
    number = file_appeal(server, user)
    assert "交由" in api(server, "staff:chen-dispatch", f"分派 {number} 供电公司")
    api(server, "staff:li-gdgs", f"签收 {number}")
    assert "已办结" in api(server, "staff:li-gdgs", f"办结 {number} 已解决 已完成增容，变压器已送电")
    return number


def ratings(database_url: str) -> dict[str, tuple[int, list[str], str, str]]:
    async def read():  # type: ignore[no-untyped-def]
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(
                    select(t.appeals.c.number, t.ratings.c.level, t.ratings.c.tags, t.ratings.c.solved,
                           t.ratings.c.comment).join(t.ratings, t.ratings.c.appeal_id == t.appeals.c.id))).all()
        finally:
            await engine.dispose()
        return {r.number: (r.level, list(r.tags), r.solved, r.comment) for r in rows}
    return asyncio.run(read())


class Page:
    """One person's page: what the bot shows, the buttons of its last message, and typing."""

    def __init__(self, driver, server: ServerProcess, user: str) -> None:  # type: ignore[no-untyped-def]
        from selenium.webdriver.support.ui import WebDriverWait
        self.d = driver
        self.wait = WebDriverWait(driver, 20)
        driver.get(f"{server.url}/?user={user}")
        self.says("")

    def bots(self) -> list:  # type: ignore[type-arg]
        from selenium.webdriver.common.by import By
        return self.d.find_elements(By.CSS_SELECTOR, ".msg.bot")

    def says(self, fragment: str) -> str:
        self.wait.until(lambda d: any(fragment in e.text for e in self.bots()))
        return next(e.text for e in reversed(self.bots()) if fragment in e.text)

    def count(self, fragment: str) -> int:
        return sum(fragment in e.text for e in self.bots())

    def buttons(self) -> list[tuple[str, str]]:
        """(shown text, label) of the last message's buttons."""
        from selenium.webdriver.common.by import By
        return [(b.text, b.get_attribute("data-label"))
                for b in self.d.find_elements(By.CSS_SELECTOR, ".msg.bot:last-child .choices button")]

    def tap(self, label: str, then: str) -> str:
        """Tap the last message's button with this label and wait for the answer containing `then`."""
        from selenium.webdriver.common.by import By
        before = len(self.bots())

        def button(d):  # type: ignore[no-untyped-def]
            found = d.find_elements(By.CSS_SELECTOR, ".msg.bot:last-child .choices button")
            return next((b for b in found if b.get_attribute("data-label") == label), False)
        self.wait.until(button).click()
        self.wait.until(lambda d: len(self.bots()) > before and then in self.bots()[-1].text)
        return self.bots()[-1].text

    def type(self, text: str, then: str) -> str:
        from selenium.webdriver.common.by import By
        before = len(self.bots())
        self.d.find_element(By.ID, "input").send_keys(text)
        self.d.find_element(By.ID, "send").click()
        self.wait.until(lambda d: len(self.bots()) > before and then in self.bots()[-1].text)
        return self.bots()[-1].text


def rate_by_taps(page: Page, level: str, tags: str, solved: str) -> list[str]:
    """Tap the level, then every tag button (tags="all") or 跳过, 跳过 the comment, tap `solved`."""
    page.tap(level, f"您选择了「{level}」")
    shown = page.buttons()
    assert [text.split(". ", 1)[0] for text, _ in shown] == [str(i) for i in range(1, len(shown) + 1)]
    offered = [label for _, label in shown if label not in ("完成", "跳过")]
    chosen: list[str] = []
    if tags == "all":
        for tag in offered:
            page.tap(tag, "已选标签")
            chosen.append(tag)
            assert f"✓ {tag}" in [label for _, label in page.buttons()]
        page.tap("完成", "意见或建议")
    else:
        page.tap("跳过", "意见或建议")
    page.tap("跳过", "解决了吗")
    page.tap(solved, "评价")
    return chosen


def test_every_button_of_every_rating_prompt_stores_what_it_says(server, phone, database_url, tmp_path):
    stored: dict[str, tuple[int, list[str], str]] = {}
    expected: dict[str, tuple[int, list[str], str]] = {}
    for i, level in enumerate(LEVELS):
        # The invitation in the 办结 notice: its five level buttons.
        user = f"ent-inv{i}"
        number = resolved(server, user)
        page = Page(phone, server, user)
        page.says("请为本次办理评价")
        assert [label for _, label in page.buttons()] == list(LEVELS)
        if i == 0:
            screenshot(phone, "01-rating-invitation", tmp_path)
        chosen = rate_by_taps(page, level, "all" if i % 2 == 0 else "skip", SOLVED[i % 3])
        expected[number] = (LEVELS[level], chosen, SOLVED[i % 3])
        # The 评价 编号 prompt: the same five levels, as a step of the dialogue.
        user = f"ent-ask{i}"
        number = resolved(server, user)
        page = Page(phone, server, user)
        page.says("请为本次办理评价")
        page.type(f"评价 {number}", "作出评价")
        assert [text for text, _ in page.buttons()] == [f"{n}. {label}" for n, label in enumerate(LEVELS, 1)]
        chosen = rate_by_taps(page, level, "skip" if i % 2 == 0 else "all", SOLVED[(i + 1) % 3])
        if i == 1:
            screenshot(phone, "02-rating-done", tmp_path)
        expected[number] = (LEVELS[level], chosen, SOLVED[(i + 1) % 3])
    stored = {n: (level, tags, solved) for n, (level, tags, solved, _) in ratings(database_url).items()}
    assert stored == expected


def test_tags_toggle_on_the_page(server, phone, tmp_path):
    number = resolved(server, "ent-tags")
    page = Page(phone, server, "ent-tags")
    page.says("请为本次办理评价")
    page.tap("满意", "您选择了「满意」")
    first, second = [label for _, label in page.buttons()][:2]
    page.tap(first, f"已选标签：{first}")
    page.tap(second, f"已选标签：{first}、{second}")
    screenshot(phone, "03-rating-tags-multiple", tmp_path)
    page.tap(f"✓ {first}", f"已选标签：{second}")  # tapped again: taken off
    assert number


def test_a_notice_written_between_two_polls_is_still_shown(server, phone, tmp_path):
    number = file_appeal(server, "ent-poll")
    page = Page(phone, server, "ent-poll")
    page.says("诉求已登记")
    # Polls stop reaching the server (the page keeps trying); sends still go through.
    phone.execute_cdp_cmd("Network.enable", {})
    phone.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*/api/web/messages?*"]})
    api(server, "staff:chen-dispatch", f"分派 {number} 供电公司")  # the enterprise's notice: id n
    page.type(f"查询 {number}", "已交办")  # the reply: id n+1, shown at once
    notice = f"您的诉求 {number} 已交由"
    assert page.count(notice) == 0  # not polled yet
    phone.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
    page.says(notice)  # the next poll asks for what was not shown, not for what came after the reply
    assert page.count(notice) == 1


def test_handler_gets_buttons_after_accepting_and_a_fitting_placeholder(server, phone, tmp_path):
    from selenium.webdriver.common.by import By
    number = file_appeal(server, "ent-h")
    api(server, "staff:chen-dispatch", f"分派 {number} 供电公司")
    page = Page(phone, server, "staff:li-gdgs")
    page.says("【新交办】")  # waiting for them although they never opened the page before
    placeholder = phone.find_element(By.ID, "input").get_attribute("placeholder")
    assert "签收" in placeholder and "描述您遇到的问题" not in placeholder
    page.tap(f"签收 {number}", "已签收诉求")
    assert [label for _, label in page.buttons()] == ["填写进展", "办结", "退回", "申请延期"]
    screenshot(phone, "04-handler-after-accept", tmp_path)
    page.tap("办结", "请写下诉求")
    page.type("已解决 已完成增容，变压器已送电", "已办结")


def test_leader_gets_the_report_as_a_download_link(server, phone, tmp_path):
    from selenium.webdriver.common.by import By
    resolved(server, "ent-l")
    page = Page(phone, server, "staff:wang-leader")
    placeholder = phone.find_element(By.ID, "input").get_attribute("placeholder")
    assert "报告" in placeholder
    page.type("报告 本季度", "企业服务指数报告")
    [link] = phone.find_elements(By.CSS_SELECTOR, ".msg.bot:last-child a.file")
    assert link.text.startswith("下载：企业服务指数报告-")
    assert link.get_attribute("href").startswith(server.url + "/reports/")
    screenshot(phone, "05-leader-report-link", tmp_path)
    with urllib.request.urlopen(link.get_attribute("href"), timeout=60) as resp:
        assert resp.status == 200 and "企业服务指数评价报告" in resp.read().decode()
