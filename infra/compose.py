"""Write the parts of docker-compose.yml and infra/compose-env.sh that follow the list of services.

The installed services (``ledger_kernel.services``, the ``ledger.services`` entry points) and their
bus users (``ledger_kernel.bus_access``) decide: the NATS passwords every node needs, one container
block per domain service, what the gateways wait for, and the users compose-env.sh makes passwords
for. Each part sits between a ``# >>> <part>`` and a ``# <<< <part>`` line; the rest of the files is
written by hand. Run

    .venv/bin/python infra/compose.py            # rewrite the parts
    .venv/bin/python infra/compose.py --check    # exit 1 naming the stale parts (tests/infra runs it)
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

from dockerfiles import members
from ledger_kernel.bus_access import USERS
from ledger_kernel.services import ServiceKind, discover, of_kind

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
COMPOSE_ENV = REPO / "infra" / "compose-env.sh"
REQUIRED = ":?run infra/compose-env.sh"
CLUSTER_USERS = ("reader", "sys", "route")  # accounts.conf's READERS and SYS users, and the route credential


def nats_users() -> list[str]:
    return [*(u.name for u in USERS if u.in_compose), *CLUSTER_USERS]


def nats_passwords() -> list[str]:
    return [f"  NATS_PW_{u.upper()}: ${{NATS_PW_{u.upper()}{REQUIRED}}}" for u in nats_users()]


def dockerfile(distribution: str) -> str:
    return f"{members()[distribution][0]}/Dockerfile"


def domain_services() -> list[str]:
    lines = []
    for spec in of_kind(ServiceKind.domain):
        pw = f"NATS_PW_{spec.name.upper()}"
        lines += [f"  {spec.name}:",
                  "    <<: *service",
                  f"    build: {{context: ., dockerfile: {dockerfile(spec.distribution)}}}",
                  f"    image: ledger/{spec.name}:${{LEDGER_IMAGE_TAG:-dev}}",
                  "    deploy: {replicas: 2}",
                  f'    environment: {{<<: *service-env, LEDGER_NATS_URL: "nats://{spec.name}:${{{pw}{REQUIRED}}}@nats:4222"}}',
                  f'    healthcheck: {{<<: *healthcheck-timing, test: ["CMD", "python", "/app/ops/probe.py", "request", '
                  f'"cmd.{spec.name}"]}}']
    return lines


PROJECTOR_WORKERS = 2  # replicas (``docker compose up --scale projector=W`` for another W)
PARTITIONS = 16  # LEDGER_PROJECTOR_PARTITIONS: fixed for the deployment's life (changing it rebuilds LEDGER_P)


def projector() -> list[str]:
    """W replicas of the projector, each a worker of the partitioned mode (ledger_projector.partitioned)."""
    pw = "${NATS_PW_PROJECTOR" + REQUIRED + "}"
    pg = "${PG_PW_PROJECTOR" + REQUIRED + "}"
    return ["  projector:",
            "    <<: *service",
            f"    build: {{context: ., dockerfile: {dockerfile('ledger-projector')}}}",
            "    image: ledger/projector:${LEDGER_IMAGE_TAG:-dev}",
            f"    deploy: {{replicas: {PROJECTOR_WORKERS}}}   # W workers: docker compose up --scale projector=W",
            "    depends_on:",
            "      <<: *service-deps",
            "      postgres: {condition: service_healthy}",
            "    environment:",
            "      <<: *service-env",
            f'      LEDGER_NATS_URL: "nats://projector:{pw}@nats:4222"',
            f'      LEDGER_DATABASE_URL: "postgresql://ledger_projector:{pg}@postgres:5432/ledger_projector"',
            f'      LEDGER_PROJECTOR_PARTITIONS: "${{LEDGER_PROJECTOR_PARTITIONS:-{PARTITIONS}}}"   # every replica the same P',
            '      LEDGER_CHECKPOINT_KEY: "${CHECKPOINT_KEY:?run infra/compose-env.sh}"   # signs checkpoints of LEDGER '
            '(Ed25519 seed)',
            '    healthcheck: {<<: *healthcheck-timing, test: ["CMD", "python", "/app/ops/probe.py", "request", '
            '"query.projector", "{\\"op\\": \\"status\\"}"]}']


def gateway_waits_for() -> list[str]:
    return [f"      {spec.name}: {{condition: service_healthy}}" for spec in discover()
            if spec.kind is not ServiceKind.gateway]


def env_users() -> list[str]:
    return [f"for user in {' '.join(u.upper() for u in nats_users())}; do"]


PARTS: dict[Path, dict[str, Callable[[], list[str]]]] = {
    COMPOSE: {"nats-passwords": nats_passwords, "domain-services": domain_services, "projector": projector,
              "gateway-waits-for": gateway_waits_for},
    COMPOSE_ENV: {"nats-users": env_users},
}


def render(path: Path, text: str) -> str:
    for part, lines in PARTS[path].items():
        pattern = re.compile(rf"(^[ \t]*# >>> {part}\b[^\n]*\n)(.*?)(^[ \t]*# <<< {part}\b)", re.M | re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path.relative_to(REPO)}: the part {part} has no '# >>> {part}' / '# <<< {part}' lines")
        body = "".join(line + "\n" for line in lines())
        text = pattern.sub(lambda m, body=body: m[1] + body + m[3], text, count=1)
    return text


def main(argv: list[str]) -> int:
    stale = []
    for path in PARTS:
        text = path.read_text()
        wanted = render(path, text)
        if wanted != text:
            stale.append(path.relative_to(REPO).as_posix())
            if "--check" not in argv:
                path.write_text(wanted)
    if stale and "--check" in argv:
        print(f"stale: {', '.join(stale)}: run .venv/bin/python infra/compose.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
