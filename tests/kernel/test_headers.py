"""The faster header parser gives exactly nats-py's own answer, and is the one in use."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_kernel import headers
from nats.aio.client import Client

original = headers.ORIGINAL.__func__

pieces = st.sampled_from([b"Nats-Sequence", b"Nats-Msg-Id", b"a b", b" x\t", b"\x1c", b"\xe4\xb8\xad", b":", b": ",
                          b"\r\n", b"\r", b"\n", b"\x00", b"value", b"\xff\xfe", b"2026-11-23T00:00:00Z", b"\x0b"])


@settings(max_examples=800)
@given(st.one_of(st.binary(max_size=200), st.lists(pieces, max_size=30).map(b"".join)))
def test_same_answer_as_nats_py_on_any_bytes(raw: bytes) -> None:
    assert headers.parse_header_lines(raw) == original(raw)


def test_a_direct_get_reply_and_it_is_installed() -> None:
    raw = (b"Nats-Stream: LEDGER\r\nNats-Subject: ledger.t1.91310000MA1K4CFM5J.company.91310000MA1K4CFM5J\r\n"
           b"Nats-Sequence: 42\r\nNats-Msg-Id: 0f8fad5b\r\nBad Name: x\r\ntraceparent: 00-ab-cd-01\r\n\r\n")
    assert headers.parse_header_lines(raw) == original(raw) == {
        "Nats-Stream": "LEDGER", "Nats-Subject": "ledger.t1.91310000MA1K4CFM5J.company.91310000MA1K4CFM5J",
        "Nats-Sequence": "42", "Nats-Msg-Id": "0f8fad5b", "traceparent": "00-ab-cd-01"}
    import ledger_kernel.connection  # noqa: F401  (the transport installs it)

    assert Client._parse_header_lines is headers.parse_header_lines
