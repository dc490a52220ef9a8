"""``python -m ledger_penalties``: the penalties service in its own process (settings from the environment)."""

from ledger_domain.runner import run

from ledger_penalties.service import NAME, build

if __name__ == "__main__":
    run(build, NAME)
