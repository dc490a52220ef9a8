"""Where the keys that seal webhook signing secrets come from (the sealing is :mod:`sealed_secrets`).

``LEDGER_NOTIFIER_SECRET_KEY``       base64 of 32 random bytes: seals new secrets, and re-seals at start-up
                                     every row sealed with another key (``openssl rand -base64 32``)
``LEDGER_NOTIFIER_SECRET_KEYS_OLD``  comma-separated older keys, only for opening what they sealed (rotation)

Unset outside production, a key is made on first start in ``$LEDGER_HOME/keys/notifier-secret.key``
(mode 0600, its folder 0700) and read from there after. Unset in production, the notifier refuses
to start: a key made beside the database it protects protects little, and one lost with a
container would leave every secret unopenable. Errors name the variable or file, never the key.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from ledger_kernel.settings import Settings, SettingsError

from ledger_notifier.config import NotifierConfig
from ledger_notifier.sealed_secrets import KEY_BYTES, SecretBox

log = logging.getLogger(__name__)

CURRENT = "LEDGER_NOTIFIER_SECRET_KEY"
OLDER = "LEDGER_NOTIFIER_SECRET_KEYS_OLD"
KEY_FILE = Path("keys") / "notifier-secret.key"


class SealingKeyError(SettingsError):
    """A sealing key that is missing where it must be given, or that is not a key."""


def parse_key(text: str, source: str) -> bytes:
    """32 bytes from their base64 (standard or URL-safe alphabet). The error names ``source``, not the text."""
    raw = text.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise SealingKeyError(
            f"{source} must be the base64 of {KEY_BYTES} random bytes (e.g. `openssl rand -base64 32`); "
            f"the value given is not. {source} 必须是 {KEY_BYTES} 字节随机数的 base64 编码"
            f"（例如 `openssl rand -base64 32`），当前值不是。")
    return key


def older_keys(text: str | None) -> list[bytes]:
    items = [item for item in (text or "").split(",") if item.strip()]
    return [parse_key(item, f"{OLDER} (item {n})") for n, item in enumerate(items, 1)]


def key_file(home: Path) -> bytes:
    """The development key under ``home``: read it, or make it once (atomically, so two starts agree)."""
    path = home / KEY_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)  # mkdir's mode passes through the umask, and an older folder keeps its own
    if not path.exists():
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii") + "\n")
                out.flush()
                os.fsync(out.fileno())
            draft.chmod(0o600)
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(draft, path)
                log.warning("made a sealing key for webhook secrets in %s; set %s in production", path, CURRENT)
        finally:
            draft.unlink(missing_ok=True)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
        log.warning("%s was readable by others; its mode is now 0600", path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SealingKeyError(f"cannot read the sealing key file {path} ({type(exc).__name__}) "
                              f"无法读取密钥文件 {path}") from None
    return parse_key(text, f"the key file {path}")


def secret_box(config: NotifierConfig, settings: Settings) -> SecretBox:
    """The configured keys, or the development key file; refused in production without a key."""
    older = older_keys(config.older_secret_keys)
    if config.secret_key and config.secret_key.strip():
        return SecretBox(parse_key(config.secret_key, CURRENT), older)
    if settings.environment == "production":
        raise SealingKeyError(
            f"{CURRENT} is not set: with LEDGER_ENV=production the notifier needs a key to seal webhook "
            f"signing secrets (base64 of {KEY_BYTES} random bytes, e.g. `openssl rand -base64 32`). "
            f"生产环境（LEDGER_ENV=production）下必须设置 {CURRENT}（{KEY_BYTES} 字节随机数的 base64 编码，"
            f"例如 `openssl rand -base64 32`），用于加密 Webhook 签名密钥。")
    return SecretBox(key_file(settings.home), older)
