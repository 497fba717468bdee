"""The demo's company names: distinct however large the demo (scale 100 outgrows the plain
name pools: 50 group trade names, a few thousand English firm names)."""

from __future__ import annotations

import random

from tessera.demo.companies import CORES, ENGLISH_CORES, CompanyFactory


def test_groups_keep_getting_distinct_names_after_the_plain_trade_names_run_out():
    factory = CompanyFactory(random.Random(7))
    wanted = len(CORES) * 3 * 2  # every plain group name twice over
    names = [factory.group_parent()[0].name for _ in range(wanted)]
    assert len(set(names)) == wanted
    assert all(name.endswith("有限公司") for name in names)


def test_english_firms_keep_getting_distinct_names_after_the_plain_names_run_out():
    factory = CompanyFactory(random.Random(7))
    wanted = 6000  # more than the plain names of firms in China (cores x words x cities)
    firms = [factory.foreign(in_china=True) for _ in range(wanted)]
    names = [firm.name for firm in firms]
    assert len(set(names)) == wanted
    assert len({firm.credit_code for firm in firms}) == wanted
    assert all(name.split()[0] in {core.split()[0] for core in ENGLISH_CORES} for name in names)
