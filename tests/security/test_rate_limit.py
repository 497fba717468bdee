"""Failed sign-ins are limited per client address and per org + user name (then 429), in the
process's memory or in Redis."""

from __future__ import annotations

import uuid

from tessera.security.web import rate_limit_storage

PASSWORD = "correct horse battery"


def attempt(client, csrf, username="alice", password="not the password", address="10.0.0.1"):
    token = csrf(client)
    return client.post("/login", data={"csrf_token": token, "org": "default", "username": username,
                                       "password": password}, environ_base={"REMOTE_ADDR": address})


def test_the_eleventh_failed_sign_in_for_a_user_name_gets_429_from_any_address(secure_app, csrf):
    client = secure_app.test_client()
    statuses = [attempt(client, csrf, address=f"10.0.0.{n}").status_code for n in range(10)]
    assert statuses == [401] * 10

    limited = attempt(client, csrf, password=PASSWORD, address="10.0.1.1")

    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in limited.get_data(as_text=True)
    assert attempt(client, csrf, username="bob", address="10.0.1.1").status_code == 401  # others are not locked out


def test_the_eleventh_failed_sign_in_from_one_address_gets_429_whatever_the_user_name(secure_app, csrf):
    client = secure_app.test_client()
    assert [attempt(client, csrf, username=f"user{n}").status_code for n in range(10)] == [401] * 10
    assert attempt(client, csrf, username="alice", password=PASSWORD).status_code == 429
    assert attempt(client, csrf, username="alice", password=PASSWORD, address="10.9.9.9").status_code == 303


def test_a_failed_sign_in_says_how_many_tries_are_left(secure_app, csrf):
    client = secure_app.test_client()
    remaining = [int(attempt(client, csrf).headers["X-RateLimit-Remaining"]) for _ in range(3)]
    assert remaining == [9, 8, 7]


def test_successful_sign_ins_and_the_sign_in_page_are_not_counted(secure_app, csrf):
    client = secure_app.test_client()
    for _ in range(12):
        assert client.get("/login").status_code == 200
        assert attempt(client, csrf, password=PASSWORD).status_code == 303


def test_the_limit_is_a_setting(tmp_path, shop, csrf):
    from tessera.app import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "test", "PASSWORD_PROFILE": "CHEAPEST",
                      "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}", "LOGIN_RATE_LIMIT": "2 per hour",
                      "PACKAGES": "shop", "METADATA_PATH": str(shop.parent)})
    client = app.test_client()
    assert [attempt(client, csrf).status_code for _ in range(3)] == [401, 401, 429]


def test_counters_live_in_redis_when_configured_else_in_memory():
    assert rate_limit_storage({}) == "memory://"
    assert rate_limit_storage({"BROKER_URL": "amqp://guest@localhost//"}) == "memory://"
    assert rate_limit_storage({"BROKER_URL": "redis://cache:6379/1"}) == "redis://cache:6379/1"
    assert rate_limit_storage({"REDIS_URL": "redis://limits:6379/2", "BROKER_URL": "redis://cache:6379/1"}) == \
        "redis://limits:6379/2"


def test_the_limit_holds_with_redis_storage(tmp_path, shop, csrf, redis_url):
    import redis
    from tessera.app import create_app

    prefix = f"tessera-test-{uuid.uuid4().hex[:8]}"
    config = {"TESTING": True, "SECRET_KEY": "test", "PASSWORD_PROFILE": "CHEAPEST",
              "DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'tessera.db'}", "REDIS_URL": redis_url,
              "RATELIMIT_KEY_PREFIX": prefix, "PACKAGES": "shop", "METADATA_PATH": str(shop.parent)}
    app = create_app(config)
    server = redis.Redis.from_url(redis_url)
    try:
        client = app.test_client()
        assert [attempt(client, csrf, address=f"10.0.0.{n}").status_code for n in range(10)] == [401] * 10
        assert attempt(client, csrf, password=PASSWORD, address="10.0.1.1").status_code == 429
        assert server.keys(f"*{prefix}*"), "the counters are not in Redis"

        again = create_app(config)  # another worker, sharing the counters
        assert attempt(again.test_client(), csrf, password=PASSWORD, address="10.0.2.2").status_code == 429
    finally:
        keys = server.keys(f"*{prefix}*")
        if keys:
            server.delete(*keys)
        server.close()
