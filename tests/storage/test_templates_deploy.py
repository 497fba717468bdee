"""Each industry template deploys on top of a deployed L2C org, and says everything in two languages."""

from __future__ import annotations

import pytest

from tessera.metadata.registry import build_org_registry, default_search_paths
from tessera.metadata.packages import find_package_roots, package_name
from tessera.storage.sync import deploy, plan_sync

TEMPLATES = sorted(name for root in find_package_roots(default_search_paths()[0] / "templates")
                   if (name := package_name(root)))


def test_the_four_industry_templates_are_bundled():
    assert TEMPLATES == ["fmcg", "manufacturing", "saas", "services"]


@pytest.mark.parametrize("template", TEMPLATES)
def test_a_template_deploys_on_top_of_l2c_and_a_second_deploy_changes_nothing(template, database):
    deploy(build_org_registry(["l2c"]), database)
    registry = build_org_registry(["l2c", template])
    result = deploy(registry, database)
    assert result.applied
    assert {p["name"] for p in result.packages} == {"l2c", template}
    assert plan_sync(registry, database).is_empty


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_label_a_template_brings_is_in_english_and_chinese(template):
    registry = build_org_registry(["l2c", template])
    missing = []
    for obj in registry.objects.values():
        for field in obj.fields.values():
            texts = [("label", field.label), *(("option " + o.value, o.label) for o in field.options)]
            for what, text in texts:
                if not (text.values.get("en") and text.values.get("zh-CN")):
                    missing.append(f"{obj.name}.{field.name} {what}")
    assert missing == []
