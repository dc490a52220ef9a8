"""SSRF protection for webhook targets: every resolved address must be public; loopback only
with LEDGER_WEBHOOK_ALLOW_LOOPBACK=1, and nothing else even then."""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest
from ledger_notifier.config import NotifierConfig
from ledger_notifier.targets import TargetRefused, loopback_allowed, parse_target, refusal_for

REFUSED = [
    ("127.0.0.1", "target_loopback"), ("::1", "target_loopback"), ("::ffff:127.0.0.1", "target_loopback"),
    ("10.0.0.1", "target_private"), ("172.16.5.4", "target_private"), ("192.168.1.1", "target_private"),
    ("169.254.169.254", "target_metadata"), ("100.100.100.200", "target_metadata"),
    ("fd00:ec2::254", "target_metadata"), ("169.254.1.1", "target_link_local"), ("fe80::1", "target_link_local"),
    ("224.0.0.1", "target_multicast"), ("ff02::1", "target_multicast"), ("0.0.0.0", "target_reserved"),
    ("240.0.0.1", "target_private"), ("100.64.0.1", "target_reserved"), ("fc00::1", "target_private"),
]


@pytest.mark.parametrize(("address", "code"), REFUSED)
def test_non_public_addresses_are_refused(address, code):
    refusal = refusal_for(ipaddress.ip_address(address), allow_loopback=False)
    assert refusal is not None and refusal.code == code and refusal.reason_zh


@pytest.mark.parametrize("address", [a for a, code in REFUSED if code != "target_loopback"])
def test_the_loopback_flag_admits_loopback_only(address):
    assert refusal_for(ipaddress.ip_address(address), allow_loopback=True) is not None


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1"])
def test_loopback_with_the_flag(address):
    assert refusal_for(ipaddress.ip_address(address), allow_loopback=True) is None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.2.4.8", "2001:4860:4860::8888"])
def test_public_addresses_pass(address):
    assert refusal_for(ipaddress.ip_address(address), allow_loopback=False) is None


@pytest.mark.parametrize(("url", "code"), [
    ("ftp://example.com/h", "scheme_not_allowed"), ("file:///etc/passwd", "scheme_not_allowed"),
    ("gopher://example.com", "scheme_not_allowed"), ("https://user:secret@example.com/h", "credentials_in_url"),
    ("https://user@example.com/h", "credentials_in_url"), ("https:///nohost", "invalid_url"),
    ("example.com/h", "scheme_not_allowed"), ("https://example.com:99999/", "invalid_url"),
    ("https://example.com/a b", "invalid_url"), ("https://example.com/h#frag", "invalid_url"),
])
def test_malformed_or_unsafe_urls(url, code):
    with pytest.raises(TargetRefused) as refused:
        parse_target(url)
    assert refused.value.code == code


def test_the_flag_is_off_by_default():
    assert loopback_allowed({}) is False and loopback_allowed({"LEDGER_WEBHOOK_ALLOW_LOOPBACK": "true"}) is False
    assert loopback_allowed({"LEDGER_WEBHOOK_ALLOW_LOOPBACK": "1"}) is True
    assert NotifierConfig.from_env({}).allow_loopback is False


@pytest.mark.parametrize(("url", "code"), [
    ("http://127.0.0.1:8080/hook", "target_loopback"),
    ("http://10.0.0.1/hook", "target_private"),
    ("http://169.254.169.254/latest/meta-data/", "target_metadata"),
    ("http://[::1]:8080/hook", "target_loopback"),
    ("http://localhost:8080/hook", "target_loopback"),  # a name that resolves to loopback
    ("https://[::ffff:10.1.2.3]/hook", "target_private"),
])
async def test_subscribing_to_a_forbidden_target_is_refused(notifier, tenant, url, code):
    notifier.ops.config = dataclasses.replace(notifier.ops.config, allow_loopback=False)
    reply = await notifier.client.create_subscription(tenant, {"channel": "webhook", "target": url})
    assert reply["status"] == 422 and reply["errors"][0]["code"] == code, reply
    assert (await notifier.client.list_subscriptions(tenant))["result"]["items"] == []


async def test_with_the_flag_loopback_is_admitted_but_private_is_not(notifier, tenant):
    assert notifier.ops.config.allow_loopback
    ok = await notifier.client.create_subscription(tenant, {"channel": "webhook", "target": "http://localhost:9/h"})
    assert ok["status"] == 201
    refused = await notifier.client.create_subscription(tenant, {"channel": "webhook", "target": "http://10.0.0.1/"})
    assert refused["status"] == 422 and refused["errors"][0]["code"] == "target_private"


async def test_an_unresolvable_host_is_refused(notifier, tenant):
    reply = await notifier.client.create_subscription(
        tenant, {"channel": "webhook", "target": "https://no-such-host.invalid/hook"})
    assert reply["status"] == 422 and reply["errors"][0]["code"] == "target_unresolvable"
