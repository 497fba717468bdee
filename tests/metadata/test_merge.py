"""Packages and overlays: what a package may change, and who wins."""

from __future__ import annotations

import pytest

from tessera.metadata.errors import MetadataError
from tessera.metadata.registry import build_org_registry

BASE_LEAD = """
name: lead
label: {en: Lead, zh-CN: 线索}
plural_label: {en: Leads, zh-CN: 线索}
fields:
  name: {type: text, label: {en: Name, zh-CN: 姓名}, max_length: 80}
  phone: {type: phone, label: {en: Phone, zh-CN: 电话}}
  fax: {type: text, label: {en: Fax, zh-CN: 传真}}
  status:
    type: picklist
    label: {en: Status, zh-CN: 状态}
    options:
      - {value: new, label: {en: New, zh-CN: 新建}}
      - {value: done, label: {en: Done, zh-CN: 完成}}
validations:
  - name: phone_required
    condition: ISBLANK(phone)
    message: {en: Phone is required, zh-CN: 请填写电话}
layouts:
  form:
    sections:
      - {name: main, label: {en: Main, zh-CN: 主要}, columns: [[name, phone]]}
  list_views:
    all: {label: {en: All, zh-CN: 全部}, columns: [name]}
"""


@pytest.fixture
def base(write_package):
    return write_package("base", {"objects/lead.yaml": BASE_LEAD})


def build(tmp_path, *names, overlay=None):
    return build_org_registry(list(names), search_paths=[tmp_path], overlay=overlay)


def test_a_template_adds_fields_options_and_changes_properties(tmp_path, base, write_package):
    write_package("tmpl", {"objects/lead.yaml": """
        name: lead
        fields:
          seats: {type: integer, label: {en: Seats, zh-CN: 席位}, min: 1}
          name: {max_length: 120, help: {en: Full name, zh-CN: 全名}}
          status:
            options:
              - {value: trial, label: {en: Trial, zh-CN: 试用}}
              - {value: new, label: {en: Fresh, zh-CN: 新线索}}
        """}, extends="base")
    lead = build(tmp_path, "tmpl").object("lead")
    assert list(lead.fields)[-1] == "seats"
    assert lead.field("name").max_length == 120
    assert lead.field("name").help("zh-CN") == "全名"
    assert [o.value for o in lead.field("status").options] == ["new", "done", "trial"]
    assert lead.field("status").option("new").label("en") == "Fresh"
    assert lead.packages == ("base", "tmpl")


def test_a_template_deactivates_a_rule_and_replaces_layouts(tmp_path, base, write_package):
    write_package("tmpl", {"objects/lead.yaml": """
        name: lead
        validations:
          - {name: phone_required, active: false}
        layouts:
          form:
            sections:
              - {name: only, label: {en: Only, zh-CN: 唯一}, columns: [[phone]]}
          list_views:
            mine: {label: {en: Mine, zh-CN: 我的}, columns: [phone], filter: {owner_id: $me}}
        """}, extends="base")
    lead = build(tmp_path, "tmpl").object("lead")
    assert [(r.name, r.active) for r in lead.validations] == [("phone_required", False)]
    assert [s.name for s in lead.form.sections] == ["only"]
    assert set(lead.list_views) == {"all", "mine"}


def test_a_type_change_needs_change_type(tmp_path, base, write_package):
    write_package("tmpl", {"objects/lead.yaml": "name: lead\nfields:\n  phone: {type: text}\n"}, extends="base")
    with pytest.raises(MetadataError) as raised:
        build(tmp_path, "tmpl")
    assert "must be explicit: add 'change_type: true'" in str(raised.value)


def test_an_explicit_type_change_drops_properties_the_new_type_does_not_take(tmp_path, base, write_package):
    write_package("tmpl", {"objects/lead.yaml": """
        name: lead
        fields:
          status: {type: text, change_type: true, max_length: 20}
        """}, extends="base")
    status = build(tmp_path, "tmpl").object("lead").field("status")
    assert (status.type, status.options, status.max_length) == ("text", (), 20)


def test_a_removed_field_leaves_the_registry_but_is_remembered(tmp_path, base, write_package):
    write_package("tmpl", {"objects/lead.yaml": "name: lead\nfields:\n  fax: {remove: true}\n"}, extends="base")
    lead = build(tmp_path, "tmpl").object("lead")
    assert "fax" not in lead.fields
    assert lead.removed_fields == ("fax",)


def test_changing_an_object_needs_extends_not_just_depends(tmp_path, base, write_package):
    write_package("addon", {"objects/lead.yaml": "name: lead\nicon: star\n"}, depends=["base"])
    with pytest.raises(MetadataError) as raised:
        build(tmp_path, "addon")
    assert "declare 'extends: base'" in str(raised.value)


def test_independent_templates_setting_one_property_differently_conflict(tmp_path, base, write_package):
    write_package("tmpl_a", {"objects/lead.yaml": "name: lead\nicon: star\n"}, extends="base")
    b = write_package("tmpl_b", {"objects/lead.yaml": "name: lead\nicon: flag\n"}, extends="base")
    with pytest.raises(MetadataError) as raised:
        build(tmp_path, "tmpl_a", "tmpl_b")
    [problem] = raised.value.problems
    assert "conflict: packages 'tmpl_a' and 'tmpl_b' both set lead.icon" in problem.message
    assert "tmpl_a/objects/lead.yaml:2:7" in problem.message  # names the other file too
    assert problem.location.file.endswith("tmpl_b/objects/lead.yaml")
    assert b.exists()


def test_independent_templates_agreeing_on_a_value_do_not_conflict(tmp_path, base, write_package):
    write_package("tmpl_a", {"objects/lead.yaml": "name: lead\nicon: star\n"}, extends="base")
    write_package("tmpl_b", {"objects/lead.yaml": "name: lead\nicon: star\n"}, extends="base")
    assert build(tmp_path, "tmpl_a", "tmpl_b").object("lead").icon == "star"


def test_a_dependant_overrides_what_it_depends_on(tmp_path, base, write_package):
    write_package("tmpl_a", {"objects/lead.yaml": "name: lead\nicon: star\n"}, extends="base")
    write_package("tmpl_c", {"objects/lead.yaml": "name: lead\nicon: flag\n"}, extends="tmpl_a")
    registry = build(tmp_path, "tmpl_c")
    assert registry.object("lead").icon == "flag"
    assert [p.name for p in registry.packages] == ["base", "tmpl_a", "tmpl_c"]


def test_the_org_overlay_may_change_anything_installed(tmp_path, base, write_package):
    write_package("tmpl_a", {"objects/lead.yaml": "name: lead\nicon: star\n"}, extends="base")
    overlay = tmp_path / "org"
    (overlay / "objects").mkdir(parents=True)
    (overlay / "objects" / "lead.yaml").write_text("name: lead\nicon: flag\nfields:\n  phone: {required: true}\n")
    lead = build(tmp_path, "tmpl_a", overlay=overlay).object("lead")
    assert lead.icon == "flag"
    assert lead.field("phone").required


def test_packages_load_dependencies_first_whatever_the_order_asked(tmp_path, base, write_package):
    write_package("zeta", {}, depends=["base"])
    write_package("alpha", {}, depends=["zeta"])
    registry = build(tmp_path, "alpha", "base")
    assert [p.name for p in registry.packages] == ["base", "zeta", "alpha"]
