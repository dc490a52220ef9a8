"""infra/nats/accounts.conf is what ledger_kernel.bus_access generates: one list of who may do what,
for the embedded server and the compose cluster alike."""

from __future__ import annotations

import re
from pathlib import Path

from ledger_kernel.bus_access import USERS, compose_accounts

REPO = Path(__file__).resolve().parents[2]


def test_the_compose_accounts_are_generated_from_the_one_definition():
    committed = (REPO / "infra" / "nats" / "accounts.conf").read_text()
    assert committed == compose_accounts(), (
        "infra/nats/accounts.conf differs from ledger_kernel.bus_access: regenerate it with "
        "`.venv/bin/python -m ledger_kernel.bus_access > infra/nats/accounts.conf`")


def test_every_compose_password_is_generated_and_passed_to_the_nodes():
    accounts = (REPO / "infra" / "nats" / "accounts.conf").read_text()
    needed = set(re.findall(r"\$NATS_PW_([A-Z]+)", accounts))
    assert {u.name.upper() for u in USERS if u.in_compose} <= needed
    generated = (REPO / "infra" / "compose-env.sh").read_text()
    compose = (REPO / "docker-compose.yml").read_text()
    for user in needed:
        assert re.search(rf"\b{user}\b", generated.split("for user in", 1)[1].split(";", 1)[0]), user
        assert f"NATS_PW_{user}:" in compose, user


def test_in_compose_a_domain_service_appends_only_its_own_aggregate_types():
    accounts = compose_accounts()
    licences = accounts.split("{user: licences", 1)[1].split("}}", 1)[0]
    assert '"ledger.*.*.licence.*"' in licences and '"ledger.>"' not in licences
    assert "ledger.*.*.workforce.*" not in licences
    projector = accounts.split("{user: projector", 1)[1].split("}}", 1)[0]
    assert '"checkpoints.ledger"' in projector and '"alerts.>"' in projector
    for user in ("licences", "numbers", "personnel", "premises", "penalties", "notifier", "gateway"):
        block = accounts.split(f"{{user: {user},", 1)[1].split("}}", 1)[0]
        assert "checkpoints.ledger" not in block and '"alerts.>"' not in block, user
        assert "STREAM.DELETE" not in block and "STREAM.PURGE" not in block, user
