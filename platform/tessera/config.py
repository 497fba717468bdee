"""Settings: embedded defaults, then ``TESSERA_*`` environment variables, then test overrides."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

#: every setting Tessera reads, with its default (TESSERA_<NAME> overrides it)
DEFAULTS: dict[str, Any] = {
    # where records live; SQLite in instance/ by default (storage arrives with the records issue)
    "DATABASE_URL": "sqlite:///instance/tessera.db",
    # Celery broker; empty means jobs run eagerly in-process (docs/jobs.md has the jobs settings)
    "BROKER_URL": "",
    # where Celery keeps task results; empty means the broker's Redis
    "RESULT_BACKEND": "",
    # the Celery queue Tessera's jobs go to (several deployments may share one Redis)
    "JOBS_QUEUE": "tessera",
    # seconds an unacknowledged job stays with a worker before Redis hands it to another (a
    # killed worker's jobs come back after this); also when a stuck queued or running job is
    # dispatched again. Keep it above the longest job's run time.
    "JOBS_VISIBILITY_TIMEOUT": 3600,
    # attempts before a job is marked failed, and the retry back-off: base * 2^(attempt-1) s, capped
    "JOBS_MAX_ATTEMPTS": 5,
    "JOBS_BACKOFF_SECONDS": 10,
    "JOBS_BACKOFF_MAX_SECONDS": 3600,
    # the time zone periodic jobs' cron schedules are read in
    "JOBS_TIMEZONE": "UTC",
    # seconds between the in-process scheduler's looks at the clock (no broker: inside `tessera serve`)
    "JOBS_TICK_SECONDS": 30,
    # how e-mail is delivered: console (printed), file (.eml files in EMAIL_FILE_DIR, default
    # instance/mail), smtp (EMAIL_SMTP_URL: smtp://user:password@host:587), or a plugin's sender
    "EMAIL_SENDER": "console",
    "EMAIL_FROM": "Tessera <tessera@localhost>",
    "EMAIL_FILE_DIR": "",
    "EMAIL_SMTP_URL": "",
    # seconds a webhook's receiver has to answer before the attempt fails (and is retried)
    "WEBHOOK_TIMEOUT": 10,
    # comma-separated plugin names to load; empty means every installed plugin
    "PLUGINS": "",
    # the packages the default org installs (their dependencies come along)
    "PACKAGES": "l2c",
    # extra folders searched for metadata packages, separated by os.pathsep
    "METADATA_PATH": "",
    # the default org's overlay folder, merged before the overlay stored in its database
    "OVERLAY_DIR": "",
    # seconds between a process's looks at whether an org's stored metadata changed (an overlay
    # change or deploy by another process), after which it rebuilds that org's registry; 0: every request
    "METADATA_REFRESH_SECONDS": 1,
    "LANGUAGES": ["en", "zh-CN"],
}


def load_settings(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The effective settings (used by the app factory and by commands without an app)."""
    settings = dict(DEFAULTS)
    prefix = "TESSERA_"
    for key, value in os.environ.items():
        if key.startswith(prefix) and value != "":
            settings[key[len(prefix):]] = value
    if overrides:
        settings.update(overrides)
    if not settings.get("SECRET_KEY"):
        # a per-process key keeps a development server working; production sets TESSERA_SECRET_KEY
        settings["SECRET_KEY"] = secrets.token_hex(32)
    return settings


def split_list(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``; lists pass through."""
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def metadata_paths(settings: dict[str, Any]) -> list[Path]:
    return [Path(p) for p in str(settings.get("METADATA_PATH") or "").split(os.pathsep) if p]
