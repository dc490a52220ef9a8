"""The web console in a real headless Chromium (Debian's package, driven by Playwright): what a
compliance officer does on a first visit, with a screenshot of each page under var/screenshots/.

The test set-up installs ``chromium`` (and a CJK font, so the screenshots show Chinese) when they are
missing; where that is impossible the tests are skipped and say why. No browser is downloaded from
anywhere else.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from system_packages import debian_packages, debian_tool

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SHANGHAI_DEMO = "91310115MA1DEM001T"
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--disable-extensions"]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = debian_tool("chromium", "chromium", "chromium-driver")
    debian_packages("fonts-wqy-microhei")
    return path


@pytest.fixture
async def page(chromium: str, stack) -> AsyncIterator:
    from playwright.async_api import async_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        context = await browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        tab = await context.new_page()
        tab.hosts = set()  # type: ignore[attr-defined]
        tab.on("request", lambda request: tab.hosts.add(urlsplit(request.url).netloc))  # type: ignore[attr-defined]
        yield tab
        await browser.close()


@pytest.fixture
def demo_key(demo_tenant) -> str:
    return demo_tenant[1]


async def shot(page, name: str) -> None:
    """The whole page, and what a 1360×900 window shows first (the README's pictures come from these)."""
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}-window.png"))


async def test_a_first_visit_in_the_browser(page, stack, demo_key, tmp_path):
    own_host = urlsplit(stack.url).netloc
    await page.goto(stack.url + "/")
    assert page.url.startswith(stack.url + "/app/login")
    await shot(page, "login")
    await page.get_by_label("API 密钥").fill(demo_key)
    await page.get_by_role("button", name=re.compile("登录")).click()
    await page.wait_for_url(stack.url + "/app/")

    rows = page.locator("table#portfolio tbody tr")
    assert await rows.count() == 5
    assert await page.get_by_role("link", name="上海示范客服外包有限公司").is_visible()
    await shot(page, "portfolio")

    await page.get_by_role("link", name="上海示范客服外包有限公司").click()
    await page.wait_for_url(f"{stack.url}/app/companies/{SHANGHAI_DEMO}")
    axis = page.locator("svg#timeline-svg")
    assert await axis.is_visible()
    assert await axis.locator("rect.bar, polygon.bar").count() > 0
    assert await axis.locator("line.today").count() == 1
    finding = page.locator("details.finding").first
    assert await finding.locator("dl.evidence").is_visible()
    assert "证据" in await finding.inner_text()
    await shot(page, "company")

    today_overdue = int(await page.locator("#overdue-count").inner_text())
    await page.get_by_label("查看日期").fill("2022-06-01")
    await page.get_by_role("button", name=re.compile("查看")).click()
    await page.wait_for_url(re.compile(r"as_of=2022-06-01"))
    then_overdue = int(await page.locator("#overdue-count").inner_text())
    assert then_overdue < today_overdue
    assert "2022-06-01" in await page.locator("#status-line").inner_text()
    assert await page.locator("svg#timeline-svg line.asof-line").count() == 1
    await shot(page, "company-as-of")

    await page.get_by_role("link", name=re.compile("待办")).click()
    await page.wait_for_url(re.compile(r"/app/due"))
    assert await page.get_by_role("heading", name=re.compile("已逾期")).is_visible()
    await shot(page, "due")

    await page.get_by_role("link", name=re.compile("日历")).click()
    await page.wait_for_url(re.compile(r"/app/calendar"))
    assert await page.locator("table#month td").count() >= 28
    await page.goto(stack.url + "/app/calendar?month=2026-10")
    assert await page.locator('td.rest[data-date="2026-10-01"]').count() == 1  # 国庆节
    assert await page.locator('td.makeup[data-date="2026-10-10"]').count() == 1  # 调休上班 (a Saturday)
    await shot(page, "calendar")

    await page.get_by_role("link", name=re.compile("订阅")).click()
    await page.wait_for_url(re.compile(r"/app/subscriptions"))
    await page.get_by_label(re.compile("^目标")).fill("http://127.0.0.1:9/hooks/ledger")
    await page.get_by_label(re.compile("最低级别")).select_option("high")
    await page.get_by_role("button", name=re.compile("创建订阅")).click()
    assert (await page.locator("#secret").inner_text()).startswith("whsec_")
    assert await page.locator("table#subscriptions tbody tr").count() == 1
    await shot(page, "subscriptions")

    upload = tmp_path / "seats.csv"
    upload.write_text("type,company,effective_date,data.declared_seats,data.system_registered_seats,"
                      "data.overseas_seats\n"
                      f"workforce.seats_declared,{SHANGHAI_DEMO},2026/11/2,130,130,0\n"
                      f"workforce.seats_declared,{SHANGHAI_DEMO},2026年11月3日,lots,130,0\n", encoding="utf-8")
    await page.get_by_role("link", name=re.compile("导入")).click()
    await page.wait_for_url(re.compile(r"/app/import"))
    await page.set_input_files("#file", str(upload))
    await page.get_by_role("button", name=re.compile("^导入")).click()
    await page.wait_for_selector("#import-result")
    assert await page.locator("#accepted").inner_text() == "1"
    assert await page.locator("#refused-count").inner_text() == "1"
    assert (await page.locator("table#refused td").first.inner_text()).strip() == "3"  # the source file's line
    await shot(page, "import")
    async with page.expect_download() as waiting:
        await page.locator("#download-refused").click()
    saved = Path(await (await waiting.value).path())
    refused = await asyncio.to_thread(saved.read_text, encoding="utf-8-sig")
    lines = refused.splitlines()
    assert len(lines) == 2 and lines[0].endswith("line,error")  # the header and the one refused row
    assert "2026年11月3日,lots,130,0,3," in lines[1] and "whole number" in lines[1]

    await page.goto(stack.url + "/docs")
    await page.wait_for_selector(".swagger-ui .info", timeout=30_000)
    await shot(page, "api-docs")

    await page.goto(stack.url + "/app/")
    await page.get_by_role("button", name=re.compile("退出")).click()
    await page.wait_for_url(re.compile(r"/app/login"))
    await page.goto(stack.url + "/app/")
    assert "/app/login" in page.url, "the session must be over"
    assert page.hosts == {own_host}, f"the console loaded something from elsewhere: {page.hosts}"  # type: ignore[attr-defined]


async def test_the_keyboard_reaches_every_control_of_the_login_form(page, stack):
    await page.goto(stack.url + "/app/login")
    focused = []
    for _ in range(4):
        await page.keyboard.press("Tab")
        focused.append(await page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert "api_key" in focused and "BUTTON" in focused
