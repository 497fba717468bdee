"""Sign-in through the browser and with API tokens: sessions, CSRF, account pages, cookies."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import jsonify
from tessera.security.web import current_actor, login_required_actor, safe_next

PASSWORD = "correct horse battery"


@pytest.fixture
def app(secure_app):
    @secure_app.route("/_test/whoami", methods=["GET", "POST"])
    @login_required_actor
    def whoami():
        from tessera.app import current_records

        actor = current_actor()
        return jsonify(id=actor.id, org=actor.org, role=actor.role, username=actor.username,
                       records_org=current_records().org)

    return secure_app


@pytest.fixture
def client(app):
    return app.test_client()


def whoami(client, **kwargs):
    return client.get("/_test/whoami", **kwargs)


class Labels(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, str] = {}
        self.labels: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") != "hidden":
            self.inputs[attrs["name"]] = attrs.get("id")
        if tag == "label":
            self.labels.add(attrs.get("for"))


def test_every_input_of_the_sign_in_and_account_pages_has_a_label(client, sign_in):
    pages = [client.get("/login").get_data(as_text=True)]
    sign_in(client)
    pages += [client.get(path).get_data(as_text=True) for path in ("/account/password", "/account/tokens")]
    for page in pages:
        parser = Labels()
        parser.feed(page)
        assert parser.inputs and all(ident in parser.labels for ident in parser.inputs.values()), parser.inputs


def test_signing_in_with_the_csrf_token_starts_a_session_for_the_users_org(client, sign_in):
    assert whoami(client).status_code == 302

    response = sign_in(client, next="/_test/whoami")

    assert response.status_code == 303 and response.headers["Location"] == "/_test/whoami"
    body = whoami(client).get_json()
    assert body["org"] == "default" and body["username"] == "alice" and body["role"] == "sales_rep"
    assert body["records_org"] == "default"


def test_a_form_post_without_the_csrf_token_is_refused_with_400(client, sign_in):
    refused = client.post("/login", data={"org": "default", "username": "alice", "password": PASSWORD})
    assert refused.status_code == 400
    assert "did not come from this site" in refused.get_data(as_text=True)
    assert whoami(client).status_code == 302  # not signed in
    sign_in(client)
    assert client.post("/logout").status_code == 400  # signed-in posts need it too
    assert whoami(client).status_code == 200


def test_htmx_sends_the_csrf_token_in_a_header(client, sign_in):
    sign_in(client)
    page = client.get("/account/tokens").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)  # signed with the time: same page
    assert f"hx-headers='{{\"X-CSRFToken\": \"{token}\"}}'" in page
    created = client.post("/account/tokens", data={"name": "htmx"}, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert created.status_code == 201


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, sign_in):
    wrong = sign_in(client, password="not the password")
    unknown = sign_in(client, username="mallory")
    other_org = sign_in(client, org="nowhere")
    for response in (wrong, unknown, other_org):
        assert response.status_code == 401
        assert "The org, the user name or the password is wrong." in response.get_data(as_text=True)
    assert whoami(client).status_code == 302


def test_the_sign_in_page_speaks_chinese(client, sign_in):
    page = client.get("/login?lang=zh-CN").get_data(as_text=True)
    assert "<h1>登录</h1>" in page and ">组织</label>" in page and ">用户名</label>" in page
    response = client.post("/login?lang=zh-CN", data={"csrf_token": re.search(
        r'name="csrf-token" content="([^"]+)"', page).group(1), "org": "default", "username": "alice", "password": "x"})
    assert "组织、用户名或密码不正确。" in response.get_data(as_text=True)


def test_signing_out_is_a_post_and_ends_the_session(client, csrf, sign_in):
    sign_in(client)
    assert client.get("/logout").status_code == 405
    response = client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert whoami(client).status_code == 302


def test_changing_the_password_needs_the_current_one_and_signs_out_other_sessions(app, csrf, sign_in):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here)
    sign_in(elsewhere)

    def change(current, new, again=None):
        return here.post("/account/password", data={"csrf_token": csrf(here, "/account/password"),
                                                     "current_password": current, "new_password": new,
                                                     "new_password_again": again or new})

    assert "The current password is wrong." in change("wrong password", "a much better passphrase").get_data(as_text=True)
    assert "not the same" in change(PASSWORD, "a much better passphrase", "another passphrase").get_data(as_text=True)
    assert "at least 10 characters" in change(PASSWORD, "short").get_data(as_text=True)

    done = change(PASSWORD, "a much better passphrase")
    assert done.status_code == 303
    assert "Your password has been changed" in here.get("/account/password").get_data(as_text=True)
    assert whoami(here).status_code == 200
    assert whoami(elsewhere).status_code == 302  # the other session ended
    third = app.test_client()
    assert sign_in(third).status_code == 401
    assert sign_in(third, password="a much better passphrase").status_code == 303


def test_the_tokens_page_shows_a_new_token_once_and_can_revoke_it(client, csrf, sign_in, platform):
    sign_in(client)
    created = client.post("/account/tokens", data={"csrf_token": csrf(client, "/account/tokens"), "name": "ERP sync"})
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code id="new-token">(tsr_[\w-]+)</code>', created.get_data(as_text=True)).group(1)

    listing = client.get("/account/tokens").get_data(as_text=True)
    assert token not in listing and f"<code>{token[:12]}…</code>" in listing and "ERP sync" in listing
    assert whoami(client.application.test_client(), headers={"Authorization": f"Bearer {token}"}).status_code == 200

    [info] = platform.tokens(platform.user("default", "alice"))
    revoked = client.post(f"/account/tokens/{info.id}/revoke", data={"csrf_token": csrf(client, "/account/tokens")})
    assert revoked.status_code == 303
    assert "has been revoked" in client.get("/account/tokens").get_data(as_text=True)
    assert whoami(client.application.test_client(), headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_a_bearer_token_resolves_the_actor_without_a_csrf_token(client, platform):
    alice = platform.user("default", "alice")
    token, _ = platform.create_token(alice, "script")

    response = client.post("/_test/whoami", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    assert response.get_json() == {"id": alice.id, "org": "default", "role": "sales_rep", "username": "alice",
                                   "records_org": "default"}
    assert "Set-Cookie" not in response.headers or "tessera_session" not in response.headers["Set-Cookie"]


def test_a_bearer_request_neither_reads_nor_rewrites_the_session_it_carries(client, sign_in, platform):
    sign_in(client)  # alice's session cookie
    bob = platform.create_user("default", "bob", None, "sales_rep", name="Bob")
    token, _ = platform.create_token(bob, "script")

    as_bob = client.post("/_test/whoami", headers={"Authorization": f"Bearer {token}"})

    assert as_bob.get_json()["username"] == "bob"
    assert "tessera_session" not in as_bob.headers.get("Set-Cookie", "")
    assert client.get("/_test/whoami").get_json()["username"] == "alice"  # her session is untouched


def test_a_request_with_a_bad_token_is_refused_even_with_a_session(client, sign_in):
    sign_in(client)
    refused = client.post("/_test/whoami", headers={"Authorization": "Bearer tsr_forged0000000000000000000000"})
    assert refused.status_code == 401
    assert refused.mimetype == "application/problem+json"
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    basic = client.get("/_test/whoami", headers={"Authorization": "Basic YWxpY2U6eA=="})
    assert basic.status_code == 401


def test_an_api_token_cannot_use_the_account_pages(client, platform):
    token, _ = platform.create_token(platform.user("default", "alice"), "script")
    for path in ("/account/password", "/account/tokens"):
        assert client.get(path, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/account/tokens", data={"name": "more"},
                       headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_pages_send_strangers_to_sign_in_while_api_and_htmx_requests_get_401(client):
    page = client.get("/account/tokens")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/account/tokens"
    api = client.get("/account/tokens", headers={"Accept": "application/json"})
    assert api.status_code == 401 and api.get_json()["status"] == 401
    htmx = client.get("/account/tokens", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login?next=/account/tokens"
    assert client.get("/").status_code == 200  # the start page stays public


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_when_asked(app, sign_in, tmp_path, shop):
    from tessera.app import create_app

    cookie = sign_in(app.test_client()).headers["Set-Cookie"]
    assert "tessera_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie and "Expires=" in cookie  # a permanent session, SESSION_HOURS long
    assert app.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 12 * 3600

    secure = create_app({"TESTING": True, "SECRET_KEY": "test", "PASSWORD_PROFILE": "CHEAPEST",
                         "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}", "SECURE_COOKIES": "true",
                         "SESSION_HOURS": "1", "PACKAGES": "shop", "METADATA_PATH": str(shop.parent)})
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert secure.config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 3600


def test_a_deactivated_user_is_signed_out_at_the_next_request(client, sign_in, platform):
    sign_in(client)
    platform.update_user(platform.user("default", "alice"), active=False)
    assert whoami(client).status_code == 302


def test_sign_in_only_returns_to_pages_of_this_site(client, sign_in):
    assert sign_in(client, next="//evil.example/x").headers["Location"] == "/"
    assert safe_next("https://evil.example/") == "/" and safe_next("/\\evil") == "/" and safe_next("/o/lead") == "/o/lead"


def test_a_user_of_another_org_works_with_that_orgs_records(app, sign_in):
    from tessera.orgs import create_org

    created = create_org(app.config, "globex", plugins=app.extensions["tessera.plugins"])
    store = app.extensions["tessera.platform"]
    store.create_user("globex", "alice", PASSWORD, "sales_rep")
    client = app.test_client()

    sign_in(client, org="globex")

    body = whoami(client).get_json()
    assert created.org.name == "globex" and body["org"] == "globex" and body["records_org"] == "globex"
    assert body["id"] != store.user("default", "alice").id
