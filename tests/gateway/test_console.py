"""The web console over HTTP: sessions, form tokens, tenant isolation, no external hosts.

The browser walk-through is tests/gateway/test_console_browser.py; these check what a browser hides.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest
from ledger_gateway.console.sessions import IDLE, LIFETIME, find_session, open_session
from ledger_gateway.database import migrate
from ledger_gateway.tables import ConsoleSession
from ledger_gateway.tenancy import create_key, create_tenant, revoke_key
from sqlmodel import Session, select

SHANGHAI_DEMO = "91310115MA1DEM001T"
PAGES = ("/app/", "/app/due", "/app/calendar", f"/app/companies/{SHANGHAI_DEMO}", "/app/login")


class Links(HTMLParser):
    """Every URL a page makes the browser load or go to (src, href, action)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href", "action") and value]


def browser(stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=stack.url, timeout=60, follow_redirects=False)


def form_token(html: str) -> str:
    """The form token (CSRF) a page's forms carry."""
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


async def log_in(client: httpx.AsyncClient, key: str) -> httpx.Response:
    token = form_token((await client.get("/app/login")).text)
    return await client.post("/app/login", data={"api_key": key, "csrf": token, "next": "/app/"})


@pytest.fixture
def loaded(demo_tenant):
    return demo_tenant


async def test_without_a_session_every_page_sends_you_to_login(stack):
    async with browser(stack) as client:
        root = await client.get("/")
        assert root.status_code == 307 and root.headers["location"].endswith("/app/")
        for path in PAGES[:-1]:
            r = await client.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/app/login?next="), r.headers["location"]
        client.cookies.set("ledger_session", "made-up")
        assert (await client.get("/app/")).status_code == 303


async def test_login_makes_an_httponly_strict_session_that_never_holds_the_key(stack, loaded):
    _, key = loaded
    async with browser(stack) as client:
        r = await log_in(client, key)
        assert r.status_code == 303 and r.headers["location"] == "/app/"
        cookie = r.headers["set-cookie"]
        assert "ledger_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace(
            "SameSite=Strict", "SameSite=strict")
        value = client.cookies["ledger_session"]
        assert key not in cookie and key.split("_")[2] not in value
        with Session(stack.engine) as s:
            rows = list(s.exec(select(ConsoleSession)))
        assert all(value not in (row.token_sha256, row.csrf) for row in rows)
        assert any(len(row.token_sha256) == 64 for row in rows)
        page = await client.get("/app/")
        assert page.status_code == 200 and "上海示范客服外包有限公司" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        assert page.headers["x-content-type-options"] == "nosniff"


async def test_a_wrong_key_or_a_form_without_its_token_opens_nothing(stack, loaded):
    _, key = loaded
    async with browser(stack) as client:
        wrong = await log_in(client, key[:-2] + "xx")
        assert wrong.status_code == 401 and "密钥无效" in wrong.text and "ledger_session" not in client.cookies
        tokenless = await client.post("/app/login", data={"api_key": key})
        assert tokenless.status_code == 403 and "ledger_session" not in client.cookies
        await client.get("/app/login")
        elsewhere = await client.post("/app/login", headers={"Origin": "https://evil.example"},
                                      data={"api_key": key, "csrf": client.cookies["ledger_login"]})
        assert elsewhere.status_code == 403 and "ledger_session" not in client.cookies


async def test_logout_needs_the_form_token_and_ends_the_session(stack, loaded):
    _, key = loaded
    async with browser(stack) as client:
        await log_in(client, key)
        page = (await client.get("/app/")).text
        token = form_token(page)
        refused = await client.post("/app/logout", data={})
        assert refused.status_code == 403
        assert (await client.get("/app/")).status_code == 200, "a refused logout must change nothing"
        cookie = client.cookies["ledger_session"]
        done = await client.post("/app/logout", data={"csrf": token})
        assert done.status_code == 303 and done.headers["location"] == "/app/login"
        client.cookies.set("ledger_session", cookie)  # the old cookie, replayed
        assert (await client.get("/app/")).status_code == 303


async def test_another_tenants_company_is_404_in_the_console(stack, loaded):
    _, key = loaded
    _, other_key = stack.new_tenant("console-spy")
    async with browser(stack) as client:
        await log_in(client, other_key)
        r = await client.get(f"/app/companies/{SHANGHAI_DEMO}")
        assert r.status_code == 404 and "未找到该企业" in r.text and "上海示范" not in r.text
        portfolio = await client.get("/app/")
        assert SHANGHAI_DEMO not in portfolio.text
        assert (await client.get("/app/companies/not-a-uscc")).status_code == 404


async def test_no_page_names_another_host(stack, loaded):
    _, key = loaded
    async with browser(stack) as client:
        await log_in(client, key)
        for path in (*PAGES, "/docs"):
            r = await client.get(path)
            assert r.status_code == 200, (path, r.status_code)
            links = Links()
            links.feed(r.text)
            assert links.urls, path
            external = [u for u in links.urls if re.match(r"^(https?:)?//", u)]
            assert external == [], (path, external)
            assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)[a-z0-9.-]+\.[a-z]{2,}/[^\s\"']*\.(js|css)",
                                 r.text), path


async def test_bad_filters_and_dates_are_422_pages(stack, loaded):
    _, key = loaded
    async with browser(stack) as client:
        await log_in(client, key)
        for path in ("/app/?risk=bogus", "/app/?sort=nope", "/app/?due_within=-3", "/app/due?days=0",
                     "/app/calendar?month=2026-13", f"/app/companies/{SHANGHAI_DEMO}?as_of=0001-01-01",
                     f"/app/companies/{SHANGHAI_DEMO}?as_of=yesterday"):
            r = await client.get(path)
            assert r.status_code == 422, path


async def test_as_of_shows_the_company_as_it_stood(stack, loaded):
    _, key = loaded
    async with browser(stack) as client:
        await log_in(client, key)
        now = await client.get(f"/app/companies/{SHANGHAI_DEMO}")
        then = await client.get(f"/app/companies/{SHANGHAI_DEMO}", params={"as_of": "2022-01-01"})
    count = re.compile(r'id="overdue-count">(\d+)<')
    assert now.status_code == then.status_code == 200
    assert "截至" in then.text and "2022-01-01" in then.text
    assert int(count.search(then.text).group(1)) < int(count.search(now.text).group(1))


async def test_a_read_only_key_sees_everything_and_is_marked_read_only(stack, loaded):
    tenant, _ = loaded
    reader = stack.key(tenant, "read")
    async with browser(stack) as client:
        await log_in(client, reader)
        page = await client.get("/app/")
        assert page.status_code == 200 and "只读" in page.text and SHANGHAI_DEMO in page.text
        assert (await client.get(f"/app/companies/{SHANGHAI_DEMO}")).status_code == 200


def test_a_session_ends_when_idle_too_long_past_its_lifetime_or_when_its_key_is_revoked(tmp_path):
    """Against a real gateway database (SQLite, migrated), with the clock the one thing faked."""
    engine = migrate(f"sqlite:///{tmp_path / 'gateway.db'}")
    tenant, issued = create_tenant(engine, "sessions")
    t0 = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    token, user = open_session(engine, issued.key, t0)
    assert user.tenant == tenant.id and find_session(engine, token, t0 + timedelta(minutes=5)) is not None
    assert find_session(engine, token, t0 + timedelta(minutes=5) + IDLE) is None, "idle past the limit"
    token, _ = open_session(engine, issued.key, t0)
    at = t0
    while at < t0 + LIFETIME - timedelta(minutes=30):  # kept busy: still ends at its lifetime
        at += timedelta(minutes=30)
        assert find_session(engine, token, at) is not None
    assert find_session(engine, token, t0 + LIFETIME) is None
    other = create_key(engine, tenant.id, "read")
    token, _ = open_session(engine, other.key, t0)
    revoke_key(engine, other.key_id, now=t0)
    assert find_session(engine, token, t0 + timedelta(seconds=1)) is None
    assert open_session(engine, other.key, t0) is None and open_session(engine, "lk_nonsense", t0) is None


async def test_forms_without_the_session_token_change_nothing(stack, loaded):
    tenant, key = loaded
    async with browser(stack) as client:
        await log_in(client, key)
        page = (await client.get("/app/subscriptions")).text
        token = form_token(page)
        hook = {"channel": "webhook", "target": "http://127.0.0.1:9/hook"}
        for path, form in (("/app/subscriptions", hook), ("/app/feeds", {"label": "x"}),
                           ("/app/deliveries/dlv_x/replay", {}), ("/app/logout", {})):
            assert (await client.post(path, data=form)).status_code == 403, path
            assert (await client.post(path, data={**form, "csrf": "wrong"})).status_code == 403, path
            other_site = await client.post(path, data={**form, "csrf": token}, headers={"Origin": "https://evil.example"})
            assert other_site.status_code == 403, path
        upload = await client.post("/app/import", data={"csrf": "wrong"},
                                   files={"file": ("f.csv", b"type,company\n", "text/csv")})
        assert upload.status_code == 403
        assert "还没有订阅" in (await client.get("/app/subscriptions")).text
        made = await client.post("/app/subscriptions", data={**hook, "csrf": token})
        assert made.status_code == 201 and "whsec_" in made.text


async def test_a_read_only_session_cannot_write(stack, loaded):
    tenant, _ = loaded
    reader = stack.key(tenant, "read")
    async with browser(stack) as client:
        await log_in(client, reader)
        page = (await client.get("/app/subscriptions")).text
        assert 'id="new-subscription"' not in page
        token = form_token(page)
        refused = await client.post("/app/subscriptions", data={"channel": "nats", "target": "erp", "csrf": token})
        assert refused.status_code == 403
        upload = await client.post("/app/import", data={"csrf": token},
                                   files={"file": ("f.csv", b"type,company\n", "text/csv")})
        assert upload.status_code == 403
        assert "还没有订阅" in (await client.get("/app/subscriptions")).text


async def test_a_refused_rows_file_belongs_to_its_tenant(stack, loaded):
    _, key = loaded
    _, other_key = stack.new_tenant("console-import-spy")
    rows = (b"type,company,effective_date,data.declared_seats,data.system_registered_seats,data.overseas_seats\n"
            + f"workforce.seats_declared,{SHANGHAI_DEMO},2026-11-02,many,1,0\n".encode())
    async with browser(stack) as client:
        await log_in(client, key)
        token = form_token((await client.get("/app/import")).text)
        done = await client.post("/app/import", data={"csrf": token}, files={"file": ("seats.csv", rows, "text/csv")})
        assert done.status_code == 200 and 'id="refused-count">1<' in done.text
        link = re.search(r'href="(/app/import/refused/[^"]+)"', done.text).group(1)
        got = await client.get(link)
        assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf") and b"many" in got.content
    async with browser(stack) as spy:
        await log_in(spy, other_key)
        assert (await spy.get(link)).status_code == 404
