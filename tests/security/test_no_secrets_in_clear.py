"""Passwords and API tokens never reach the database files or the logs in clear: users and
tokens are made through the command line and the web, then both are searched."""

from __future__ import annotations

import logging
import re

from click.testing import CliRunner
from tessera.cli import cli
from tessera.security.passwords import token_digest

FIRST = "first-Pa55word-ZQX"
PROMPTED = "prompted-Pa55word-KJV"
CHANGED = "changed-Pa55word-WMB"
MISTYPED = "mistyped-Pa55word-HTR"


def test_passwords_and_tokens_are_never_stored_or_logged_in_clear(tmp_path, shop, caplog, csrf):
    from tessera.app import create_app

    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # every statement, its parameters and rows
    instance = tmp_path / "instance"
    settings = {"DATABASE_URL": f"sqlite:///{instance / 'tessera.db'}", "PASSWORD_PROFILE": "CHEAPEST",
                "PACKAGES": "shop", "METADATA_PATH": str(shop.parent), "PLUGINS": ""}
    app = create_app({"TESTING": True, "SECRET_KEY": "test", **settings})
    env = {f"TESSERA_{k}": v for k, v in settings.items()} | {"TESSERA_OVERLAY_DIR": None}
    runner = CliRunner()

    outputs = [runner.invoke(cli, ["users", "create", "carol", "--role", "sales_rep", "--password", FIRST], env=env),
               runner.invoke(cli, ["users", "create", "dave", "--role", "sales_rep"], env=env,
                             input=f"{PROMPTED}\n{PROMPTED}\n")]
    token_run = runner.invoke(cli, ["users", "token", "carol"], env=env)
    assert [r.exit_code for r in (*outputs, token_run)] == [0, 0, 0], [r.output for r in (*outputs, token_run)]
    cli_token = token_run.output.strip().splitlines()[-1]
    assert cli_token.startswith("tsr_") and token_run.output.count(cli_token) == 1

    client = app.test_client()
    login = {"org": "default", "username": "carol"}
    assert client.post("/login", data={**login, "password": MISTYPED, "csrf_token": csrf(client)}).status_code == 401
    assert client.post("/login", data={**login, "password": FIRST, "csrf_token": csrf(client)}).status_code == 303
    assert client.post("/account/password", data={
        "csrf_token": csrf(client, "/account/password"), "current_password": FIRST,
        "new_password": CHANGED, "new_password_again": CHANGED}).status_code == 303
    page = client.post("/account/tokens", data={"csrf_token": csrf(client, "/account/tokens"), "name": "web"})
    web_token = re.search(r'<code id="new-token">(tsr_[\w-]+)</code>', page.get_data(as_text=True)).group(1)
    for token in (cli_token, web_token):
        assert app.test_client().get("/account/tokens", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert app.extensions["tessera.platform"].user_for_token(token).username == "carol"
    app.extensions["tessera.platform"].dispose()

    files = {path: path.read_bytes() for path in instance.rglob("*") if path.is_file()}
    stored = b"".join(files.values())
    assert {p.name for p in files} >= {"tessera.db", "default.db"}
    assert token_digest(cli_token).encode() in stored and b"$argon2id$" in stored  # the search sees the data
    log = "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    assert "tessera_tokens" in log and "$argon2id$" in log  # the SQL echo, with its parameters, was captured

    for secret in (FIRST, PROMPTED, CHANGED, MISTYPED, cli_token, web_token):
        assert secret.encode() not in stored, f"{secret} is stored in clear"
        assert secret not in log, f"{secret} is logged"
    for secret in (FIRST, PROMPTED):
        assert all(secret not in r.output for r in (*outputs, token_run))
