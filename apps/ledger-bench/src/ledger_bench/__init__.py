"""The bench (``python -m ledger_bench``, ``make bench``): a development tool, never part of the product.

It installs with the dev dependency group only; the services it measures are the installed ones
(``ledger_kernel.services``), each started in a child process (``ledger_bench.child``).
"""
