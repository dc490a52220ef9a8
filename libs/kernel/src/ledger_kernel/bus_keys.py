"""The embedded bus's passwords, generated once under ``LEDGER_HOME/keys/nats`` (dir 0700, files 0600).

One file per user (``<user>.password``); read-only stream credentials live beside them in
``readers/<name>.json`` with the tenant they may read. Nothing here is ever logged.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import quote

from ledger_kernel.bus_access import USERS, BusUser, stream_reader


def keys_dir(home: Path) -> Path:
    return home / "keys" / "nats"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for p in (path, *path.parents):  # keys/, keys/nats/ and below: owner only
        p.chmod(0o700)
        if p.name == "keys":
            break
    return path


def write_private(path: Path, text: str) -> None:
    """Create the file 0600 before writing a byte into it (no window where others may read)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    path.chmod(0o600)


def new_password() -> str:
    return "pw-" + secrets.token_urlsafe(24).replace("-", "x")


def ensure_passwords(home: Path) -> dict[str, str]:
    """Every user of :data:`USERS` has a password (created on first use, kept afterwards)."""
    folder = _private_dir(keys_dir(home))
    passwords = {}
    for u in USERS:
        path = folder / f"{u.name}.password"
        if not path.exists():
            write_private(path, new_password())
        passwords[u.name] = path.read_text().strip()
    return passwords


def password_of(home: Path, user: str) -> str | None:
    path = keys_dir(home) / f"{user}.password"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def url_for(host_port: str, user: str, password: str) -> str:
    return f"nats://{quote(user, safe='')}:{quote(password, safe='')}@{host_port}"


def save_reader(home: Path, reader: BusUser, tenant: str | None, password: str) -> Path:
    folder = _private_dir(keys_dir(home) / "readers")
    path = folder / f"{reader.name}.json"
    write_private(path, json.dumps({"user": reader.name, "tenant": tenant, "password": password}))
    return path


def readers(home: Path) -> list[tuple[BusUser, str]]:
    """The stream credentials created so far, with their passwords."""
    folder = keys_dir(home) / "readers"
    found = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = json.loads(path.read_text())
        found.append((stream_reader(data["user"], data["tenant"]), data["password"]))
    return found
