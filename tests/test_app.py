"""The app factory, the start page and its two languages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tessera.app import create_app
from tessera.metadata.errors import MetadataError

TRANSLATIONS = Path(__file__).resolve().parents[1] / "platform" / "tessera" / "translations"


def test_start_page_lists_the_loaded_objects(client, app):
    page = client.get("/?lang=en").get_data(as_text=True)
    registry = app.extensions["tessera"]
    assert "Metadata loaded" in page
    for obj in registry.objects.values():
        assert f"<code>{obj.name}</code>" in page
        assert obj.label("en") in page


def test_start_page_follows_the_browser_language(client, app):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in page
    assert "已加载的元数据" in page
    opportunity = app.extensions["tessera"].object("opportunity")
    assert opportunity.label("zh-CN") in page


def test_lang_parameter_overrides_the_browser(client):
    page = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="en">' in page


def test_health_names_the_installed_packages(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok"
    assert "l2c" in body["packages"]
    assert body["objects"] > 0


def test_app_refuses_to_start_on_invalid_metadata(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "account.yaml").write_text("name: account\nfields:\n  region: {type: txt}\n")
    with pytest.raises(MetadataError) as raised:
        create_app({"TESTING": True, "OVERLAY_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    problem = raised.value.problems[0]
    assert problem.location.line == 3
    assert "'txt' is not one of" in problem.message


def test_an_overlay_folder_changes_the_org_registry(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "account.yaml").write_text(
        "name: account\nfields:\n  tier: {type: integer, label: {en: Tier, zh-CN: 等级}}\n")
    app = create_app({"TESTING": True, "OVERLAY_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"})
    assert "tier" in app.extensions["tessera"].object("account").fields


def test_every_ui_string_has_a_chinese_translation():
    with open(TRANSLATIONS / "messages.pot", "rb") as handle:
        template = read_po(handle)
    with open(TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    missing = [m.id for m in template if m.id and not (catalog.get(m.id) and catalog.get(m.id).string)]
    assert missing == []


def test_compiled_catalogue_matches_its_source():
    with open(TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po", "rb") as handle:
        source = {m.id: m.string for m in read_po(handle) if m.id}
    with open(TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = {m.id: m.string for m in read_mo(handle) if m.id}
    assert compiled == source, "run: pybabel compile -d platform/tessera/translations"


def test_templates_use_no_untranslated_text_outside_gettext():
    """Every message the templates use is in the extracted template (re-extract if this fails)."""
    from babel.messages.extract import extract_from_dir

    root = Path(__file__).resolve().parents[1]
    extracted = {message[2] for message in extract_from_dir(str(root / "ui" / "templates"),
                                                             method_map=[("**.html", "jinja2")])}
    with open(TRANSLATIONS / "messages.pot", "rb") as handle:
        known = {m.id for m in read_po(handle) if m.id}
    assert {m if isinstance(m, str) else m[0] for m in extracted} <= known


def test_python_messages_are_in_the_catalogue_template():
    """Every message the code marks (``_``/``gettext``, ``_l``, ``translate``, ``said``) is in the template,
    so it gets a translation (re-extract: pybabel extract -F babel.cfg -k _l -k translate -k said
    --no-location --omit-header -o platform/tessera/translations/messages.pot .)."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    root = Path(__file__).resolve().parents[1]
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "translate": None, "said": None}
    extracted = {message[2] for message in extract_from_dir(str(root / "platform" / "tessera"), keywords=keywords,
                                                             method_map=[("**.py", "python")])}
    with open(TRANSLATIONS / "messages.pot", "rb") as handle:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}
    assert {m if isinstance(m, str) else m[0] for m in extracted if m} - known == set()


def test_start_page_says_when_the_database_is_not_deployed(client):
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "run tessera metadata deploy" in page


def test_start_page_counts_records_once_deployed(app, client):
    from tessera.storage.sync import deploy

    service = app.extensions["tessera.records"]
    deploy(service.registry, service.db)
    service.create("account", {"name": "Acme"})
    page = client.get("/?lang=en").get_data(as_text=True)
    assert "run tessera metadata deploy" not in page
    fields, records = re.search(r"<code>account</code></td><td>(\d+)</td><td>(\d+)</td>", page).groups()
    assert records == "1"
    assert int(fields) == len([f for f in service.registry.object("account").fields.values() if not f.system])


def test_a_signed_in_users_language_picks_the_page_language(tmp_path):
    from tessera.app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "t", "PASSWORD_PROFILE": "CHEAPEST",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}"})
    user = app.extensions["tessera.platform"].create_user("default", "li", None, "admin", locale="zh-CN")
    token, _info = app.extensions["tessera.platform"].create_token(user, "test")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    assert '<html lang="zh-CN">' in client.get("/", headers=headers).get_data(as_text=True)
    assert '<html lang="en">' in client.get("/?lang=en", headers=headers).get_data(as_text=True)


def test_a_message_said_later_is_said_whole_in_the_readers_language():
    from tessera.i18n import said
    from tessera.metadata.model import Label

    message = said("%(key)s: %(problem)s", key="score__gte",
                   problem=said("expected a number, got %(value)s", value=said("a list")))
    assert str(message) == "score__gte: expected a number, got a list"
    assert message.text("zh-CN") == "score__gte：应为数字，实际为 列表"
    labelled = said("unknown field '%(name)s' on %(object)s%(suggestion)s", name="x",
                    object=Label.of({"en": "Lead", "zh-CN": "线索"}), suggestion="")
    assert labelled.text("zh-CN") == "线索 上没有字段“x”"
