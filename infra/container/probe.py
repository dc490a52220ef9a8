"""Container readiness probe: is the service answering on NATS (or listening on its port)?

    python probe.py request SUBJECT [JSON]   request SUBJECT as the container's own NATS user
                                             (LEDGER_NATS_URL); ready when the reply is a JSON
                                             object with "ok" -- a structured refusal counts,
                                             since every service answers garbage with one
    python probe.py http URL                 GET URL answers 200 (the gateway's /healthz)

Exit 0 when ready, 1 otherwise, with the reason on stderr. ``LEDGER_PROBE_TIMEOUT``: seconds to wait
(default 3). The probe runs every few seconds in every container, so it reads its two variables itself
instead of loading the settings models (docs/operations.md lists them). A request is answered by any
instance of the service's queue group, so it says "the service answers", not "this instance".
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import urllib.error
import urllib.request


async def request(subject: str, payload: bytes, wait: float) -> str | None:
    import nats

    url = os.environ.get("LEDGER_NATS_URL")
    if not url:
        return "LEDGER_NATS_URL is not set"
    try:
        nc = await nats.connect(url, name="probe", connect_timeout=wait, allow_reconnect=False,
                                max_reconnect_attempts=0)
    except Exception as exc:  # any failure to connect means not ready
        return f"cannot connect to NATS: {type(exc).__name__}"
    try:
        msg = await nc.request(subject, payload, timeout=wait)
    except Exception as exc:
        return f"no answer on {subject}: {type(exc).__name__}"
    finally:
        await nc.close()
    try:
        reply = json.loads(msg.data)
    except ValueError:
        return f"{subject} answered with something that is not JSON"
    if not isinstance(reply, dict) or "ok" not in reply:
        return f"{subject} answered without an ok field"
    return None


def answers(url: str, timeout: float) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return None if response.status == 200 else f"GET {url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"GET {url} answered {exc.code}"
    except OSError as exc:
        return f"GET {url} failed: {exc}"


def main(argv: list[str]) -> int:
    try:
        timeout = float(os.environ.get("LEDGER_PROBE_TIMEOUT") or "3")
    except ValueError:
        timeout = 0.0
    if not 0 < timeout <= 600:
        print(f"probe: LEDGER_PROBE_TIMEOUT must be seconds, more than 0 and at most 600, got "
              f"{os.environ.get('LEDGER_PROBE_TIMEOUT')!r}", file=sys.stderr)
        return 2
    if len(argv) >= 2 and argv[0] == "request":
        payload = (argv[2] if len(argv) > 2 else "{}").encode()
        problem = asyncio.run(request(argv[1], payload, timeout))
    elif len(argv) == 2 and argv[0] == "http":
        problem = answers(argv[1], timeout)
    else:
        problem = "usage: probe.py request SUBJECT [JSON] | probe.py http URL"
    if problem:
        print(f"not ready: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
