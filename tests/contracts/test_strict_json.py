"""One strict JSON reader for every door a document comes in by (gateway, cmd.<service>, facts, import rows)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_contracts import strict_json

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@given(values)
def test_any_json_document_reads_back_as_written(value):
    text = json.dumps(value, ensure_ascii=False)
    assert strict_json.loads(text) == value
    assert strict_json.loads(text.encode("utf-8")) == value
    assert strict_json.loads(bytearray(text.encode("utf-8")), unique_keys=False) == value


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("unique_keys", [True, False])
def test_python_constants_are_not_json(constant, unique_keys):
    with pytest.raises(strict_json.NotJson, match=constant) as err:
        strict_json.loads(f'{{"amount": [1, {constant}]}}', unique_keys=unique_keys)
    assert err.value.name == constant and isinstance(err.value, ValueError)


def test_a_key_twice_in_one_object_is_refused_unless_asked_otherwise():
    doc = '{"data": {"a": 1, "b": 2, "a": 3}}'
    with pytest.raises(strict_json.DuplicateKey) as err:
        strict_json.loads(doc)
    assert err.value.key == "a"
    assert strict_json.loads(doc, unique_keys=False) == {"data": {"a": 3, "b": 2}}


@pytest.mark.parametrize("raw", [b'{"a": "\xff"}', '{"a": 1}'.encode("utf-16"), b"\xef\xbb"])
def test_bytes_must_be_utf8(raw):
    with pytest.raises(ValueError):
        strict_json.loads(raw)
