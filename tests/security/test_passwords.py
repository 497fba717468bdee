"""Password hashing, password rules and API token shape (no database)."""

from __future__ import annotations

import hashlib

import pytest
from tessera.security.errors import PasswordRejected
from tessera.security.passwords import (
    check_password_rules,
    looks_like_token,
    make_hasher,
    new_token,
    token_digest,
)


def test_passwords_are_hashed_with_argon2id_at_rfc_9106_parameters_and_verify():
    hasher = make_hasher()
    hashed = hasher.hash("correct horse battery")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "correct horse battery" not in hashed
    assert hasher.verify(hashed, "correct horse battery")
    assert hasher.hash("correct horse battery") != hashed  # salted


def test_a_hash_made_with_other_parameters_needs_rehashing():
    cheap = make_hasher("CHEAPEST").hash("correct horse battery")
    assert make_hasher().check_needs_rehash(cheap)
    assert not make_hasher("CHEAPEST").check_needs_rehash(cheap)


def test_an_unknown_password_profile_is_refused():
    with pytest.raises(ValueError, match="PASSWORD_PROFILE must be one of"):
        make_hasher("FAST")


def test_a_password_needs_ten_characters_and_says_so_in_both_languages():
    assert check_password_rules("0123456789") == "0123456789"
    with pytest.raises(PasswordRejected) as raised:
        check_password_rules("short-pw1")
    assert raised.value.field == "password"
    assert raised.value.message("en") == "A password needs at least 10 characters."
    assert raised.value.message("zh-CN") == "密码至少需要 10 个字符。"


def test_a_rejected_password_is_never_part_of_the_error():
    for password in ("hunter2!", "x" * 2000):
        with pytest.raises(PasswordRejected) as raised:
            check_password_rules(password)
        text = " ".join([str(raised.value), repr(raised.value), raised.value.message("zh-CN"), repr(raised.value.args)])
        assert password not in text


def test_tokens_are_prefixed_random_url_safe_and_stored_as_sha256():
    tokens = {new_token() for _ in range(50)}
    assert len(tokens) == 50
    for token in tokens:
        assert token.startswith("tsr_") and len(token) == 4 + 43
        assert set(token[4:]) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        assert looks_like_token(token)
        assert token_digest(token) == hashlib.sha256(token.encode()).hexdigest()
    assert not looks_like_token("Bearer abc") and not looks_like_token(None)
