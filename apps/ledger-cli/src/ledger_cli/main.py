"""The ``ledger`` command line: operators and back offices.

Each group of commands lives in its own module; this one only assembles them.
"""

from __future__ import annotations

import typer

from ledger_cli import demo, importer, maintenance, one_fact, ops, stack, stream_credentials, tenants, views
from ledger_cli.settings import CliSettings

app = typer.Typer(
    name="ledger",
    help="The compliance ledger for call-centre (B24) licence holders. 呼叫中心业务合规台账。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _settings_first() -> None:
    """Every command starts with the environment checked: a bad ``LEDGER_*`` value is one line and exit 2."""
    CliSettings.at_start("ledger")


stack.register(app)
ops.register(app)
tenants.register(app)
importer.register(app)
one_fact.register(app)
views.register(app)
maintenance.register(app)
demo.register(app)
stream_credentials.register(app)


if __name__ == "__main__":
    app()
