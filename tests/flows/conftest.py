from __future__ import annotations

import pytest

from tessera.records import RecordService
from tests.flows.crm import make_service


@pytest.fixture
def crm(write_package, tmp_path, database):
    """``crm(name=flow_yaml, ...)``: the small CRM package with these flows, deployed; its service."""

    def build(directory=None, **flows: str) -> RecordService:
        return make_service(write_package, tmp_path, database, directory, **flows)

    return build
