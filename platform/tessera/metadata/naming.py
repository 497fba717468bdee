"""Names the database will use, decided in one place so metadata checks and storage agree."""

from __future__ import annotations

import hashlib


def constraint_name(kind: str, table: str, columns: tuple[str, ...]) -> str:
    """A deterministic index or constraint name within PostgreSQL's 63 characters."""
    name = f"{kind}_{table}_{'_'.join(columns)}"
    if len(name) <= 63:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:10]
    return f"{name[:52]}_{digest}"


def automatic_indexes(object_name: str, fields: list[tuple[str, bool, bool]]) -> list[str]:
    """The names of the indexes every object gets without declaring them; ``fields`` holds
    (name, unique, indexed-or-lookup) for each stored field."""
    names = [constraint_name("ix", object_name, ("owner_id",)), constraint_name("ix", object_name, ("created_at", "id"))]
    for name, unique, indexed in fields:
        if unique:
            names.append(constraint_name("uq", object_name, (name,)))
        elif indexed:
            names.append(constraint_name("ix", object_name, (name,)))
    return names
