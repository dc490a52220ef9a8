"""The envelope and its hash chain, without a server."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_kernel import envelope
from ledger_kernel.canonical import canonical_json
from ledger_kernel.registry import CannotUpcast, EventRegistry, EventSpec, UnknownEventType
from ledger_kernel.subjects import AggregateAddress, SubjectError, token_for


def make(prev: str = envelope.GENESIS, seq: int = 1, data: dict | None = None) -> dict:
    return envelope.build_event(
        event_id="e1", source="urn:ledger:licences", event_type="licence.issued", version=1,
        aggregate_id="B2-20220315", tenant="t1", company="91310115MA1K4B8N68", sequence=seq,
        effective_date=date(2022, 3, 15), data=data or {"licence_no": "B2-20220315"}, prevhash=prev,
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_event_has_every_attribute_of_the_design():
    ev = make()
    for attr in ("specversion", "id", "source", "type", "subject", "time", "dataschema", "tenant", "company",
                 "sequence", "effectivedate", "prevhash", "hash", "data"):
        assert attr in ev
    assert ev["specversion"] == "1.0"
    assert ev["time"] == "2026-01-01T00:00:00.000000Z"
    assert ev["dataschema"].endswith("/licence.issued.v1.json")
    assert envelope.schema_version(ev) == 1
    assert all(k.isalnum() and k.islower() for k in ev), "CloudEvents attribute names are lower-case alnum"


def test_hash_detects_any_change_and_chain_links():
    first = make()
    second = make(prev=first["hash"], seq=2)
    assert envelope.seal_ok(first) and envelope.seal_ok(second)
    assert second["prevhash"] == first["hash"]
    tampered = {**first, "data": {"licence_no": "B2-20220316"}}
    assert not envelope.seal_ok(tampered)


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=20), st.booleans()), max_size=6))
def test_canonical_json_is_stable_under_key_order(data):
    reordered = dict(reversed(list(data.items())))
    assert canonical_json(data) == canonical_json(reordered)
    assert make(data=data)["hash"] == make(data=reordered)["hash"]


def test_event_id_is_derived_from_tenant_and_command():
    assert envelope.event_id_for("t1", "c1") == envelope.event_id_for("t1", "c1")
    assert envelope.event_id_for("t1", "c1") != envelope.event_id_for("t2", "c1")


@pytest.mark.parametrize("raw,reason", [(b"not json", "not JSON"), (b"[]", "not a JSON object"),
                                        (b"{}", "missing attributes")])
def test_decode_refuses_garbage_with_a_reason(raw, reason):
    with pytest.raises(envelope.EnvelopeError, match=reason):
        envelope.decode(raw)


def test_subjects_are_token_safe():
    addr = AggregateAddress("t1", "91310115MA1K4B8N68", "penalty", token_for("p", "京通管罚〔2024〕12号"))
    assert addr.subject.startswith("ledger.t1.91310115MA1K4B8N68.penalty.p")
    assert AggregateAddress.parse(addr.subject) == addr
    assert token_for("p", "京通管罚〔2024〕12号") == token_for("p", "京通管罚〔2024〕12号")
    with pytest.raises(SubjectError):
        AggregateAddress("t.1", "x", "licence", "y")


def test_registry_upcasts_step_by_step():
    reg = EventRegistry()
    reg.register(EventSpec("site.leased", 3, dict, "premises", "site"))
    reg.upcaster("site.leased", 1)(lambda d: {**d, "v2": True})
    reg.upcaster("site.leased", 2)(lambda d: {**d, "v3": True})
    assert reg.upcast("site.leased", 1, {"a": 1}) == {"a": 1, "v2": True, "v3": True}
    with pytest.raises(CannotUpcast):
        reg.upcast("site.leased", 4, {})
    with pytest.raises(UnknownEventType):
        reg.spec("nope.nope")
