"""An installed plugin extends every part it may: field types, formula functions, actions,
record rules, metadata, routes and templates; a failing hook undoes the write."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tessera.plugins import PluginError, PluginHookError, Plugins
from tessera.records import ValidationFailed
from tessera.records.actions import UnknownAction


def test_the_installed_plugin_is_found_through_its_entry_point(plugins):
    info = {p.name: p for p in plugins.info()}
    assert "example" in info and not info["example"].builtin
    assert info["example"].version == "0.1.0"
    assert "tessera_record_before_save" in info["example"].hooks
    assert [p.name for p in info["example"].packages] == ["example_gadgets"]
    assert info["tessera.default_fieldtypes"].builtin


def test_a_plugin_field_type_stores_and_checks_its_values(gadgets):
    gadget = gadgets.create("gadget", {"name": "Lamp", "rating": "4"})
    assert gadget["rating"] == 4
    with pytest.raises(ValidationFailed) as raised:
        gadgets.create("gadget", {"name": "Lamp", "rating": 9})
    assert raised.value.messages("zh-CN") == {"rating": ["请给出 1 到 5 颗星。"]}


def test_a_plugin_formula_function_computes_a_stored_field(gadgets):
    assert gadgets.create("gadget", {"name": "Lamp", "rating": 3})["stars"] == "★★★☆☆"


def test_a_plugin_action_runs_in_the_unit_of_work_with_checked_input(gadgets):
    gadget = gadgets.create("gadget", {"name": "Lamp", "rating": 3})
    with gadgets.unit_of_work() as work:
        result = work.run_action("gadget", gadget["id"], "escalate", {"reason": "customer waiting"})
    assert result == {"priority": "high", "version": 2}
    assert gadgets.get("gadget", gadget["id"])["escalation_reason"] == "customer waiting"
    with pytest.raises(ValidationFailed) as raised, gadgets.unit_of_work() as work:
        work.run_action("gadget", gadget["id"], "escalate", {"why": 1})
    assert raised.value.messages() == {"reason": ["This field is required."],
                                       "why": ["There is no field called 'why'."]}
    with pytest.raises(UnknownAction), gadgets.unit_of_work() as work:
        work.run_action("gadget", gadget["id"], "launch", {})


def test_a_before_save_rule_refuses_with_a_bilingual_message(gadgets):
    with pytest.raises(ValidationFailed) as raised:
        gadgets.create("gadget", {"name": "Lamp", "rating": 1, "status": "published"})
    assert raised.value.messages("en") == {"rating": ["A published gadget needs at least 2 stars."]}
    assert raised.value.messages("zh-CN") == {"rating": ["已发布的小工具至少需要 2 颗星。"]}


def test_a_failing_hook_rolls_back_the_write_and_names_the_plugin(gadgets):
    with pytest.raises(PluginHookError) as raised:
        gadgets.create("gadget", {"name": "explode", "rating": 3})
    assert raised.value.plugin == "example" and raised.value.hook == "tessera_record_after_save"
    table = gadgets.schema.table("gadget")
    with gadgets.db.begin() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(gadgets.schema.history)).scalar() == 0


def test_the_app_installs_the_plugins_package_and_serves_its_routes_and_templates(example_plugin, tmp_path):
    from tessera.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    assert "gadget" in app.extensions["tessera"].objects
    page = app.test_client().get("/example/hello").get_data(as_text=True)
    assert '<p class="example">Hello from the example plugin</p>' in page
    assert "<html" in page  # the plugin's template extends the engine's base template


def test_an_empty_selection_loads_every_installed_plugin_and_a_named_one_only_that(example_plugin, tmp_path,
                                                                                   monkeypatch):
    fake_distribution(tmp_path, "other", "other_plugin", "from tessera.hookspecs import hookimpl\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert {"example", "other"} <= {p.name for p in Plugins.load("").info()}
    assert {p.name for p in Plugins.load("example").info() if not p.builtin} == {"example"}


def test_selecting_a_plugin_that_is_not_installed_stops_start_up(example_plugin):
    with pytest.raises(PluginError, match="TESSERA_PLUGINS names 'nope', which is not installed"):
        Plugins.load("nope")


def test_a_plugin_that_fails_to_import_stops_start_up_naming_it(tmp_path, monkeypatch):
    fake_distribution(tmp_path, "broken", "broken_plugin", "raise ImportError('needs numpy')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match=r"plugin 'broken' \(broken_plugin\) failed to import: ImportError: needs numpy"):
        Plugins.load()


def test_a_misspelt_hook_implementation_is_refused(tmp_path, monkeypatch):
    code = ("from tessera.hookspecs import hookimpl\n\n@hookimpl\n"
            "def tessera_record_befor_save(object, record):\n    return None\n")
    fake_distribution(tmp_path, "typo", "typo_plugin", code)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="plugin 'typo' implements an unknown hook"):
        Plugins.load()


def fake_distribution(site, name: str, module: str, code: str) -> None:
    """An installed distribution with a ``tessera`` entry point, as pip would leave it."""
    (site / f"{module}.py").write_text(code)
    info = site / f"{module}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[tessera]\n{name} = {module}\n")


def test_a_plugin_shipping_invalid_metadata_stops_start_up_naming_it(tmp_path, monkeypatch):
    from tessera.app import create_app

    package = tmp_path / "bad_meta_plugin_files" / "bad_objects"
    (package / "objects").mkdir(parents=True)
    (package / "package.yaml").write_text("name: bad_objects\nversion: 0.1.0\nlabel: {en: Bad, zh-CN: 坏}\n")
    (package / "objects" / "thing.yaml").write_text("label: {en: Thing, zh-CN: 物}\nplural_label: {en: T, zh-CN: 物}\n"
                                                    "fields:\n  name: {type: txt, label: {en: N, zh-CN: 名}}\n")
    code = ("from pathlib import Path\nfrom tessera.hookspecs import hookimpl\n\n@hookimpl\n"
            f"def tessera_metadata_packages():\n    return [Path({str(package)!r})]\n")
    fake_distribution(tmp_path, "badmeta", "badmeta_plugin", code)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as raised:
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"})
    assert "plugin 'badmeta' ships invalid metadata" in str(raised.value)
    assert "thing.yaml:4:16: 'txt' is not one of" in str(raised.value)
