"""Where we lean on nats-py's behaviour, and the tests that say when upstream has changed it.

- The header parser (``ledger_kernel.headers``) replaces nats-py 2.16's, which scans each header name
  character by character. It is installed by the transport module only: importing the pure parts of
  the kernel, the domain's records or the rules loads no NATS client at all.
- nats.py issue #985: in 2.16 a JetStream publish made with ``publish_async`` that the server rejects
  (a wrong expected sequence, a wrong expected stream) never resolves its future: the reply handler
  raises instead of setting the exception. Anything that pipelines publishes must bound its wait on
  such a future; the test below fails, saying so, on the day the future resolves.
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import sys
from importlib.metadata import version

import nats
import pytest
from ledger_kernel import headers
from nats.aio.client import Client
from nats.js.api import StreamConfig

PURE = ("ledger_kernel", "ledger_kernel.envelope", "ledger_kernel.chain", "ledger_kernel.canonical",
        "ledger_kernel.clock", "ledger_kernel.subjects", "ledger_kernel.aggregate", "ledger_kernel.registry",
        "ledger_kernel.settings", "ledger_kernel.checkpoints", "ledger_kernel.telemetry",
        "ledger_domain", "ledger_domain.aggregate", "ledger_domain.schema", "ledger_domain.settings",
        "ledger_rules", "ledger_rules.model", "ledger_rules.history", "ledger_contracts", "ledger_readmodel")


def imported_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"],
                          capture_output=True, text=True, timeout=120, check=True)
    return set(done.stdout.split())


@pytest.mark.parametrize("module", PURE)
def test_a_pure_import_loads_no_nats_client(module):
    loaded = imported_after(f"import {module}")
    assert module in loaded
    assert not {m for m in loaded if m == "nats" or m.startswith("nats.")}, f"{module} loads nats-py"


def test_the_transport_installs_the_header_parser():
    code = ("from nats.aio.client import Client\nbefore = Client._parse_header_lines\n"
            "import ledger_kernel.connection\nfrom ledger_kernel import headers\n"
            "assert before is not headers.parse_header_lines\n"
            "assert Client._parse_header_lines is headers.parse_header_lines\n")
    assert "ledger_kernel.connection" in imported_after(code)


def test_the_header_parser_is_checked_against_the_installed_nats_py():
    assert version("nats-py") == headers.CHECKED_WITH, (
        f"nats-py is {version('nats-py')}, ledger_kernel.headers was checked with {headers.CHECKED_WITH}: "
        "install() now does nothing. Re-run tests/kernel/test_headers.py against the new parser and the "
        "replay stage of the bench, then raise CHECKED_WITH or remove the work-around")
    import ledger_kernel.connection  # noqa: F401  (the transport installs it)

    assert Client._parse_header_lines is headers.parse_header_lines


def test_upstream_still_scans_each_header_name_by_character():
    source = inspect.getsource(headers.ORIGINAL.__func__)
    assert "any(c.isspace() for c in key)" in source, (
        "nats-py no longer scans each header name character by character: measure the replay stage with "
        "and without ledger_kernel.headers, and remove the work-around if it is no faster")


async def test_issue_985_a_rejected_publish_async_still_never_resolves(fresh_nats):
    nc = await nats.connect(fresh_nats.url)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="UPSTREAM985", subjects=["upstream985.>"]))
        ack = await js.publish("upstream985.a", b"first")
        assert ack.seq == 1
        future = await js.publish_async("upstream985.a", b"second",
                                        headers={"Nats-Expected-Last-Subject-Sequence": "7"})
        done, _ = await asyncio.wait({future}, timeout=1.0)
        if done:
            outcome = future.exception() or future.result()
            pytest.fail(f"nats-py fixed #985 — remove the work-around (a rejected publish_async now resolves: "
                        f"{outcome!r})")
        future.cancel()
        assert (await js.stream_info("UPSTREAM985")).state.messages == 1  # and the server did refuse it
    finally:
        await nc.close()
