"""Which webhook URLs we will call: SSRF protection.

A subscriber chooses the URL, so without checks a tenant could make us call the cloud
metadata service or an internal admin page. Only http/https, no credentials in the URL,
and every address the host resolves to must be public. The check runs at creation and
again at each delivery (DNS rebinding), and the request goes to the address we checked.
``LEDGER_WEBHOOK_ALLOW_LOOPBACK=1`` admits loopback only — tests and local development.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
NAT64 = ipaddress.ip_network("64:ff9b::/96")
# Cloud metadata endpoints (AWS/GCP/Azure/OpenStack, Alibaba Cloud, AWS IPv6, ECS task metadata).
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "100.100.100.200", "fd00:ec2::254", "169.254.170.2", "169.254.169.123"))


class TargetRefused(ValueError):
    """A webhook target we will not call; ``code`` is stable, the messages are bilingual."""

    def __init__(self, code: str, reason_en: str, reason_zh: str) -> None:
        super().__init__(reason_en)
        self.code = code
        self.reason_en = reason_en
        self.reason_zh = reason_zh


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    scheme: str
    host: str  # as written (a name or an address literal)
    port: int
    path: str  # path and query, as written


def allowed_networks(value: object) -> tuple[IPNetwork, ...]:
    """``LEDGER_WEBHOOK_ALLOW_NETWORKS``: comma-separated CIDRs; ValueError names the one that is not."""
    if isinstance(value, tuple):
        return value
    out: list[IPNetwork] = []
    for part in str(value or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=True))
        except ValueError as exc:
            raise ValueError(f"LEDGER_WEBHOOK_ALLOW_NETWORKS: {part!r} is not a network in CIDR form ({exc})") from exc
    return tuple(out)


def has_control(url: str) -> bool:
    """A NUL, another C0 or C1 control character, DEL or a space: never part of a URL we call."""
    return any(ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F for c in url)


def parse_target(url: str) -> WebhookTarget:
    """The URL's parts; refuses other schemes, credentials, missing hosts and bad ports."""
    if not isinstance(url, str) or not url or len(url) > 2048 or has_control(url):
        raise TargetRefused("invalid_url", "the target must be an absolute http(s) URL without spaces or control "
                            "characters", "目标必须是不含空格或控制字符的完整 http(s) 网址")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("invalid_url", f"the target is not a valid URL ({exc})", "目标网址格式无效") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("scheme_not_allowed", "only http and https targets are allowed",
                            "只允许 http 或 https 地址")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise TargetRefused("credentials_in_url", "credentials in the URL are refused; authenticate by the signature",
                            "网址中不得包含用户名或密码，请通过签名验证来源")
    if not parts.hostname:
        raise TargetRefused("invalid_url", "the target has no host", "目标网址缺少主机名")
    if parts.fragment:
        raise TargetRefused("invalid_url", "the target must not carry a #fragment", "目标网址不得包含 # 片段")
    port = port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return WebhookTarget(url=url, scheme=parts.scheme, host=parts.hostname, port=port, path=path)


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, NAT64, Teredo server and client)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    out = [a for a in (address.ipv4_mapped, address.sixtofour) if a is not None]
    if address in NAT64:
        out.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.teredo is not None:
        out.extend(address.teredo)
    return out


def refusal_for(address: IPAddress, *, allow_loopback: bool,
                allow_networks: tuple[IPNetwork, ...] = ()) -> TargetRefused | None:
    """Why we will not connect to ``address`` (None: it is public, or in a network the operator allowed)."""
    for inner in embedded_ipv4(address):
        refusal = _refusal_of_one(inner, allow_loopback=allow_loopback, allow_networks=allow_networks)
        if refusal is not None:
            return TargetRefused(refusal.code, f"{address} wraps {inner}: {refusal.reason_en}",
                                 f"{address} 内含 {inner}：{refusal.reason_zh}")
    if isinstance(address, ipaddress.IPv6Address) and (address.ipv4_mapped is not None or address in NAT64):
        return None  # only a translation of the IPv4 address: judged as that
    return _refusal_of_one(address, allow_loopback=allow_loopback, allow_networks=allow_networks)


def _refusal_of_one(address: IPAddress, *, allow_loopback: bool,
                    allow_networks: tuple[IPNetwork, ...]) -> TargetRefused | None:
    if address.is_loopback:
        if allow_loopback:
            return None
        return TargetRefused("target_loopback", f"{address} is a loopback address", f"{address} 是本机回环地址")
    if address in METADATA:
        return TargetRefused("target_metadata", f"{address} is a cloud metadata address", f"{address} 是云元数据地址")
    for test, code, en, zh in (  # refused whatever the operator allowed
        (address.is_unspecified, "target_reserved", "unspecified", "未指定地址"),
        (address.is_multicast, "target_multicast", "a multicast", "组播地址"),
        (address.is_link_local, "target_link_local", "a link-local", "链路本地地址"),
    ):
        if test:
            return TargetRefused(code, f"{address} is {en} address", f"{address} 是{zh}")
    if any(address in network for network in allow_networks):
        return None
    for test, code, en, zh in (
        (address.is_private, "target_private", "a private", "私有网络地址"),
        (address.is_reserved, "target_reserved", "a reserved", "保留地址"),
        (not address.is_global, "target_reserved", "a non-public", "非公网地址"),
    ):
        if test:
            return TargetRefused(code, f"{address} is {en} address", f"{address} 是{zh}")
    return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an address literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=10)
    except (OSError, TimeoutError) as exc:
        raise TargetRefused("target_unresolvable", f"the host {host!r} does not resolve ({exc})",
                            f"无法解析主机名 {host}") from exc
    out: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])  # the host of an IP sockaddr
        if address not in out:
            out.append(address)
    if not out:
        raise TargetRefused("target_unresolvable", f"the host {host!r} has no address", f"主机名 {host} 没有地址")
    return out


async def checked_addresses(target: WebhookTarget, *, allow_loopback: bool,
                            allow_networks: tuple[IPNetwork, ...] = ()) -> list[IPAddress]:
    """The target's addresses if every one of them is allowed; TargetRefused otherwise."""
    addresses = await resolve(target.host, target.port)
    for address in addresses:
        refusal = refusal_for(address, allow_loopback=allow_loopback, allow_networks=allow_networks)
        if refusal is not None:
            raise refusal
    return addresses
