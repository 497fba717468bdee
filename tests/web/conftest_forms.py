"""Fixtures of the record page and form tests, imported by those modules (tests/web/conftest.py
serves the list tests with the demo company; these tests need an object with every field type,
the example plugin and users of every L2C role, so they build their own site).

One site per test session on SQLite: the app with L2C, the example plugin (pip-installed as a
user would) and a ``specimen`` object in the org's overlay that has one field of every type; users
of the L2C roles signed in through /login, each with a test client that posts forms with the
session's CSRF token as a browser does. Tests make their own records (named after a tag).
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "example_plugin"
PASSWORD = "correct horse battery"
#: user name -> role (L2C's roles, and the overlay's specimen keeper); mei reads Chinese
ROLES = {"boss": "admin", "alice": "sales_rep", "bob": "sales_rep", "mei": "sales_rep", "maria": "marketing",
         "manny": "sales_manager", "kim": "specimen_keeper"}

FIELD_TYPES_OBJECT = """
name: specimen
label: {en: Specimen, zh-CN: 样本}
plural_label: {en: Specimens, zh-CN: 样本}
name_field: title
fields:
  title: {type: text, required: true, max_length: 80, label: {en: Title, zh-CN: 标题}}
  notes: {type: textarea, label: {en: Notes, zh-CN: 备注}, help: {en: Anything worth knowing, zh-CN: 值得记录的内容}}
  email: {type: email, label: {en: Email, zh-CN: 邮箱}}
  phone: {type: phone, label: {en: Phone, zh-CN: 电话}}
  website: {type: url, label: {en: Website, zh-CN: 网址}}
  count: {type: integer, min: 0, label: {en: Count, zh-CN: 数量}}
  ratio: {type: decimal, scale: 3, label: {en: Ratio, zh-CN: 比率}}
  share: {type: percent, label: {en: Share, zh-CN: 占比}}
  currency_code:
    type: picklist
    default: CNY
    label: {en: Currency, zh-CN: 币种}
    options:
      - {value: CNY, label: {en: Yuan, zh-CN: 人民币}}
      - {value: USD, label: {en: Dollar, zh-CN: 美元}}
  price: {type: currency, currency_field: currency_code, label: {en: Price, zh-CN: 价格}}
  due_on: {type: date, label: {en: Due on, zh-CN: 截止日期}}
  starts_at: {type: datetime, label: {en: Starts at, zh-CN: 开始时间}}
  active: {type: boolean, default: false, label: {en: Active, zh-CN: 启用}}
  stage:
    type: picklist
    label: {en: Stage, zh-CN: 阶段}
    options:
      - {value: fresh, label: {en: Fresh, zh-CN: 新}}
      - {value: stale, label: {en: Stale, zh-CN: 旧}, active: false}
  reason:
    type: text
    label: {en: Reason, zh-CN: 原因}
    visible_when: stage = "fresh"
    required_when: stage = "fresh"
  tags:
    type: multi_picklist
    label: {en: Tags, zh-CN: 标签}
    options: [{value: red, label: {en: Red, zh-CN: 红}}, {value: green, label: {en: Green, zh-CN: 绿}},
              {value: grey, label: {en: Grey, zh-CN: 灰}, active: false}]
  account: {type: lookup, target: account, label: {en: Account, zh-CN: 客户}}
  settings: {type: json, label: {en: Settings, zh-CN: 设置}}
  doubled: {type: formula, result: decimal, scale: 3, expression: ratio * 2, label: {en: Doubled, zh-CN: 两倍}}
  code: {type: auto_number, pattern: "S-{0000}", label: {en: Code, zh-CN: 编号}}
layouts:
  form:
    sections:
      - name: main
        label: {en: Main, zh-CN: 主要信息}
        columns:
          - [code, title, notes, email, phone, website, account, settings]
          - [count, ratio, doubled, share, currency_code, price, due_on, starts_at, active, stage, reason, tags]
"""

ROLE = """
label: {en: Specimen keeper, zh-CN: 样本管理员}
objects:
  "*": [read]
  specimen: [create, read, edit, delete, view_all, modify_all]
fields:
  specimen.notes: hidden
  specimen.email: read_only
"""

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@dataclass
class Site:
    """The app, its default org's record service (as the system, for arranging data), and a
    signed-in test client per user."""

    app: Any
    clients: dict[str, Any] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> Any:
        return self.app.extensions["tessera.records"]

    def user_id(self, username: str) -> int:
        return self.app.extensions["tessera.platform"].user("default", username).id

    def client(self, user: str, *, fresh: bool = False) -> Any:
        """The signed-in client of ``user`` (``fresh``: a new session, for language tests)."""
        if user in self.clients and not fresh:
            return self.clients[user]
        client = self.app.test_client()
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"csrf_token": _CSRF.search(page).group(1), "org": "default",
                                               "username": user, "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)
        client.csrf = csrf_of(client)
        if not fresh:
            self.clients[user] = client
        return client

    def get(self, path: str, user: str = "boss", **kwargs: Any) -> Any:
        return self.client(user).get(path, **kwargs)

    def post(self, path: str, data: Any = None, user: str = "boss", *, csrf: bool = True, htmx: bool = False,
             **kwargs: Any) -> Any:
        client = self.client(user)
        data = _pairs(data or {})
        if csrf:
            data.append(("csrf_token", client.csrf))
        headers = dict(kwargs.pop("headers", {}))
        if htmx:
            headers["HX-Request"] = "true"
        return client.post(path, data=_multidict(data), headers=headers, **kwargs)


def csrf_of(client: Any) -> str:
    page = client.get("/login").get_data(as_text=True)
    found = _CSRF.search(page)
    if found is None:  # the sign-in page may redirect signed-in users: any page has the meta tag
        page = client.get("/").get_data(as_text=True)
        found = _CSRF.search(page)
    return found.group(1)


def _pairs(data: Any) -> list[tuple[str, Any]]:
    if isinstance(data, dict):
        pairs: list[tuple[str, Any]] = []
        for key, value in data.items():
            if isinstance(value, list):
                pairs.extend((key, item) for item in value)
            else:
                pairs.append((key, value))
        return pairs
    return list(data)


def _multidict(pairs: list[tuple[str, Any]]) -> Any:
    from werkzeug.datastructures import MultiDict

    return MultiDict(pairs)


class _Inputs(HTMLParser):
    """The values a browser would post for one form: inputs, selects and textareas by name."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.depth = 0
        self.pairs: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and found.get("id") == self.form_id:
            self.inside = True
            return
        if not self.inside or "disabled" in found:
            return
        name = found.get("name")
        if tag == "input" and name:
            kind = found.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in found:
                return
            if kind not in ("submit", "button"):
                self.pairs.append((name, found.get("value") or ("on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select is not None and "selected" in found:
            self.pairs.append((self._select, found.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.pairs.append((self._textarea, "".join(self._text).removeprefix("\n")))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_inputs(page: str, form_id: str = "record-form") -> list[tuple[str, str]]:
    """What submitting form ``form_id`` of ``page`` unchanged would post (without the CSRF token)."""
    parser = _Inputs(form_id)
    parser.feed(page)
    return [(k, v) for k, v in parser.pairs if k != "csrf_token"]


def replace(pairs: list[tuple[str, str]], **values: Any) -> list[tuple[str, Any]]:
    """``pairs`` with the named inputs' values replaced (a list value gives one pair per item)."""
    result = [(k, v) for k, v in pairs if k not in values]
    for key, value in values.items():
        result.extend((key, item) for item in (value if isinstance(value, list) else [value]))
    return result


@pytest.fixture(scope="session")
def forms_site(tmp_path_factory) -> Iterator[Site]:
    from tessera.app import create_app
    from tessera.storage.sync import deploy

    folder = tmp_path_factory.mktemp("forms")
    example_plugin_site = folder / "plugin-site"  # the example plugin pip-installed, as a user would
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(example_plugin_site), str(EXAMPLE)], check=True, capture_output=True, text=True)
    overlay = folder / "overlay"
    (overlay / "objects").mkdir(parents=True)
    (overlay / "roles").mkdir()
    (overlay / "objects" / "specimen.yaml").write_text(FIELD_TYPES_OBJECT, encoding="utf-8")
    (overlay / "roles" / "specimen_keeper.yaml").write_text(ROLE, encoding="utf-8")
    settings = {"TESTING": True, "SECRET_KEY": "test", "PASSWORD_PROFILE": "CHEAPEST", "PACKAGES": "l2c",
                "PLUGINS": "example", "OVERLAY_DIR": str(overlay), "LOGIN_RATE_LIMIT": "1000 per minute",
                "DATABASE_URL": f"sqlite:///{folder / 'instance' / 'tessera.db'}"}
    sys.path.insert(0, str(example_plugin_site))
    try:
        app = create_app(settings)
    finally:
        sys.path.remove(str(example_plugin_site))
    service = app.extensions["tessera.records"]
    deploy(service.registry, service.db)
    store = app.extensions["tessera.platform"]
    for username, role in ROLES.items():
        store.create_user("default", username, PASSWORD, role, name=username.title(),
                          locale="zh-CN" if username == "mei" else "en", time_zone="Asia/Shanghai")
    result = Site(app)
    result.ids = _catalogue(service)
    try:
        yield result
    finally:
        app.extensions["tessera.orgs"].close()
        store.dispose()


def _catalogue(records: Any) -> dict[str, int]:
    """What quotes need: a unit, two products on sale, a price book and an account."""
    unit = records.create("unit", {"name": "Piece", "code": "PCS"})
    pump = records.create("product", {"name": "Pump", "code": "P-1", "unit": unit["id"], "status": "on_sale",
                                      "sold_separately": True, "tax_rate": "13"})
    valve = records.create("product", {"name": "Valve", "code": "V-1", "unit": unit["id"], "status": "on_sale",
                                       "sold_separately": True, "tax_rate": "13"})
    hidden = records.create("product", {"name": "Pump retired", "code": "P-0", "unit": unit["id"],
                                        "status": "discontinued", "sold_separately": True})
    book = records.create("price_book", {"name": "Standard", "code": "STD"})
    return {"unit": unit["id"], "pump": pump["id"], "valve": valve["id"], "retired": hidden["id"],
            "price_book": book["id"]}


@pytest.fixture
def tag() -> str:
    """A word unique to one test, to put in the names of its records."""
    return f"t{uuid.uuid4().hex[:10]}"


def text_of(html: str) -> str:
    """The page's text without tags (to look for words as a reader sees them)."""
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", " ", html))


def tag_of(page: str, name: str, element: str = "input|textarea|select|output|fieldset") -> str:
    """The opening tag of the element named (or, for outputs and fieldsets, with the id) ``name``."""
    found = re.search(rf'<(?:{element})\b[^>]*\b(?:name="{re.escape(name)}"|id="f-{re.escape(name)}")[^>]*>', page)
    assert found is not None, f"no element for {name}"
    return found.group(0)


def wrapper_of(page: str, name: str) -> str:
    """The field wrapper ``w-<name>`` with everything in it (label, widget, help, errors)."""
    start = page.index(f'id="w-{name}"')
    start = page.rindex("<", 0, start)
    tag = page[start + 1:page.index(" ", start)]
    depth, index = 0, start
    opening, closing = re.compile(rf"<{tag}\b"), f"</{tag}>"
    while True:
        next_open = opening.search(page, index + 1)
        next_close = page.index(closing, index + 1)
        if next_open is not None and next_open.start() < next_close:
            depth += 1
            index = next_open.start()
        elif depth:
            depth -= 1
            index = next_close
        else:
            return page[start:next_close + len(closing)]


def assert_escaped(page: str, payloads: dict[str, str], marker: str) -> None:
    """No payload arrives as markup: neither its script, nor its image, nor its attribute break-out."""
    for raw in ("<script>window.__xss", "<img src=x onerror", f'{marker}"><'):
        assert raw not in page
