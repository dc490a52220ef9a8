"""LEDGER_HTTP_HOST: the gateway listens on this machine only unless told otherwise."""

from __future__ import annotations

import pytest
from ledger_kernel.settings import Settings, SettingsError


def test_the_gateway_host_defaults_to_loopback():
    assert Settings.from_env({}).http_host == "127.0.0.1"
    assert Settings.from_env({"LEDGER_HTTP_HOST": ""}).http_host == "127.0.0.1"


def test_the_gateway_host_comes_from_the_environment():
    assert Settings.from_env({"LEDGER_HTTP_HOST": "0.0.0.0"}).http_host == "0.0.0.0"
    assert Settings.from_env({"LEDGER_HTTP_HOST": " ::1 "}).http_host == "::1"


@pytest.mark.parametrize("bad", ["http://0.0.0.0", "a b", "user@host"])
def test_a_host_that_is_not_an_address_is_refused(bad):
    with pytest.raises(SettingsError, match="LEDGER_HTTP_HOST"):
        Settings.from_env({"LEDGER_HTTP_HOST": bad})
