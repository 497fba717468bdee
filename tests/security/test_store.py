"""The platform store on SQLite and PostgreSQL: orgs, users, passwords, tokens, manager chains."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from tessera.records.service import Actor
from tessera.security.errors import IdentityError, PasswordRejected, UnknownOrg
from tessera.security.passwords import make_hasher
from tessera.security.store import TOKEN_TOUCH_INTERVAL, PlatformStore

PASSWORD = "correct horse battery"


@pytest.fixture
def acme(store):
    return store.create_org("acme", "Acme Ltd")


def raw_users(store):
    with store.db.engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(store.t.users)).mappings()]


def test_a_user_reads_back_as_the_actor_of_its_org(store, acme):
    boss = store.create_user("acme", "boss", PASSWORD, "sales_manager")
    alice = store.create_user("acme", "Alice", PASSWORD, "sales_rep", name="Alice Wang", email="alice@acme.cn",
                              locale="zh-CN", time_zone="Asia/Shanghai", manager="boss")

    assert alice.username == "alice" and alice.manager_id == boss.id and alice.active
    assert store.user("acme", "ALICE ") == alice == store.user_by_id(alice.id)
    assert alice.actor() == Actor(id=alice.id, name="Alice Wang", locale="zh-CN", org="acme", role="sales_rep",
                                  username="alice")
    assert [o.name for o in store.orgs()] == ["acme"] and store.org("acme").label == "Acme Ltd"


def test_user_names_are_unique_within_an_org_but_not_across_orgs(store, acme):
    store.create_org("globex")
    store.create_user("acme", "alice", PASSWORD, "sales_rep")
    other = store.create_user("globex", "alice", PASSWORD, "sales_rep")
    assert other.org == "globex"
    with pytest.raises(IdentityError) as raised:
        store.create_user("acme", "alice", PASSWORD, "admin")
    assert raised.value.field == "username"
    assert raised.value.message("zh-CN") == "组织 acme 中已有名为 alice 的用户。"
    with pytest.raises(IdentityError, match="already exists"):
        store.create_org("acme")


def test_profiles_are_checked_before_anything_is_written(store, acme):
    cases = {"username": {"username": "Al ice"}, "time_zone": {"time_zone": "Mars/Olympus"},
             "locale": {"locale": "fr"}, "email": {"email": "not-an-email"}, "role": {"role": "Sales Rep"},
             "manager": {"manager": "nobody"}, "password": {"password": "short"}}
    for field, change in cases.items():
        arguments = {"username": "bob", "password": PASSWORD, "role": "sales_rep", **change}
        username, password, role = arguments.pop("username"), arguments.pop("password"), arguments.pop("role")
        with pytest.raises(IdentityError) as raised:
            store.create_user("acme", username, password, role, **arguments)
        assert raised.value.field == field, field
    with pytest.raises(UnknownOrg):
        store.create_user("nowhere", "bob", PASSWORD, "sales_rep")
    with pytest.raises(IdentityError):
        store.create_org("Not An Org")
    assert raw_users(store) == []


def test_the_right_password_authenticates_and_the_password_is_stored_as_argon2id(store, acme):
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    assert store.authenticate("acme", "alice", PASSWORD) == alice
    assert store.authenticate(" ACME", "Alice", PASSWORD) == alice
    [row] = raw_users(store)
    assert row["password_hash"].startswith("$argon2id$") and PASSWORD not in row["password_hash"]


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        base = make_hasher("CHEAPEST")
        super().__init__(time_cost=base.time_cost, memory_cost=base.memory_cost, parallelism=base.parallelism,
                         hash_len=base.hash_len, salt_len=base.salt_len)
        self.verified = 0

    def verify(self, hash, password):
        self.verified += 1
        return super().verify(hash, password)


def test_a_wrong_password_an_unknown_user_and_an_unknown_org_fail_the_same_way(database):
    hasher = CountingHasher()
    store = PlatformStore(database, hasher=hasher)
    store.create_org("acme")
    store.create_user("acme", "alice", PASSWORD, "sales_rep")
    store.authenticate("acme", "alice", "warm-up password")  # the dummy hash is made once, lazily

    outcomes = []
    for org, username, password in [("acme", "alice", "wrong password!"), ("acme", "nobody", PASSWORD),
                                    ("nowhere", "alice", PASSWORD), ("acme", "alice", "x" * 5000)]:
        hasher.verified = 0
        outcomes.append((store.authenticate(org, username, password), hasher.verified))
    assert outcomes == [(None, 1)] * 4  # one argon2 verification each: the timing tells nothing


def test_a_deactivated_user_or_org_cannot_sign_in(store, acme):
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    store.update_user(alice, active=False)
    assert store.authenticate("acme", "alice", PASSWORD) is None
    store.update_user(alice, active=True)
    store.set_org_active("acme", False)
    assert store.authenticate("acme", "alice", PASSWORD) is None
    assert store.active_user(alice.id) is None
    with pytest.raises(UnknownOrg, match="deactivated"):
        store.create_user("acme", "bob", PASSWORD, "sales_rep")


def test_a_user_without_a_password_cannot_sign_in_with_one(store, acme):
    robot = store.create_user("acme", "erp-sync", None, "integration")
    assert robot.password_changed_at is None
    assert store.authenticate("acme", "erp-sync", "") is None
    assert store.authenticate("acme", "erp-sync", PASSWORD) is None


def test_signing_in_rehashes_a_password_made_with_older_parameters(database):
    old = PlatformStore(database, hasher=make_hasher("CHEAPEST"))
    old.create_org("acme")
    alice = old.create_user("acme", "alice", PASSWORD, "sales_rep")
    [before] = raw_users(old)
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    new = PlatformStore(database, hasher=stronger)

    assert new.authenticate("acme", "alice", PASSWORD) == alice  # same stamp: sessions stay valid
    [after] = raw_users(new)
    assert after["password_hash"] != before["password_hash"]
    assert not stronger.check_needs_rehash(after["password_hash"])
    assert new.authenticate("acme", "alice", PASSWORD) == alice


def test_a_new_password_replaces_the_old_and_changes_the_session_stamp(store, acme):
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    changed = store.set_password(alice, "a much better passphrase")
    assert changed.session_stamp != alice.session_stamp
    assert store.authenticate("acme", "alice", PASSWORD) is None
    assert store.authenticate("acme", "alice", "a much better passphrase") == changed
    assert store.verify_password(changed, "a much better passphrase")
    assert not store.verify_password(changed, PASSWORD)
    with pytest.raises(PasswordRejected):
        store.set_password(alice, "too short")


def test_a_token_is_shown_once_and_stored_only_as_its_sha256(store, acme):
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    plain, info = store.create_token(alice, "ERP sync")

    assert plain.startswith("tsr_") and info.prefix == plain[:12] and info.name == "ERP sync"
    assert store.tokens(alice) == [info]
    assert plain not in repr(store.tokens(alice))
    with store.db.engine.connect() as conn:
        [row] = conn.execute(sa.select(store.t.tokens)).mappings().all()
    assert row["token_hash"] == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in " ".join(str(v) for v in row.values())
    assert store.user_for_token(plain) == alice


def test_a_revoked_token_is_refused_and_a_wrong_token_resolves_to_nobody(store, acme):
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    plain, info = store.create_token(alice, "laptop")
    keep, _ = store.create_token(alice, "server")

    revoked = store.revoke_token(alice, info.id)
    assert revoked.revoked_at is not None and not revoked.active
    assert store.user_for_token(plain) is None
    assert store.user_for_token(keep) == alice
    assert store.revoke_token(alice, info.id).revoked_at == revoked.revoked_at  # twice keeps the first time
    assert store.user_for_token(plain[:-1] + ("A" if plain[-1] != "A" else "B")) is None
    assert store.user_for_token("not a token") is None


def test_tokens_stop_working_when_their_user_or_org_is_deactivated(store, acme):
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    plain, _ = store.create_token(alice, "laptop")
    store.update_user(alice, active=False)
    assert store.user_for_token(plain) is None
    store.update_user(alice, active=True)
    store.set_org_active("acme", False)
    assert store.user_for_token(plain) is None


def test_nobody_can_revoke_another_users_token(store, acme):
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    bob = store.create_user("acme", "bob", PASSWORD, "sales_rep")
    plain, info = store.create_token(alice, "laptop")
    with pytest.raises(IdentityError, match="no such token"):
        store.revoke_token(bob, info.id)
    assert store.user_for_token(plain) == alice


def test_using_a_token_records_when_at_most_once_a_minute(database):
    now = [dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)]
    store = PlatformStore(database, hasher=make_hasher("CHEAPEST"), clock=lambda: now[0])
    store.create_org("acme")
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    plain, info = store.create_token(alice, "laptop")
    assert info.last_used_at is None

    first = now[0] = now[0] + dt.timedelta(seconds=5)
    assert store.resolve_token(plain)[1].last_used_at == first
    now[0] = first + TOKEN_TOUCH_INTERVAL / 2
    store.resolve_token(plain)
    assert store.tokens(alice)[0].last_used_at == first  # not a write per request
    now[0] = first + TOKEN_TOUCH_INTERVAL
    store.resolve_token(plain)
    assert store.tokens(alice)[0].last_used_at == now[0]


def test_users_in_roles_and_the_reports_below_a_manager(store, acme):
    store.create_org("globex")
    director = store.create_user("acme", "director", PASSWORD, "sales_director")
    manager = store.create_user("acme", "manager", PASSWORD, "sales_manager", manager=director)
    rep1 = store.create_user("acme", "rep1", PASSWORD, "sales_rep", manager=manager)
    rep2 = store.create_user("acme", "rep2", PASSWORD, "sales_rep", manager="manager")
    store.create_user("globex", "rep3", PASSWORD, "sales_rep")

    assert store.users_in_roles("acme", ["sales_rep"]) == {rep1.id, rep2.id}
    assert store.users_in_roles("acme", {"sales_rep", "sales_director"}) == {rep1.id, rep2.id, director.id}
    assert store.users_in_roles("acme", []) == set()
    assert store.reports_of(director.id) == {manager.id, rep1.id, rep2.id}
    assert store.reports_of(manager.id) == {rep1.id, rep2.id}
    assert store.reports_of(rep1.id) == set()


def test_a_manager_cycle_is_refused_and_a_cycle_in_the_data_does_not_hang(store, acme):
    top = store.create_user("acme", "top", PASSWORD, "sales_director")
    middle = store.create_user("acme", "middle", PASSWORD, "sales_manager", manager=top)
    bottom = store.create_user("acme", "bottom", PASSWORD, "sales_rep", manager=middle)
    with pytest.raises(IdentityError) as raised:
        store.update_user(top, manager=bottom)
    assert raised.value.field == "manager"
    with pytest.raises(IdentityError):
        store.update_user(top, manager=top)

    with store.db.begin() as conn:  # as if written by hand
        conn.execute(store.t.users.update().where(store.t.users.c.id == top.id).values(manager_id=bottom.id))
    assert store.reports_of(top.id) == {middle.id, bottom.id}
    assert store.reports_of(bottom.id) == {top.id, middle.id}


def test_a_user_created_with_a_given_id_keeps_it_and_later_ids_follow(store, acme):
    admin = store.create_user("acme", "admin", PASSWORD, "admin", id=41)
    nxt = store.create_user("acme", "next", PASSWORD, "sales_rep")
    assert admin.id == 41 and nxt.id == 42
    with pytest.raises(IdentityError):
        store.create_user("acme", "again", PASSWORD, "sales_rep", id=41)


def test_updating_a_user_checks_the_profile(store, acme):
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    changed = store.update_user(alice, name="Alice W.", locale="zh-CN", time_zone="Europe/Berlin", role="sales_manager")
    assert (changed.name, changed.locale, changed.time_zone, changed.role) == (
        "Alice W.", "zh-CN", "Europe/Berlin", "sales_manager")
    with pytest.raises(IdentityError):
        store.update_user(alice, time_zone="Nowhere/Land")
    with pytest.raises(TypeError):
        store.update_user(alice, password=PASSWORD)


def test_a_resolved_token_is_remembered_for_a_few_seconds_and_forgotten_on_changes(database):
    now = [dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)]
    store = PlatformStore(database, hasher=make_hasher("CHEAPEST"), clock=lambda: now[0], cache_seconds=5)
    other_process = PlatformStore(database, hasher=make_hasher("CHEAPEST"))
    store.create_org("acme")
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    plain, _info = store.create_token(alice, "laptop")
    assert store.resolve_token(plain)[0].role == "sales_rep"

    other_process.update_user(alice, role="marketing")  # another worker changes alice
    now[0] += dt.timedelta(seconds=4)
    assert store.resolve_token(plain)[0].role == "sales_rep"  # remembered
    now[0] += dt.timedelta(seconds=2)
    assert store.resolve_token(plain)[0].role == "marketing"  # looked up again

    store.update_user(alice, active=False)  # a change in this process is seen at once
    assert store.resolve_token(plain) is None
    store.update_user(alice, active=True)
    token_id = store.resolve_token(plain)[1].id
    store.revoke_token(alice, token_id)
    assert store.resolve_token(plain) is None


def test_a_token_cache_of_zero_seconds_looks_every_token_up(database):
    store = PlatformStore(database, hasher=make_hasher("CHEAPEST"), cache_seconds=0)
    other_process = PlatformStore(database, hasher=make_hasher("CHEAPEST"))
    store.create_org("acme")
    alice = store.create_user("acme", "alice", PASSWORD, "sales_rep")
    plain, info = store.create_token(alice, "laptop")
    assert store.resolve_token(plain) is not None
    other_process.revoke_token(alice, info.id)
    assert store.resolve_token(plain) is None
