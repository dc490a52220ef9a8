"""``python -m ledger_licences``: the licences service in its own process (settings from the environment)."""

from ledger_domain.runner import run

from ledger_licences.service import NAME, build

if __name__ == "__main__":
    run(build, NAME)
