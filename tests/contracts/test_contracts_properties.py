"""Property tests: whatever arrives, validate_fact answers with a ValidFact or a FactRejected.

Never another exception, and every error names a field, a code and reasons in
both languages. Inputs are random JSON-like values, random text and bytes, and
valid examples with one part replaced by something random.
"""

from __future__ import annotations

import json
from datetime import date

from contracts_support import TODAY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_contracts import FACT_TYPES, FactRejected, ValidFact, validate_fact
from ledger_contracts.errors import ERROR_CODES
from ledger_contracts.examples import example_fact
from ledger_contracts.formats import is_valid_uscc, uscc_check_char

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
# values that look almost right: dates, codes, numbers in plausible shapes
near_misses = st.sampled_from(
    ["2026-02-29", "2026-13-01", "2026Q5", "2026-09", "B24", "B2-2022031", "粤B2-20230510", "44", 44, "",
     " ", "400-600-1234", "91310115MA1K4B8N68", "91310115ma1k4b8n68", -1, 10**30, 1.005, "1e3", "张三",
     "13812345678", [], {}, None, True, "nationwide", "provincial", "other", "1" * 200]
)  # fmt: skip
# what a Python caller might pass in a dict: not JSON, must still be refused cleanly
python_values = (
    st.binary(max_size=10)
    | st.tuples(st.integers(), st.text(max_size=5))
    | st.frozensets(st.integers(), max_size=3)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.dates()
    | st.datetimes()
    | st.complex_numbers()
    | st.just(object())
)
anything = json_values | near_misses | python_values


def check_outcome(raw, today: date = TODAY) -> None:
    try:
        result = validate_fact(raw, today=today)
    except FactRejected as rejection:
        assert rejection.errors
        for error in rejection.errors:
            assert isinstance(error.field, str)
            assert error.code in ERROR_CODES, error.code
            assert isinstance(error.reason_en, str) and error.reason_en
            assert isinstance(error.reason_zh, str) and error.reason_zh
    else:
        assert isinstance(result, ValidFact)


@SETTINGS
@given(json_values)
def test_random_json_values(value):
    check_outcome(value if isinstance(value, dict) else {"data": value})
    check_outcome(json.dumps(value))


@SETTINGS
@given(st.binary(max_size=200))
def test_random_bytes(blob):
    check_outcome(blob)


@SETTINGS
@given(st.text(max_size=200))
def test_random_text(text):
    check_outcome(text)


@SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(FACT_TYPES) | st.text(max_size=20) | anything,
            "company": st.sampled_from(["91310115MA1K4B8N68"]) | anything,
            "effective_date": st.dates().map(date.isoformat) | anything,
            "data": st.dictionaries(st.text(max_size=20), anything, max_size=6) | anything,
            "idempotency_key": anything,
        },
    )
)
def test_random_envelopes(raw):
    check_outcome(raw)


@SETTINGS
@given(st.sampled_from(FACT_TYPES), st.data())
def test_examples_with_one_field_replaced(fact_type, data):
    fact = example_fact(fact_type)
    fields = list(fact["data"]) or ["anything"]
    name = data.draw(st.sampled_from(fields))
    fact["data"][name] = data.draw(anything)
    check_outcome(fact)
    try:
        encoded = json.dumps(fact, ensure_ascii=False).encode()
    except (TypeError, ValueError):
        return  # not representable as JSON: the dict path above is the test
    check_outcome(encoded)


@SETTINGS
@given(st.sampled_from(FACT_TYPES), st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 1, 1)))
def test_examples_at_any_today(fact_type, today):
    check_outcome(example_fact(fact_type), today=today)


@SETTINGS
@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9), st.integers(0, 999999))
def test_computed_check_chars_make_valid_usccs(tail, division):
    body = f"91{division:06d}{tail}"
    assert is_valid_uscc(body + uscc_check_char(body))
