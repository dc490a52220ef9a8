"""Sealing webhook secrets (pure) and where the sealing key comes from: round trips, refusal of any
tampering, binding to the subscription, rotation, the development key file, production refusal."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_kernel.settings import Settings
from ledger_notifier.config import NotifierConfig
from ledger_notifier.sealed_secrets import SealedSecretError, SecretBox, key_id
from ledger_notifier.sealing_keys import CURRENT, KEY_FILE, OLDER, SealingKeyError, parse_key, secret_box
from ledger_notifier.webhook import new_secret

OLD_KEY = bytes(range(32))
NEW_KEY = bytes(range(100, 132))
STRANGER = bytes(range(200, 232))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def env_settings(tmp_path, environment: str = "test") -> Settings:  # noqa: ANN001
    return Settings.from_env({"LEDGER_HOME": str(tmp_path / "home"), "LEDGER_ENV": environment})


ids = st.text(min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(secret=st.text(max_size=200), subscription_id=ids)
def test_any_secret_seals_and_opens_again(secret, subscription_id):
    box = SecretBox(NEW_KEY)
    stored = box.seal(secret, subscription_id)
    assert stored.startswith(f"sealed:v1:{key_id(NEW_KEY)}:") and stored.isascii()
    assert box.open(stored, subscription_id) == secret
    assert box.seal(secret, subscription_id) != stored  # a fresh nonce every time


@settings(max_examples=300, deadline=None)
@given(secret=st.text(max_size=80), subscription_id=ids, data=st.data())
def test_any_single_byte_changed_is_refused(secret, subscription_id, data):
    box = SecretBox(NEW_KEY, [OLD_KEY])
    stored = bytearray(box.seal(secret, subscription_id).encode("ascii"))
    at = data.draw(st.integers(0, len(stored) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda v: v != stored[at]), label="byte")
    stored[at] = value
    with pytest.raises(SealedSecretError):
        box.open(stored.decode("latin-1"), subscription_id)


def test_a_sealed_secret_opens_only_for_its_own_subscription():
    box = SecretBox(NEW_KEY)
    stored = box.seal("whsec_abc", "sub_a")
    with pytest.raises(SealedSecretError, match="another subscription"):
        box.open(stored, "sub_b")


def test_an_unknown_key_is_named_by_its_id_and_nothing_else():
    secret = new_secret()
    stored = SecretBox(STRANGER).seal(secret, "sub_a")
    with pytest.raises(SealedSecretError) as caught:
        SecretBox(NEW_KEY, [OLD_KEY]).open(stored, "sub_a")
    message = str(caught.value)
    assert message == f"key {key_id(STRANGER)} not configured"
    assert b64(STRANGER) not in message and secret not in message
    for text in (repr(SecretBox(NEW_KEY, [OLD_KEY])), repr(NotifierConfig(secret_key=b64(NEW_KEY),
                                                                          older_secret_keys=b64(OLD_KEY)))):
        assert b64(NEW_KEY) not in text and b64(OLD_KEY) not in text


def test_a_plain_secret_from_before_opens_as_it_is_and_reseals():
    box = SecretBox(NEW_KEY)
    plain = new_secret()
    assert box.open(plain, "sub_a") == plain
    sealed = box.reseal(plain, "sub_a")
    assert sealed is not None and plain not in sealed and box.open(sealed, "sub_a") == plain
    assert box.reseal(sealed, "sub_a") is None  # already under the current key: nothing to write
    for garbage in ("", "whsec", "sealed:v1:", "sealed:v2:0123abcd:AAAA", f"sealed:v1:{key_id(NEW_KEY)}:"):
        with pytest.raises(SealedSecretError):
            box.open(garbage, "sub_a")


def test_rotation_opens_with_an_older_key_and_reseals_under_the_new_one():
    secret = new_secret()
    stored = SecretBox(OLD_KEY).seal(secret, "sub_a")
    rotated = SecretBox(NEW_KEY, [OLD_KEY])
    assert rotated.key_ids == (key_id(NEW_KEY), key_id(OLD_KEY))
    assert rotated.open(stored, "sub_a") == secret
    fresh = rotated.reseal(stored, "sub_a")
    assert fresh.startswith(f"sealed:v1:{key_id(NEW_KEY)}:")
    assert SecretBox(NEW_KEY).open(fresh, "sub_a") == secret  # the old key is no longer needed


@pytest.mark.parametrize("value", ["not base64!", b64(b"short"), b64(bytes(33)), b64(NEW_KEY)[:-6]])
def test_a_malformed_key_names_the_variable_in_both_languages_never_the_value(tmp_path, value):
    for config, variable in ((NotifierConfig(secret_key=value), CURRENT),
                             (NotifierConfig(secret_key=b64(NEW_KEY), older_secret_keys=f"{b64(OLD_KEY)},{value}"),
                              f"{OLDER} (item 2)")):
        with pytest.raises(SealingKeyError) as caught:
            secret_box(config, env_settings(tmp_path))
        message = str(caught.value)
        assert message.startswith(variable) and "必须是" in message
        assert value not in message
    assert not (tmp_path / "home" / KEY_FILE).exists()  # a bad key is never replaced by a made one


def test_keys_in_either_base64_alphabet_and_without_padding_are_read():
    key = bytes([251, 255] * 16)  # encodes with + and / in the standard alphabet
    standard = b64(key)
    assert "+" in standard or "/" in standard
    urlsafe = base64.urlsafe_b64encode(key).decode().rstrip("=")
    assert parse_key(standard, CURRENT) == key == parse_key(urlsafe + "\n", CURRENT)


def test_without_a_key_outside_production_one_is_made_private_and_kept(tmp_path):
    first = secret_box(NotifierConfig(), env_settings(tmp_path))
    path = tmp_path / "home" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(base64.b64decode(path.read_text())) == 32
    again = secret_box(NotifierConfig(), env_settings(tmp_path))
    assert again.current_id == first.current_id  # a restart reads the same key
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no draft left behind
    path.chmod(0o644)
    assert secret_box(NotifierConfig(), env_settings(tmp_path)).current_id == first.current_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened again
    other = secret_box(NotifierConfig(), env_settings(tmp_path / "elsewhere"))
    assert other.current_id != first.current_id


def test_a_configured_key_is_used_and_no_key_file_is_made(tmp_path):
    box = secret_box(NotifierConfig(secret_key=b64(NEW_KEY), older_secret_keys=f" {b64(OLD_KEY)} ,"),
                     env_settings(tmp_path, "production"))
    assert box.key_ids == (key_id(NEW_KEY), key_id(OLD_KEY))
    assert not (tmp_path / "home" / KEY_FILE).exists()
    assert NotifierConfig.from_env({CURRENT: b64(NEW_KEY), OLDER: b64(OLD_KEY)}).secret_key == b64(NEW_KEY)


def test_production_without_a_key_refuses_to_start(tmp_path):
    with pytest.raises(SealingKeyError) as caught:
        secret_box(NotifierConfig(), env_settings(tmp_path, "production"))
    assert CURRENT in str(caught.value) and "生产环境" in str(caught.value)
    assert not (tmp_path / "home" / KEY_FILE).exists()


def test_the_notifier_process_refuses_production_without_a_key_before_connecting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update({"LEDGER_ENV": "production", "LEDGER_HOME": str(tmp_path / "home"),
                "LEDGER_NATS_URL": "nats://127.0.0.1:9"})  # nothing listens there: it must not get that far
    done = subprocess.run([sys.executable, "-m", "ledger_notifier"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert CURRENT in done.stderr and "生产环境" in done.stderr and "Traceback" not in done.stderr
