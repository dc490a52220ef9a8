"""SSRF protection for webhook targets: every resolved address must be public; loopback only
with LEDGER_WEBHOOK_ALLOW_LOOPBACK=1, and nothing else even then."""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import UTC, datetime

import httpx
import pytest
from ledger_kernel.settings import SettingsError
from ledger_notifier import webhook
from ledger_notifier.config import NotifierConfig
from ledger_notifier.targets import (
    TargetRefused,
    allowed_networks,
    parse_target,
    refusal_for,
)

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
    ("https://example.com/h\x00.evil", "invalid_url"), ("https://example.com\x00@10.0.0.1/", "invalid_url"),
    ("https://example.com/\x7f", "invalid_url"), ("https://example.com/\x85", "invalid_url"),
    ("https://example.com/\x1b[0m", "invalid_url"),
])
def test_malformed_or_unsafe_urls(url, code):
    with pytest.raises(TargetRefused) as refused:
        parse_target(url)
    assert refused.value.code == code


def test_the_flag_is_off_by_default():
    assert NotifierConfig.from_env({}).allow_loopback is False
    assert NotifierConfig.from_env({"LEDGER_WEBHOOK_ALLOW_LOOPBACK": "0"}).allow_loopback is False
    assert NotifierConfig.from_env({"LEDGER_WEBHOOK_ALLOW_LOOPBACK": "1"}).allow_loopback is True
    with pytest.raises(SettingsError, match="LEDGER_WEBHOOK_ALLOW_LOOPBACK must be 0 or 1"):  # not a silent "off"
        NotifierConfig.from_env({"LEDGER_WEBHOOK_ALLOW_LOOPBACK": "true"})
    with pytest.raises(SettingsError, match="production"):  # test-only: never in production
        NotifierConfig.from_env({"LEDGER_WEBHOOK_ALLOW_LOOPBACK": "1", "LEDGER_ENV": "production"})


@pytest.mark.parametrize(("url", "code"), [
    ("http://127.0.0.1:8080/hook", "target_loopback"),
    ("http://10.0.0.1/hook", "target_private"),
    ("http://169.254.169.254/latest/meta-data/", "target_metadata"),
    ("http://[::1]:8080/hook", "target_loopback"),
    ("http://localhost:8080/hook", "target_loopback"),  # a name that resolves to loopback
    ("https://[::ffff:10.1.2.3]/hook", "target_private"),
    ("http://[2002:7f00:1::]:8080/hook", "target_loopback"),  # 6to4 wrapping 127.0.0.1
    ("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "target_metadata"),  # NAT64
    ("http://[::ffff:7f00:1]/hook", "target_loopback"),
    ("http://example.com/h\x00ook", "invalid_url"),
    ("http://127.0.0.1/\x00", "invalid_url"),
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


# IPv6 addresses that carry a refused IPv4 one: 6to4, IPv4-mapped, NAT64, Teredo (client 127.0.0.1).
WRAPPED = [("2002:7f00:1::", "target_loopback"), ("2002:a9fe:a9fe::1", "target_metadata"),
           ("::ffff:169.254.169.254", "target_metadata"), ("64:ff9b::7f00:1", "target_loopback"),
           ("64:ff9b::a00:1", "target_private"), ("2001:0:4136:e378:8000:63bf:80ff:fffe", "target_loopback")]


@pytest.mark.parametrize(("address", "code"), WRAPPED)
def test_an_ipv6_address_wrapping_a_refused_ipv4_is_refused(address, code):
    refusal = refusal_for(ipaddress.ip_address(address), allow_loopback=False)
    assert refusal is not None and refusal.code == code and str(ipaddress.ip_address(address)) in refusal.reason_en


@pytest.mark.parametrize("address", ["2002:808:808::1", "64:ff9b::808:808"])
def test_an_ipv6_address_wrapping_a_public_ipv4_passes(address):
    assert refusal_for(ipaddress.ip_address(address), allow_loopback=False) is None


INTRANET = allowed_networks("10.20.0.0/16, 192.168.7.0/24,127.0.0.0/8,169.254.0.0/16,fd00::/8")


@pytest.mark.parametrize("address", ["10.20.3.4", "192.168.7.200", "::ffff:10.20.0.9", "fd12::1"])
def test_allowed_networks_admit_their_private_addresses(address):
    assert refusal_for(ipaddress.ip_address(address), allow_loopback=False) is not None
    assert refusal_for(ipaddress.ip_address(address), allow_loopback=False, allow_networks=INTRANET) is None


@pytest.mark.parametrize(("address", "code"), [
    ("10.21.0.1", "target_private"), ("127.0.0.1", "target_loopback"), ("2002:7f00:1::", "target_loopback"),
    ("169.254.169.254", "target_metadata"), ("169.254.3.3", "target_link_local"), ("fd00:ec2::254", "target_metadata"),
])
def test_allowed_networks_never_admit_loopback_link_local_or_metadata(address, code):
    refusal = refusal_for(ipaddress.ip_address(address), allow_loopback=False, allow_networks=INTRANET)
    assert refusal is not None and refusal.code == code


def test_the_allowed_networks_setting_is_parsed_and_empty_by_default():
    assert NotifierConfig.from_env({}).allow_networks == ()
    config = NotifierConfig.from_env({"LEDGER_WEBHOOK_ALLOW_NETWORKS": "10.20.0.0/16, fd00::/8"})
    assert config.allow_networks == (ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("fd00::/8"))
    with pytest.raises(SettingsError, match="10.20.0.1/16"):  # host bits set: a typo, not a network
        NotifierConfig.from_env({"LEDGER_WEBHOOK_ALLOW_NETWORKS": "10.20.0.0/16,10.20.0.1/16"})
    with pytest.raises(ValueError, match="intranet"):
        allowed_networks("intranet")


async def test_a_listed_private_network_is_admitted_but_loopback_and_metadata_are_not(notifier, tenant):
    notifier.ops.config = dataclasses.replace(notifier.ops.config, allow_loopback=False, allow_networks=INTRANET)
    ok = await notifier.client.create_subscription(tenant, {"channel": "webhook", "target": "https://10.20.3.4/h"})
    assert ok["status"] == 201, ok
    for url, code in (("https://10.30.0.1/h", "target_private"), ("http://127.0.0.1:9/h", "target_loopback"),
                      ("http://169.254.169.254/", "target_metadata"), ("http://[fd00:ec2::254]/", "target_metadata")):
        refused = await notifier.client.create_subscription(tenant, {"channel": "webhook", "target": url})
        assert refused["status"] == 422 and refused["errors"][0]["code"] == code, (url, refused)
    listed = (await notifier.client.list_subscriptions(tenant))["result"]["items"]
    assert [s["target"] for s in listed] == ["https://10.20.3.4/h"]


async def test_delivery_checks_again_and_refuses_a_wrapped_loopback_without_calling_it():
    """The check at delivery (DNS may have changed since creation) refuses before any connection."""
    async with httpx.AsyncClient() as client:
        outcome = await webhook.post(client, "http://[2002:7f00:1::]:9/h", webhook.new_secret(), "a1", {},
                                     now=datetime(2026, 11, 23, tzinfo=UTC), wall_now=datetime.now(UTC),
                                     allow_loopback=False, allow_networks=INTRANET, request_timeout=1.0)
    assert not outcome.succeeded and not outcome.retry and outcome.error.startswith("target_loopback")
