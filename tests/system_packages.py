"""Debian tools a test looks through, as a person would (pdftoppm to see a PDF page, later a browser).

``debian_tool`` finds the command, or installs its package with apt-get (a CI machine starts without
it); when that is impossible (not root, no apt, no network) the test is skipped and the reason printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache

import pytest

APT_TIMEOUT = 900  # seconds: a first `apt-get update` on a loaded host is slow


@cache
def _install(packages: tuple[str, ...]) -> str | None:
    """apt-get install the packages (updating the lists once if the first try fails); None, or why not."""
    if shutil.which("apt-get") is None:
        return "apt-get is not available on this machine"
    if os.geteuid() != 0:
        return "not root, so apt-get cannot install"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    try:
        if subprocess.run(install, capture_output=True, env=env, timeout=APT_TIMEOUT).returncode == 0:
            return None
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env, timeout=APT_TIMEOUT)
        done = subprocess.run(install, capture_output=True, text=True, env=env, timeout=APT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"apt-get did not finish within {APT_TIMEOUT} s"
    if done.returncode != 0:
        return f"apt-get install {' '.join(packages)} failed: {(done.stderr or done.stdout).strip()[-300:]}"
    return None


def debian_tool(command: str, package: str, *also: str) -> str:
    """The path of ``command`` (installing ``package`` and ``also`` when it is missing), else skip saying why."""
    found = shutil.which(command)
    if found is None:
        why = _install((package, *also))
        found = shutil.which(command)
        if found is None:
            reason = f"{command} is not installed and could not be ({package}): {why or 'not on PATH after install'}"
            print(f"\nSKIP: {reason}")
            pytest.skip(reason)
    return found


def debian_packages(*packages: str) -> None:
    """Make sure the packages are installed (e.g. a font), else skip saying why."""
    missing = [p for p in packages if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode != 0] \
        if shutil.which("dpkg") else list(packages)
    if missing:
        why = _install(tuple(missing))
        if why is not None:
            print(f"\nSKIP: {why}")
            pytest.skip(why)
