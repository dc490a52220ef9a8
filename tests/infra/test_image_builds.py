"""Each Dockerfile's build steps, replayed without Docker: its COPY lines into a fresh context, its uv syncs.

What an image would contain is exactly what its COPY lines bring in (less what .dockerignore
keeps out); ``uv sync --frozen --no-dev --package …`` must then install the service so that
``python -m ledger_<name>`` can start. uv runs offline, from the cache ``make setup`` filled.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from local_cluster import REPO
from test_compose_config import IMAGES, dockerignore_excludes, workspace_closure

pytestmark = pytest.mark.slow

UV = REPO / ".tools" / "bin" / "uv"


def context_copy(source: Path, target: Path) -> None:
    """Copy what the build context would hold of ``source`` (a file or a directory)."""
    if source.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return
    for path in source.rglob("*"):
        rel = path.relative_to(REPO).as_posix()
        if path.is_file() and not dockerignore_excludes(rel):
            dest = target / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)


@pytest.mark.skipif(not UV.exists(), reason="uv is not installed under .tools (run make setup)")
@pytest.mark.parametrize(("path", "package", "command"), IMAGES, ids=[i[1] for i in IMAGES])
def test_dockerfile_steps_install_the_service_from_its_own_package(tmp_path, path, package, command):
    src, venv = tmp_path / "src", tmp_path / "venv"
    src.mkdir()
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON_DOWNLOADS": "never",
           "UV_PYTHON": sys._base_executable, "UV_OFFLINE": "1"}
    env.pop("VIRTUAL_ENV", None)
    steps = 0
    for line in (REPO / path).read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line and "infra/container" not in line:
            args = line.split()[1:]
            sources, dest = args[:-1], args[-1]
            for source in sources:
                target = src / dest / Path(source).name if dest.endswith("/") else src / dest
                context_copy(REPO / source, target)
        sync = re.search(r"uv sync (.+)$", line)
        if sync:
            result = subprocess.run([str(UV), "sync", *sync[1].split()], cwd=src, env=env,
                                    capture_output=True, text=True, timeout=240)
            assert result.returncode == 0, f"{line.strip()}\n{result.stderr[-3000:]}"
            steps += 1
    assert steps == 2
    python = venv / "bin" / "python"
    if package == "ledger-cli":
        check = subprocess.run([str(venv / "bin" / "ledger"), "--help"], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0 and "ledger" in check.stdout, check.stderr[-2000:]
    else:
        module = package.replace("-", "_")
        check = subprocess.run(
            [str(python), "-c", f"import importlib.util, {module}; "
                                f"assert importlib.util.find_spec('{module}.__main__'), 'no __main__'; "
                                f"print({module}.__file__)"],
            capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stderr[-2000:]
        assert check.stdout.startswith(str(venv)), "imported from the source tree, not from the image's venv"
    # exactly the workspace members the package needs were installed, none of the others
    installed = {p.name.split("-")[0] for p in (venv / "lib").glob("python3*/site-packages/ledger_*.dist-info")}
    wanted = {tomllib.loads((REPO / d / "pyproject.toml").read_text())["project"]["name"].replace("-", "_")
              for d in workspace_closure(package)}
    assert installed == wanted
