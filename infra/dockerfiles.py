"""Write each service's Dockerfile and infra/ops/Dockerfile from the workspace's pyprojects.

One image per installed service (``ledger_kernel.services.discover``: the ``ledger.services`` entry
points), written next to its package's pyproject.

Each image is built from its own package and just the workspace members it depends on
(transitively), so a new workspace dependency means new COPY lines: run

    .venv/bin/python infra/dockerfiles.py

tests/infra/test_compose_config.py fails, naming the member, when a Dockerfile is behind.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from ledger_kernel.services import discover

REPO = Path(__file__).resolve().parents[1]
UV_VERSION = "0.13.8"  # the Makefile's

BUILD = """\
FROM ${{PYTHON_IMAGE}} AS build
RUN pip install --no-cache-dir --disable-pip-version-check uv=={uv}
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Third-party dependencies first: this layer survives edits to our own code.
COPY pyproject.toml uv.lock ./
{pyprojects}
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --frozen --no-dev --no-install-workspace --package {package}
# Then the members themselves, as wheels (no editable links back into /src).
{sources}
RUN --mount=type=cache,target=/root/.cache/uv \\
    uv sync --frozen --no-dev --no-editable --package {package}

FROM ${{PYTHON_IMAGE}}
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin ledger \\
    && mkdir -p /var/lib/ledger && chown ledger /var/lib/ledger
COPY --from=build /app/.venv /app/.venv
# readiness probe and stream provisioning (docker-compose.yml runs them)
COPY infra/container/ /app/ops/
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 LEDGER_HOME=/var/lib/ledger LEDGER_ENV=production
USER ledger
WORKDIR /app
"""


def members() -> dict[str, tuple[str, list[str]]]:
    """package name -> (directory, workspace packages it depends on)."""
    out = {}
    for pyproject in sorted(REPO.glob("*/pyproject.toml")) + sorted(REPO.glob("*/*/pyproject.toml")):
        data = tomllib.loads(pyproject.read_text())
        if "project" not in data or pyproject.parent == REPO:
            continue
        sources = data.get("tool", {}).get("uv", {}).get("sources", {})
        deps = [re.split(r"[\[<>=~! ;]", d, maxsplit=1)[0] for d in data["project"].get("dependencies", [])]
        out[data["project"]["name"]] = (pyproject.parent.relative_to(REPO).as_posix(),
                                        [d for d in deps if sources.get(d, {}).get("workspace")])
    return out


def closure(package: str) -> list[str]:
    """Directories of ``package`` and every workspace member it needs, the package itself last."""
    known = members()
    todo, seen = [package], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(known[name][1])
    own = known[package][0]
    return sorted(known[n][0] for n in seen if known[n][0] != own) + [own]


def dockerfile(package: str, header: str, tail: str) -> str:
    dirs = closure(package)
    return ("# syntax=docker/dockerfile:1\n" + header + "ARG PYTHON_IMAGE=python:3.11-slim-bookworm\n\n"
            + BUILD.format(uv=UV_VERSION, package=package,
                           pyprojects="\n".join(f"COPY {d}/pyproject.toml {d}/" for d in dirs),
                           sources="\n".join(f"COPY {d} {d}" for d in dirs))
            + tail)


def main() -> int:
    for spec in discover():
        package = spec.distribution
        needs = ", ".join(closure(package)[:-1])
        header = (f"# {package}: built from the workspace root (context: .) but from this package only, with just\n"
                  f"# the workspace members it depends on ({needs}), installed from uv.lock as wheels.\n"
                  f"# Written by infra/dockerfiles.py: edit that, not this.\n")
        expose = "EXPOSE 8000\n" if spec.serves_http else ""  # LEDGER_HTTP_PORT's default
        (REPO / members()[package][0] / "Dockerfile").write_text(
            dockerfile(package, header, f'{expose}CMD ["python", "-m", "{spec.module}"]\n'))
    header = ("# The operator's image: the `ledger` command line (ledger-cli) and the admin libraries it uses, for\n"
              "# `docker compose run --rm ops ledger ...` (verify, rebuild, tenants and keys, calendar load).\n"
              "# Written by infra/dockerfiles.py: edit that, not this.\n")
    (REPO / "infra" / "ops" / "Dockerfile").write_text(dockerfile("ledger-cli", header, 'CMD ["ledger", "--help"]\n'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
