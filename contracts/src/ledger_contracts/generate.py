"""Write the generated contract files, or check that they are up to date.

    python -m ledger_contracts.generate           # write
    python -m ledger_contracts.generate --check   # exit 1 and list stale files

The generator is a list of writers; each renders some files from the code.
Files are written with stable formatting so that regenerating without a code
change yields no diff, and ``--check`` in the tests catches a forgotten run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .catalogue import CATALOGUE
from .events_page import render_events_page
from .schemas import dumps, payload_schema


@dataclass(frozen=True, slots=True)
class Writer:
    """Renders files (path relative to the repository root → text).

    ``owns`` is a glob (relative to the root) of files this writer alone
    produces: files matching it that the writer no longer renders are stale
    and are deleted when writing.
    """

    name: str
    render: Callable[[], dict[str, str]]
    owns: str | None = None


def _schemas() -> dict[str, str]:
    return {
        f"contracts/schemas/{spec.schema_file}": dumps(payload_schema(spec)) for spec in CATALOGUE.values()
    }


def _events_page() -> dict[str, str]:
    return {"docs/events.md": render_events_page()}


WRITERS: list[Writer] = [
    Writer("json-schemas", _schemas, owns="contracts/schemas/*.json"),
    Writer("events-page", _events_page),
    # --- AsyncAPI hook ----------------------------------------------------------------
    # The AsyncAPI document is generated from the services (FastStream), which
    # contracts must not import. A service package appends its writer here, e.g.
    #     register_writer(Writer("asyncapi", render_asyncapi, owns="contracts/asyncapi/*.yaml"))
    # and the same `generate` / `generate --check` then covers it.
]


def register_writer(writer: Writer) -> None:
    """Add a writer (e.g. the AsyncAPI document) to the generator."""
    if any(existing.name == writer.name for existing in WRITERS):
        raise ValueError(f"a writer named {writer.name!r} is already registered")
    WRITERS.append(writer)


def default_root() -> Path:
    """The repository root this package's source lives in."""
    return Path(__file__).resolve().parents[3]


def plan(root: Path) -> tuple[dict[Path, str], list[Path]]:
    """Files to write (path → text) and files to delete, under ``root``."""
    wanted: dict[Path, str] = {}
    orphans: list[Path] = []
    for writer in WRITERS:
        rendered = {root / path: text for path, text in writer.render().items()}
        wanted.update(rendered)
        if writer.owns:
            orphans += [path for path in sorted(root.glob(writer.owns)) if path not in rendered]
    return wanted, orphans


def stale_files(root: Path) -> list[Path]:
    """Generated files that are missing, differ from the code, or should not exist."""
    wanted, orphans = plan(root)
    differing = [
        path
        for path, text in wanted.items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    return sorted(differing + orphans)


def write(root: Path) -> list[Path]:
    """Write every generated file that changed; delete orphans. Returns the paths touched."""
    wanted, orphans = plan(root)
    touched = []
    for path, text in wanted.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            touched.append(path)
    for path in orphans:
        path.unlink()
        touched.append(path)
    return touched


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ledger_contracts.generate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="list stale files and exit 1 instead of writing")
    parser.add_argument(
        "--root", type=Path, default=None, help="repository root (default: where this source lives)"
    )
    args = parser.parse_args(argv)
    root = (args.root or default_root()).resolve()
    if not (root / "contracts").is_dir():
        parser.error(f"{root} does not look like the repository root (no contracts/ directory); use --root")
    if args.check:
        stale = stale_files(root)
        for path in stale:
            print(f"stale: {path.relative_to(root)}", file=sys.stderr)
        if stale:
            print("run: python -m ledger_contracts.generate", file=sys.stderr)
            return 1
        print("generated files are up to date")
        return 0
    for path in write(root):
        print(f"wrote: {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
