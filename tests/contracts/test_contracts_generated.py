"""The generated schemas and docs/events.md are up to date, stable and consistent with the models."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from ledger_contracts import CATALOGUE, FACT_TYPES, validate_fact
from ledger_contracts import generate as gen
from ledger_contracts.examples import EXAMPLES
from ledger_contracts.rule_ids import RULE_IDS
from spec_files import spec_file

ROOT = gen.default_root()


def test_generated_files_are_not_stale(capsys):
    code = gen.main(["--check", "--root", str(ROOT)])
    assert code == 0, (
        "stale generated files; run: python -m ledger_contracts.generate\n" + capsys.readouterr().err
    )


def test_check_reports_stale_and_orphan_files(tmp_path: Path, capsys):
    (tmp_path / "contracts" / "schemas").mkdir(parents=True)
    assert gen.main(["--root", str(tmp_path)]) == 0
    assert gen.main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / "docs" / "events.md").write_text("edited by hand\n", encoding="utf-8")
    (tmp_path / "contracts" / "schemas" / "gone.v1.json").write_text("{}\n", encoding="utf-8")
    capsys.readouterr()
    assert gen.main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "docs/events.md" in err and "gone.v1.json" in err
    assert gen.main(["--root", str(tmp_path)]) == 0
    assert not (tmp_path / "contracts" / "schemas" / "gone.v1.json").exists()
    assert gen.main(["--check", "--root", str(tmp_path)]) == 0


def test_writers_are_a_list_that_can_grow(tmp_path: Path):
    (tmp_path / "contracts").mkdir()
    extra = gen.Writer("test-asyncapi", lambda: {"contracts/asyncapi/test.yaml": "asyncapi: 3.0.0\n"})
    gen.register_writer(extra)
    try:
        with pytest.raises(ValueError):
            gen.register_writer(extra)
        gen.main(["--root", str(tmp_path)])
        assert (tmp_path / "contracts" / "asyncapi" / "test.yaml").read_text() == "asyncapi: 3.0.0\n"
    finally:
        gen.WRITERS.remove(extra)


def test_one_schema_per_type_with_stable_form():
    files = sorted((ROOT / "contracts" / "schemas").glob("*.json"))
    assert [f.name for f in files] == sorted(f"{t}.v1.json" for t in FACT_TYPES)
    for path in files:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text)
        assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert document["$id"] == f"https://ledger.example/contracts/schemas/{path.name}"
        assert document["additionalProperties"] is False


def test_examples_match_the_published_schemas():
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    for fact_type, fact in EXAMPLES.items():
        schema = json.loads(
            (ROOT / "contracts" / "schemas" / f"{fact_type}.v1.json").read_text(encoding="utf-8")
        )
        validator = jsonschema_rs.validator_for(schema)
        assert validator.is_valid(fact["data"]), fact_type
        # and the canonical (stored) form too
        stored = validate_fact(fact, today=__import__("datetime").date(2026, 11, 23)).data_json()
        assert validator.is_valid(stored), fact_type


def test_schema_refuses_what_the_model_refuses():
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    from ledger_contracts.schemas import payload_schema

    validator = jsonschema_rs.validator_for(payload_schema(CATALOGUE["licence.issued"]))
    good = dict(EXAMPLES["licence.issued"]["data"])
    for field, bad in [("licence_no", "B2-2022"), ("scope", "global"), ("provinces", ["99"]), ("x", 1)]:
        assert not validator.is_valid({**good, field: bad}), field


def test_events_page_lists_every_type_and_rule_ids_are_known():
    page = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    for spec in CATALOGUE.values():
        assert f"#### `{spec.type}`" in page
        assert set(spec.rules) <= RULE_IDS


def test_rule_ids_match_rules_md_when_available():
    text = spec_file("design", "rules.md").read_text(encoding="utf-8")
    import re

    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", text, flags=re.MULTILINE))
    assert documented == RULE_IDS - {"credit-estimate"}
    used = {rule for spec in CATALOGUE.values() for rule in spec.rules}
    assert documented <= used, f"rules no fact feeds: {sorted(documented - used)}"


def test_generator_is_deterministic(tmp_path: Path):
    for run in ("a", "b"):
        (tmp_path / run / "contracts").mkdir(parents=True)
        gen.main(["--root", str(tmp_path / run)])
    for path in (tmp_path / "a").rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes()
    shutil.rmtree(tmp_path)
