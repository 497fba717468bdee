"""Where the bundled metadata/ and ui/ folders live, installed or in a checkout.

A wheel carries them inside the package as ``tessera/_bundled/`` (hatchling force-include);
a source checkout or editable install finds them at the repository root. Everything that
needs them asks here, so there is one rule for both cases.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def bundled_path(name: str) -> Path:
    """Return the folder ``name`` (``metadata`` or ``ui``) shipped with Tessera."""
    installed = _PACKAGE_DIR / "_bundled" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"Tessera's bundled '{name}' folder is missing (looked in {installed} and {checkout})"
    )
