"""The checkpoint signing key on disk, and the keyring of every public key that ever signed.

``$LEDGER_HOME/keys/checkpoint-ed25519``          the private key (PKCS#8 PEM, mode 0600, folder 0700)
``$LEDGER_HOME/keys/checkpoint-ed25519.pub``      its public key (SubjectPublicKeyInfo PEM): give it to auditors
``$LEDGER_HOME/keys/checkpoint-keyring.pub``      every public key used so far, one PEM block each: rotation
                                                  adds the new one, so old checkpoints stay verifiable

``LEDGER_CHECKPOINT_KEY`` (base64 of a 32-byte Ed25519 seed, ``openssl rand -base64 32``), when set,
is the signing key instead of the file: how containers get it (compose reads it from ``.env``).

Outside production a key file is made on the projector's first start; in production the key must
exist beforehand (``ledger checkpoint-key create``, or the variable), so a lost volume is noticed
rather than papered over with a fresh key. Errors name files and variables, never key material.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger_kernel.checkpoints import Signer, key_id_of
from ledger_kernel.settings import Settings, SettingsError

log = logging.getLogger(__name__)

PRIVATE = Path("keys") / "checkpoint-ed25519"
PUBLIC = Path("keys") / "checkpoint-ed25519.pub"
KEYRING = Path("keys") / "checkpoint-keyring.pub"
ENV_KEY = "LEDGER_CHECKPOINT_KEY"
_PEM_END = b"-----END PUBLIC KEY-----"


class CheckpointKeyError(SettingsError):
    """The checkpoint key is missing where it must exist, or a key file holds no usable key."""


def _write_private(path: Path, pem: bytes, *, replace: bool) -> bool:
    """Write ``pem`` with mode 0600 (atomically); False when the file exists and ``replace`` is not set."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)  # mkdir's mode passes through the umask, and an older folder keeps its own
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        draft.chmod(0o600)
        if replace:
            os.replace(draft, path)
            return True
        try:
            os.link(draft, path)  # another process made it first: keep theirs
        except FileExistsError:
            return False
        return True
    finally:
        draft.unlink(missing_ok=True)


def _public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _publish_public(home: Path, key: Ed25519PublicKey) -> None:
    """Write the public key file and add the key to the keyring (once)."""
    pem = _public_pem(key)
    (home / PUBLIC).write_bytes(pem)
    ring = home / KEYRING
    known = read_public_keys(ring) if ring.exists() else {}
    if key_id_of(key) not in known:
        with ring.open("ab") as out:
            out.write(pem)


def _new_key(home: Path, *, replace: bool) -> Ed25519PrivateKey | None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    if not _write_private(home / PRIVATE, pem, replace=replace):
        return None
    _publish_public(home, key.public_key())
    return key


def create(home: Path) -> str:
    """Make the signing key if there is none; the key id of the key in place."""
    if not (home / PRIVATE).exists():
        made = _new_key(home, replace=False)
        if made is not None:
            log.warning("made a checkpoint signing key %s in %s", key_id_of(made.public_key()), home / PRIVATE.parent)
    return load_private(home).key_id


def rotate(home: Path) -> tuple[str | None, str]:
    """A new signing key; the old public key stays in the keyring. (old key id or None, new key id)."""
    old = load_private(home).key_id if (home / PRIVATE).exists() else None
    if old is not None:  # a keyring made before rotation existed still gets the old key
        _publish_public(home, _read_private(home / PRIVATE).public_key())
    key = _new_key(home, replace=True)
    assert key is not None
    new = key_id_of(key.public_key())
    log.warning("rotated the checkpoint signing key: %s → %s", old, new)
    return old, new


def _read_private(path: Path) -> Ed25519PrivateKey:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
        log.warning("%s was readable by others; its mode is now 0600", path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointKeyError(f"cannot read the checkpoint key {path} ({type(exc).__name__}) "
                                 f"无法读取检查点签名密钥 {path}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointKeyError(f"{path} is not an Ed25519 private key {path} 不是 Ed25519 私钥")
    return key


def load_private(home: Path) -> Signer:
    return Signer(_read_private(home / PRIVATE))


def seed_key(text: str, source: str = ENV_KEY) -> Ed25519PrivateKey:
    """An Ed25519 key from the base64 of its 32-byte seed; the error names ``source``, not the text."""
    raw = text.strip().replace("-", "+").replace("_", "/")
    try:
        seed = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise CheckpointKeyError(f"{source} must be the base64 of 32 random bytes (`openssl rand -base64 32`); "
                                 f"the value given is not. {source} 必须是 32 字节随机数的 base64 编码。")
    return Ed25519PrivateKey.from_private_bytes(seed)


def _key_text(settings: Settings, env: Mapping[str, str] | None) -> str:
    """``LEDGER_CHECKPOINT_KEY`` of the settings, or of ``env`` when one is given."""
    key = (settings if env is None else Settings.from_env(env)).checkpoint_key
    return key.get_secret_value().strip() if key is not None else ""


def configured(settings: Settings, env: Mapping[str, str] | None = None) -> bool:
    """True when a signing key exists (the variable or the file): ``show`` reads it, never makes one."""
    return bool(_key_text(settings, env)) or (settings.home / PRIVATE).exists()


def signer_for(settings: Settings, env: Mapping[str, str] | None = None) -> Signer:
    """The projector's signer: ``LEDGER_CHECKPOINT_KEY``, else the key file (made once outside production);
    refused in production with neither."""
    text = _key_text(settings, env)
    if text:
        return Signer(seed_key(text))
    path = settings.home / PRIVATE
    if not path.exists():
        if settings.environment == "production":
            raise CheckpointKeyError(
                f"no checkpoint signing key: with LEDGER_ENV=production set {ENV_KEY} or make {path} once with "
                f"`ledger checkpoint-key create`, and keep it (and its public key) safe. "
                f"生产环境下缺少检查点签名密钥：请设置 {ENV_KEY}，或先运行 `ledger checkpoint-key create` 生成 {path}。")
        create(settings.home)
    return load_private(settings.home)


def read_public_keys(path: Path) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM file (one key, or a keyring of several), by key id."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CheckpointKeyError(f"cannot read public key file {path} ({type(exc).__name__}) "
                                 f"无法读取公钥文件 {path}") from None
    keys: dict[str, Ed25519PublicKey] = {}
    for block in raw.split(_PEM_END)[:-1]:
        try:
            key = serialization.load_pem_public_key(block.strip() + b"\n" + _PEM_END + b"\n")
        except ValueError:
            raise CheckpointKeyError(f"{path} holds a block that is not a PEM public key "
                                     f"{path} 含有无法解析的公钥") from None
        if not isinstance(key, Ed25519PublicKey):
            raise CheckpointKeyError(f"{path} holds a key that is not Ed25519 {path} 含有非 Ed25519 公钥")
        keys[key_id_of(key)] = key
    if not keys:
        raise CheckpointKeyError(f"{path} holds no PEM public key {path} 中没有公钥")
    return keys


def local_keyring(home: Path) -> dict[str, Ed25519PublicKey]:
    """The stack's own keyring (every key it signed with), or {} when it has none."""
    with contextlib.suppress(CheckpointKeyError):
        if (home / KEYRING).exists():
            return read_public_keys(home / KEYRING)
    return {}
