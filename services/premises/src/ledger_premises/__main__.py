"""``python -m ledger_premises``: the premises service in its own process (settings from the environment)."""

from ledger_domain.runner import run

from ledger_premises.service import NAME, build

if __name__ == "__main__":
    run(build, NAME)
