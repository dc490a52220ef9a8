"""Every LEDGER_* variable is a field of one process's settings model, checked at start and documented.

The processes are started for real (``python -m ledger_<service>``, the ``ledger`` script) with a bad
value: each must stop before connecting, with one line naming the variable, and exit status 2.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest
from ledger_kernel.settings import Settings, SettingsError, expectation, fields, is_secret
from local_cluster import REPO
from pydantic_core import PydanticUndefined

spec = importlib.util.spec_from_file_location("settings_table", REPO / "infra" / "settings_table.py")
assert spec is not None and spec.loader is not None
settings_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(settings_table)
MODELS = settings_table.MODELS
ALL = [(model, name, variable, field) for model in MODELS for name, variable, field in fields(model)]
READERS = re.compile(r"""(?:environ\.get|environ\[|getenv)\(?\s*["'](LEDGER_[A-Z0-9_]+)""")
EXEMPT = {("apps/ledger-bench/src/ledger_bench/env.py", "LEDGER_BENCH_POSTGRES_URL"),  # see below
          ("infra/container/probe.py", "LEDGER_NATS_URL"), ("infra/container/probe.py", "LEDGER_PROBE_TIMEOUT")}


def test_the_documented_table_is_the_models_own():
    assert settings_table.main(["--check"]) == 0, "run: .venv/bin/python infra/settings_table.py"
    for variable, _, _, _, _ in settings_table.rows():
        assert f"| `{variable}` |" in settings_table.DEFAULT_OUTPUT.read_text(encoding="utf-8")


def test_the_check_fails_on_a_stale_table(tmp_path):
    stale = tmp_path / "operations.md"
    current = settings_table.DEFAULT_OUTPUT.read_text(encoding="utf-8")
    stale.write_text(current.replace("| `LEDGER_WEBHOOK_TIMEOUT` |", "| `LEDGER_WEBHOOK_WAIT` |"), encoding="utf-8")
    assert settings_table.main(["--check"], stale) == 1
    assert settings_table.main([], stale) == 0 and stale.read_text(encoding="utf-8") == current


@pytest.mark.parametrize(("model", "name", "variable", "field"), ALL,
                         ids=[f"{m.process}:{v}" for m, _, v, _ in ALL])
def test_every_variable_says_what_it_must_be_and_why(model, name, variable, field):
    assert variable.startswith("LEDGER_") and expectation(field) and field.description


def test_no_module_reads_a_ledger_variable_by_hand():
    """The models are the only readers. Exempt: the bench (a dev-only tool, not part of the product) and the
    container probe, which runs every few seconds and reads its two variables itself (documented too)."""
    found = set()
    for root in ("apps", "libs", "services", "contracts", "infra"):
        for path in (REPO / root).rglob("*.py"):
            for variable in READERS.findall(path.read_text(encoding="utf-8")):
                found.add((str(path.relative_to(REPO)), variable))
    assert found - EXEMPT == set()
    assert "| `LEDGER_PROBE_TIMEOUT` |" in settings_table.render()


def numeric(field) -> bool:  # noqa: ANN001
    kinds = [field.annotation, *get_args(field.annotation)]
    return any(k in (int, float, bool) or get_origin(k) is Literal for k in kinds)


NUMBERS = [(m, n, v, f) for m, n, v, f in ALL if numeric(f)]


@pytest.mark.parametrize(("model", "name", "variable", "field"), NUMBERS,
                         ids=[f"{m.process}:{v}" for m, _, v, _ in NUMBERS])
@pytest.mark.parametrize("bad", ["abc", "-5", "1e999"])
def test_a_number_that_is_not_one_is_refused_by_name(model, name, variable, field, bad):
    with pytest.raises(SettingsError) as err:
        model.from_env({variable: bad})
    assert str(err.value).startswith(f"{variable} must be {expectation(field)}, got {bad!r}")


def as_text(value) -> str:  # noqa: ANN001
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


# a default the table writes out (not None, not one made from other variables: LEDGER_DATABASE_URL from LEDGER_HOME)
DEFAULTED = [(m, n, v, f) for m, n, v, f in ALL
             if f.default not in (None, PydanticUndefined) and not isinstance(f.default, tuple)]


@pytest.mark.parametrize(("model", "name", "variable", "field"), DEFAULTED,
                         ids=[f"{m.process}:{v}" for m, _, v, _ in DEFAULTED])
def test_every_default_written_out_reads_back_as_itself(model, name, variable, field):
    """What an operator copies from the table into the environment means what it says (LEDGER_REPLICAS=3)."""
    assert getattr(model.from_env({variable: as_text(field.default)}), name) == getattr(model.from_env({}), name)


def test_replicas_and_ports_read_from_text():
    settings = Settings.from_env({"LEDGER_REPLICAS": "3", "LEDGER_NATS_PORT": " 4444 "})
    assert (settings.replicas, settings.nats_port) == (3, 4444)


def test_a_secret_is_never_echoed():
    from ledger_notifier.config import NotifierSettings

    assert is_secret(NotifierSettings.model_fields["smtp_password"])
    settings = NotifierSettings.from_env({"LEDGER_SMTP_PASSWORD": "hunter2"})
    assert "hunter2" not in repr(settings) and settings.smtp_password.get_secret_value() == "hunter2"


def test_the_shared_variables_are_read_alike_by_every_process(tmp_path):
    env = {"LEDGER_HOME": str(tmp_path), "LEDGER_HTTP_PORT": "8123", "LEDGER_ENV": "test"}
    seen = {(m.from_env(env).home, m.from_env(env).http_port, m.from_env(env).environment) for m in MODELS}
    assert seen == {(tmp_path, 8123, "test")}
    assert all(issubclass(m, Settings) for m in MODELS)


START = [
    (["-m", "ledger_notifier"], "LEDGER_WEBHOOK_TIMEOUT", "abc", "ledger_notifier"),
    (["-m", "ledger_notifier"], "LEDGER_WEBHOOK_TIMEOUT", "-5", "ledger_notifier"),
    (["-m", "ledger_gateway"], "LEDGER_MAX_BODY_BYTES", "1k", "ledger_gateway"),
    (["-m", "ledger_projector"], "LEDGER_CHECKPOINT_INTERVAL", "soon", "ledger_projector"),
    (["-m", "ledger_licences"], "LEDGER_CMD_WORKERS", "0", "ledger_licences"),
    (["-m", "ledger_premises"], "LEDGER_NATS_PORT", "70000", "ledger_premises"),
    (["-m", "ledger_cli.main", "tenant", "list"], "LEDGER_HTTP_PORT", "http", "ledger"),
    ([str(REPO / "infra" / "container" / "provision.py")], "LEDGER_PROVISION_TIMEOUT", "-1", "provision"),
    ([str(REPO / "infra" / "container" / "probe.py"), "http", "http://127.0.0.1:1/"], "LEDGER_PROBE_TIMEOUT", "abc",
     "probe"),
]


@pytest.mark.parametrize(("argv", "variable", "bad", "program"), START, ids=[f"{s[3]}:{s[1]}={s[2]}" for s in START])
def test_a_process_started_with_a_bad_value_stops_with_one_line(tmp_path, argv, variable, bad, program):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env |= {"LEDGER_HOME": str(tmp_path / "home"), "LEDGER_NATS_URL": "nats://127.0.0.1:1", variable: bad}
    done = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"{program}: {variable} must be "), done.stderr
    assert f"got {bad!r}" in lines[0] and "Traceback" not in done.stderr
    assert not (tmp_path / "home").exists()  # nothing was made: it stopped before doing anything


def test_home_is_absolute_and_the_database_defaults_under_it(tmp_path):
    assert Settings.from_env({"LEDGER_HOME": str(tmp_path / "x" / ".." / "y")}).home == tmp_path / "y"
    assert Path(Settings.from_env({}).database_url.removeprefix("sqlite:///")).name == "ledger.db"
