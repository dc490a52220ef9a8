"""Webhook signing secrets sealed at rest: AES-256-GCM, each bound to its subscription.

We sign with the secret, so it must come back: it is encrypted, not hashed. The stored form
names the key that sealed it — ``sealed:v1:<key id>:<base64url(nonce ‖ ciphertext)>``, the key
id being the first 8 hex digits of the key's SHA-256 — so keys can be rotated: one current key
seals, older ones only open. The associated data is the subscription id, so a ciphertext copied
onto another row does not open. Rows from before sealing hold the plain ``whsec_…`` secret: they
still open as they are until the start-up pass seals them. Errors name a key id, never a secret
or key material. Pure: the keys come from :mod:`ledger_notifier.sealing_keys`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger_notifier.webhook import SECRET_PREFIX

FORMAT = "sealed:v1:"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # 96 bits, random per seal: GCM's safe margin is far beyond the secrets one database holds
KEY_ID = re.compile(r"^[0-9a-f]{8}$")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")


class SealedSecretError(Exception):
    """A stored secret that does not open: its key is not configured, it was altered, or it is not ours."""


def key_id(key: bytes) -> str:
    """A short public fingerprint of a key: says which key sealed a row without saying the key."""
    return hashlib.sha256(key).hexdigest()[:8]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode(text: str) -> bytes:
    """Strict base64url: only the canonical spelling of some bytes passes (no padding, no spare bits)."""
    if not BASE64URL.match(text):
        raise SealedSecretError("the sealed secret is malformed (not base64url)")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SealedSecretError("the sealed secret is malformed (not base64url)") from None
    if _encode(raw) != text:
        raise SealedSecretError("the sealed secret is malformed (not canonical base64url)")
    return raw


class SecretBox:
    """Seals with the current key, opens with any configured one. Its repr shows key ids only."""

    def __init__(self, current: bytes, older: Iterable[bytes] = ()) -> None:
        self._ciphers: dict[str, AESGCM] = {}
        for key in (current, *older):
            if len(key) != KEY_BYTES:
                raise ValueError(f"a sealing key is {KEY_BYTES} bytes, this one is {len(key)}")
            self._ciphers.setdefault(key_id(key), AESGCM(key))
        self.current_id = key_id(current)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    @property
    def current_prefix(self) -> str:
        """How every secret sealed with the current key begins (rows without it want re-sealing)."""
        return f"{FORMAT}{self.current_id}:"

    def __repr__(self) -> str:
        return f"SecretBox(current={self.current_id}, keys={list(self.key_ids)})"

    def seal(self, secret: str, subscription_id: str) -> str:
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._ciphers[self.current_id].encrypt(nonce, secret.encode("utf-8"),
                                                        subscription_id.encode("utf-8"))
        return self.current_prefix + _encode(nonce + sealed)

    def open(self, stored: str, subscription_id: str) -> str:
        """The secret; a legacy plain ``whsec_`` one as it is. SealedSecretError when it cannot be opened."""
        if stored.startswith(SECRET_PREFIX):
            return stored
        if not stored.startswith(FORMAT):
            raise SealedSecretError("the stored secret is neither sealed nor a plain signing secret")
        kid, sep, body = stored[len(FORMAT):].partition(":")
        if not sep or not KEY_ID.match(kid):
            raise SealedSecretError("the sealed secret is malformed (no key id)")
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SealedSecretError(f"key {kid} not configured")
        raw = _decode(body)
        try:
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], subscription_id.encode("utf-8"))
        except (InvalidTag, ValueError):
            raise SealedSecretError(f"the sealed secret does not open with key {kid}: altered, or sealed "
                                    "for another subscription") from None
        return plain.decode("utf-8")

    def reseal(self, stored: str, subscription_id: str) -> str | None:
        """The stored form under the current key, or None when it already is (nothing to write)."""
        if stored.startswith(self.current_prefix):
            return None
        return self.seal(self.open(stored, subscription_id), subscription_id)
