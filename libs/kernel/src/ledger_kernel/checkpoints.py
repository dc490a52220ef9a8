"""Signed checkpoints: the ledger's head, signed with Ed25519 and kept outside LEDGER.

The hash chain alone is unkeyed: whoever can rewrite the stream can re-chain it. A checkpoint
pins what LEDGER held at one sequence — how far it reached and a digest over every aggregate's
last hash (:func:`ledger_kernel.chain.heads_digest`) — under a key the writer of LEDGER does not
hold, so a lost tail or a re-chained forgery no longer verifies. Checkpoints live on their own
stream (``CHECKPOINTS``, subject ``checkpoints.ledger``), published only by the projector.

The signature covers the canonical JSON (:func:`ledger_kernel.canonical.canonical_json`) of every
field of the record but ``signature`` itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

from ledger_kernel.canonical import canonical_json
from ledger_kernel.envelope import format_time

STREAM = "CHECKPOINTS"
SUBJECT = "checkpoints.ledger"
RECORD_TYPE = "ledger.checkpoint"
MAX_HEADS = 2000  # heads listed per checkpoint (about 200 kB); more are summed up by the digest only


class Checkpoint(BaseModel):
    """One signed head of LEDGER (see docs/events.md, "Checkpoints")."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = RECORD_TYPE
    version: int = 1
    stream: str = "LEDGER"
    sequence: int = Field(ge=0, description="the last LEDGER stream sequence covered")
    aggregates: int = Field(ge=0, description="how many aggregates the ledger held at that sequence")
    digest: str = Field(description="heads_digest over every aggregate's last hash at that sequence")
    previous: int = Field(ge=0, description="the sequence of the signer's previous checkpoint (0: none)")
    heads: dict[str, str] | None = Field(
        description="subject → last hash of each aggregate that changed after `previous`; null when more "
                    f"than {MAX_HEADS} did")
    signed_at: str = Field(description="when it was signed (RFC 3339, UTC)")
    key_id: str = Field(description="key_id_of the signing key's public half")
    signature: str = Field(default="", description="base64 Ed25519 signature over the other fields")

    def signed_bytes(self) -> bytes:
        return canonical_json(self.model_dump(exclude={"signature"}))

    def encode(self) -> bytes:
        return canonical_json(self.model_dump())


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    """A short name for a public key: the first 16 hex digits of SHA-256 over its 32 raw bytes."""
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


class Signer:
    """Signs checkpoints; holds the private key and never shows it (not in repr, logs or records)."""

    __slots__ = ("_key", "key_id")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.key_id = key_id_of(key.public_key())

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r})"

    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def sign(self, *, sequence: int, digest: str, aggregates: int, previous: int,
             heads: Mapping[str, str] | None, now: datetime) -> Checkpoint:
        listed = dict(sorted(heads.items())) if heads is not None and len(heads) <= MAX_HEADS else None
        draft = Checkpoint(sequence=sequence, aggregates=aggregates, digest=digest, previous=previous, heads=listed,
                           signed_at=format_time(now), key_id=self.key_id)
        signature = base64.b64encode(self._key.sign(draft.signed_bytes())).decode("ascii")
        return draft.model_copy(update={"signature": signature})


def signature_ok(checkpoint: Checkpoint, keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """None when a key of ``keys`` (by key id) signed ``checkpoint``; else why not."""
    key = keys.get(checkpoint.key_id)
    if key is None:
        return f"signed by key {checkpoint.key_id}, which is not among the trusted keys ({', '.join(sorted(keys))})"
    try:
        key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.signed_bytes())
    except (InvalidSignature, binascii.Error, ValueError):
        return f"the signature does not match the record (key {checkpoint.key_id})"
    return None
