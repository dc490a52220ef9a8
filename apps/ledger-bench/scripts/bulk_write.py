"""Quick measurement of the bulk write path (not a test, not `make bench`): prints facts/s.

    .venv/bin/python apps/ledger-bench/scripts/bulk_write.py [--facts 10000] [--rows 5000] [--full]

Starts a nats-server of its own (temporary directory, free port) and the services as separate
processes, the way `ledger up` runs them: the five domain services and the gateway (``--full``
adds the projector and the notifier, which compete for the same two cores). Then:

1. one ``POST /v1/facts:batch`` of ``--facts`` realistic facts, each with an idempotency key, timed
   until the answer (accepted: every fact appended and acknowledged by JetStream);
2. ``ledger import`` of a ``--rows``-row CSV (other companies), timed as the command reports it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from ledger_bench import facts as F
from ledger_gateway.admin import create_tenant
from ledger_kernel.connection import connect
from ledger_kernel.embedded import EmbeddedNats, free_port
from ledger_kernel.services import ServiceKind, named, of_kind
from ledger_kernel.streams import provision

DOMAIN = tuple(spec.name for spec in of_kind(ServiceKind.domain))


async def _provision(url: str) -> None:
    nc = await connect(url, "measure-provision")
    await provision(nc)
    await nc.close()


def _wait_ready(url: str, procs: list[subprocess.Popen], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise SystemExit(f"{p.args} exited with {p.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the gateway was not ready in time")


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_all(pids: dict[str, int]) -> dict[str, float]:
    return {name: _cpu(pid) for name, pid in pids.items()}


def _csv(path: Path, facts: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["type", "company", "effective_date", "data"])
        for f in facts:
            w.writerow([f["type"], f["company"], f["effective_date"], json.dumps(f["data"], ensure_ascii=False)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--facts", type=int, default=10_000)
    ap.add_argument("--rows", type=int, default=5_000)
    ap.add_argument("--per-company", type=int, default=40)
    ap.add_argument("--full", action="store_true", help="also run the projector and the notifier")
    ap.add_argument("--profile", type=Path, help="run each service under `py-spy record` (pip install py-spy), "
                                                 "writing DIR/<service>.txt (collapsed stacks)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="measure-bulk-") as tmp:
        home = Path(tmp)
        server = EmbeddedNats(home=home / "nats", port=free_port(), server_name="measure")
        server.start()
        procs: list[subprocess.Popen] = []
        try:
            asyncio.run(_provision(server.url))
            port = free_port()
            env = {**os.environ, "LEDGER_NATS_URL": server.url, "LEDGER_HOME": str(home / "home"),
                   "LEDGER_HTTP_PORT": str(port), "LEDGER_ENV": "test",
                   "LEDGER_DATABASE_URL": f"sqlite:///{home / 'ledger.db'}"}
            _, issued = create_tenant(env["LEDGER_DATABASE_URL"], "measure")
            names = [*DOMAIN, "gateway", *(("projector", "notifier") if args.full else ())]
            logs = home / "logs"
            logs.mkdir()
            for name in names:
                out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 — closed with the process
                cmd = [sys.executable, "-m", named(name).module]
                if args.profile:
                    args.profile.mkdir(parents=True, exist_ok=True)
                    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                    cmd = [spy, "record", "-r", "200", "-f", "raw", "-o", str(args.profile / f"{name}.txt"), "--", *cmd]
                procs.append(subprocess.Popen(cmd, env=env, stdout=out,
                                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
            url = f"http://127.0.0.1:{port}"
            _wait_ready(url, procs)
            per = args.per_company
            headers = {"Authorization": f"Bearer {issued.key}"}

            facts = list(F.facts(-(-args.facts // per), per))[:args.facts]
            body = [{**f, "idempotency_key": str(uuid.uuid4())} for f in facts]
            with httpx.Client(base_url=url, headers=headers, timeout=600) as client:
                warm = [F.one_fact(name, 999_990 + i) for i, name in enumerate(DOMAIN)]
                deadline = time.monotonic() + 60
                while True:  # until every domain service answers (it subscribes after its start-up)
                    warmed = client.post("/v1/facts:batch", json=warm).json()
                    if all(x["ok"] or x["status"] < 500 for x in warmed["results"]):
                        break
                    if time.monotonic() > deadline:
                        raise SystemExit(f"the services did not answer: {warmed}")
                    time.sleep(0.3)
                pids = {name: p.pid for name, p in zip(names, procs, strict=True)}
                pids["nats-server"] = server.process.pid  # type: ignore[union-attr]
                cpu_before = _cpu_all(pids)
                started = time.perf_counter()
                r = client.post("/v1/facts:batch", json=body)
                seconds = time.perf_counter() - started
                cpu = {k: v - cpu_before[k] for k, v in _cpu_all(pids).items()}
            r.raise_for_status()
            answer = r.json()
            print(f"POST /v1/facts:batch: {len(facts)} facts, {answer['accepted']} accepted, "
                  f"{answer['refused']} refused in {seconds:.2f}s = {len(facts) / seconds:,.0f} facts/s")
            if not args.profile:
                print("  CPU seconds:", ", ".join(f"{k} {v:.2f}" for k, v in cpu.items() if v >= 0.01),
                      f"(total {sum(cpu.values()):.2f}; load average {os.getloadavg()[0]:.1f})")
            if answer["refused"]:
                first = next(x for x in answer["results"] if not x["ok"])
                print("  first refusal:", json.dumps(first["problem"], ensure_ascii=False)[:300])

            first_company = -(-args.facts // per) + 1
            rows = list(F.facts(-(-args.rows // per), per, first=first_company))[:args.rows]
            path = home / "import.csv"
            _csv(path, rows)
            ledger = str(Path(sys.executable).with_name("ledger"))
            started = time.perf_counter()
            done = subprocess.run([ledger, "import", str(path), "--json", "--url", url, "--key", issued.key],
                                  env=env, capture_output=True, text=True)
            wall = time.perf_counter() - started
            summary = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"ledger import: {summary['rows']} rows, {summary['accepted']} accepted, {summary['refused']} "
                  f"refused in {summary['seconds']:.2f}s = {summary['rows'] / summary['seconds']:,.0f} rows/s "
                  f"({wall:.2f}s wall with the command's start-up)")
        finally:
            for p in procs:
                p.send_signal(2 if args.profile else 15)  # py-spy writes its file on SIGINT
            for p in procs:
                try:
                    p.wait(15)
                except subprocess.TimeoutExpired:
                    p.kill()
            server.stop()


if __name__ == "__main__":
    main()
