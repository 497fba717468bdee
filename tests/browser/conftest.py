"""Browser tests: Playwright drives Debian's Chromium (``/usr/bin/chromium``; ``make test``
installs it) against a live Tessera server holding the demo company.

Fixtures (use them in any ``tests/browser/test_*.py``):

``live_server``  (session) the server: ``.url`` (``http://127.0.0.1:<port>``), ``.app`` (the Flask
                 app, for ``.records`` setup through the record service), ``.records`` (the
                 default org's RecordService), ``.user(username)`` (a platform User, for
                 ``.actor()``). The app is ``create_app`` over a fresh SQLite database in a temp
                 folder with the L2C package and the demo company at a small scale (see
                 ``demo_site_factory`` in tests/conftest.py), served by werkzeug in a thread.
``browser``      (session) the Chromium instance.
``signed_in_page`` a factory: ``signed_in_page("zhang.wei")`` -> a Playwright ``Page`` in a fresh
                 browser context, signed in as that demo user (password ``DEMO_PASSWORD``);
                 ``locale="zh-CN"`` starts it in Chinese. Sign-ins are done once per user
                 through the real /login form and their cookies reused. Contexts close after
                 the test.
``page``         ``signed_in_page("admin")``.
``screenshot``   ``screenshot(page, "list-leads")`` saves ``artifacts/screenshots/list-leads.png``
                 (artifacts/ is not committed).

Demo users: admin (admin), chen.zhiqiang (sales_director), liu.yang (sales_manager, east),
zhang.wei / wang.fang (sales_rep, east), lin.xiao (marketing), gao.feng (finance).

Wait for conditions (``expect(...)``, ``page.wait_for_selector``); never sleep.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
DEMO_PASSWORD = "tessera-demo"

if not os.path.exists(CHROMIUM):  # pragma: no cover - `make test` installs it
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it)", allow_module_level=True)

from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

expect.set_options(timeout=10_000)


@dataclass
class LiveServer:
    url: str
    app: Any

    @property
    def records(self) -> Any:
        return self.app.extensions["tessera.records"]

    def user(self, username: str) -> Any:
        return self.app.extensions["tessera.platform"].user("default", username)


@pytest.fixture(scope="session")
def live_server(demo_site_factory) -> Iterator[LiveServer]:
    from werkzeug.serving import make_server

    app = demo_site_factory("browser")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="tessera-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def _sessions() -> dict[str, Any]:
    """Signed-in cookies per user name (storage state), shared by the whole run."""
    return {}


@pytest.fixture
def signed_in_page(browser: Browser, live_server: LiveServer, _sessions) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []

    def open_page(username: str = "admin", *, locale: str | None = None) -> Page:
        if username not in _sessions:
            context = browser.new_context(base_url=live_server.url)
            page = context.new_page()
            page.goto("/login?lang=en")
            page.get_by_label("User name").fill(username)
            page.get_by_label("Password").fill(DEMO_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.locator("#user-menu")).to_be_visible()
            _sessions[username] = context.storage_state()
            context.close()
        context = browser.new_context(base_url=live_server.url, storage_state=_sessions[username],
                                      viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"/?lang={locale or 'en'}")
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(signed_in_page) -> Page:
    return signed_in_page("admin")


@pytest.fixture(scope="session")
def screenshot() -> Callable[[Page, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def save(page: Page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
