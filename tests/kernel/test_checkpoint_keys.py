"""The checkpoint record and its key: the digest as documented, signatures that catch any change, key
files with tight modes, a production stack that refuses to sign without a key it was given."""

from __future__ import annotations

import base64
import hashlib
import logging
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from ledger_kernel import checkpoint_keys
from ledger_kernel.chain import heads_digest
from ledger_kernel.checkpoints import Checkpoint, signature_ok
from ledger_kernel.settings import Settings

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_the_digest_is_sha256_over_sorted_subject_nul_hash_lines():
    heads = {"ledger.t.b.company.b": "bb", "ledger.t.a.company.a": "aa"}
    expected = hashlib.sha256(b"ledger.t.a.company.a\0aa\nledger.t.b.company.b\0bb\n").hexdigest()
    assert heads_digest(heads) == expected
    assert heads_digest({}) == hashlib.sha256(b"").hexdigest()
    assert heads_digest({**heads, "ledger.t.a.company.a": "ab"}) != expected


def test_a_signature_covers_every_field(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    key_id = checkpoint_keys.create(tmp_path)
    signer = checkpoint_keys.load_private(tmp_path)
    assert signer.key_id == key_id and key_id in repr(signer) and "PRIVATE" not in repr(signer)
    signed = signer.sign(sequence=9, digest="d" * 64, aggregates=2, previous=4, heads={"s": "h"}, now=NOW)
    keys = checkpoint_keys.read_public_keys(tmp_path / checkpoint_keys.PUBLIC)
    assert signature_ok(signed, keys) is None
    assert signature_ok(Checkpoint.model_validate_json(signed.encode()), keys) is None  # survives the wire
    for change in ({"sequence": 10}, {"digest": "e" * 64}, {"heads": {"s": "x"}}, {"previous": 0}):
        assert "does not match" in signature_ok(signed.model_copy(update=change), keys)
    private = (tmp_path / checkpoint_keys.PRIVATE).read_text()
    assert "PRIVATE KEY" in private and private not in caplog.text and "PRIVATE" not in signed.encode().decode()
    assert (tmp_path / checkpoint_keys.PRIVATE).stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    assert checkpoint_keys.create(tmp_path) == key_id  # made once: a second call keeps it


def test_too_many_heads_are_left_to_the_digest(tmp_path):
    checkpoint_keys.create(tmp_path)
    many = {f"ledger.t.c.x.{i}": "h" for i in range(2001)}
    signed = checkpoint_keys.load_private(tmp_path).sign(sequence=1, digest=heads_digest(many), aggregates=2001,
                                                          previous=0, heads=many, now=NOW)
    assert signed.heads is None and len(signed.encode()) < 2000


def test_production_refuses_to_make_a_key_and_takes_one_from_the_environment(tmp_path):
    settings = Settings.from_env({"LEDGER_HOME": str(tmp_path), "LEDGER_ENV": "production"})
    with pytest.raises(checkpoint_keys.CheckpointKeyError, match="LEDGER_CHECKPOINT_KEY"):
        checkpoint_keys.signer_for(settings, env={})
    assert not (tmp_path / "keys").exists()
    seed = bytes(range(32))
    signer = checkpoint_keys.signer_for(settings, env={"LEDGER_CHECKPOINT_KEY": base64.b64encode(seed).decode()})
    raw = signer.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert signer.key_id == hashlib.sha256(raw).hexdigest()[:16]
    with pytest.raises(checkpoint_keys.CheckpointKeyError, match="32 random bytes") as err:
        checkpoint_keys.signer_for(settings, env={"LEDGER_CHECKPOINT_KEY": "c2hvcnQ="})
    assert "c2hvcnQ" not in str(err.value)  # the error names the variable, never the value


def test_a_public_key_file_that_is_not_one_is_refused(tmp_path):
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key")
    with pytest.raises(checkpoint_keys.CheckpointKeyError, match="no PEM public key"):
        checkpoint_keys.read_public_keys(bad)
