"""The ledger's services, found through the ``ledger.services`` entry points of the installed packages.

Each service package declares itself once, in its ``pyproject.toml``::

    [project.entry-points."ledger.services"]
    licences = "ledger_licences:SERVICE"

where ``SERVICE`` is a :class:`ServiceSpec`. Everything that used to keep its own list of services —
``ledger up``, the bench, the Dockerfiles, compose, the NATS permissions — reads :func:`discover`, so
adding a service is one package plus one entry point. Loading a spec imports only the package's
``__init__`` (no broker, no database).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from ledger_kernel.subjects import check_token

GROUP = "ledger.services"


class ServiceKind(StrEnum):
    """What a service does in the flow; also the order services start in (appenders first, gateway last)."""

    domain = "domain"  # owns aggregate types, answers cmd.<name>, appends facts
    projector = "projector"  # reads LEDGER, keeps the read model, raises alerts
    notifier = "notifier"  # consumes ALERTS, delivers
    gateway = "gateway"  # the public HTTP API


START_ORDER = tuple(ServiceKind)


class ServiceSpecError(ValueError):
    """An entry point that does not describe a service correctly: the message names the package."""


@dataclass(frozen=True)
class ServiceSpec:
    """One service: its name on the bus, the module that runs it, its kind and what it owns.

    ``python -m <module>`` runs it alone; ``<module>.service.build()`` builds it for mounting with others.
    The name is its NATS user, its ``cmd.<name>`` subject (domain services), its compose service and
    its log file. ``distribution`` is filled in by :func:`discover` (the package that declared it).
    """

    name: str
    module: str
    kind: ServiceKind
    aggregates: tuple[str, ...] = ()
    serves_http: bool = False
    distribution: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        check_token("service name", self.name)
        if not self.module.isidentifier():
            raise ServiceSpecError(f"service {self.name}: module {self.module!r} is not an importable name")
        if self.kind is ServiceKind.domain and not self.aggregates:
            raise ServiceSpecError(f"domain service {self.name} owns no aggregate type")
        if self.kind is not ServiceKind.domain and self.aggregates:
            raise ServiceSpecError(f"service {self.name} ({self.kind}) cannot own aggregate types")
        for aggregate in self.aggregates:
            check_token(f"service {self.name}'s aggregate type", aggregate)

    def build(self) -> Any:
        """A fresh, unstarted service (``ledger_kernel.runtime.Service``)."""
        return importlib.import_module(f"{self.module}.service").build()


def order(specs: list[ServiceSpec]) -> tuple[ServiceSpec, ...]:
    """Deterministic: by kind in start order, then by name; two services may not share a name or an aggregate."""
    ordered = tuple(sorted(specs, key=lambda s: (START_ORDER.index(s.kind), s.name)))
    names = [s.name for s in ordered]
    if len(set(names)) != len(names):
        raise ServiceSpecError(f"two packages declare the same service name: {sorted(names)}")
    owners: dict[str, str] = {}
    for spec in ordered:
        for aggregate in spec.aggregates:
            if aggregate in owners:
                raise ServiceSpecError(f"aggregate type {aggregate} is owned by both {owners[aggregate]} and {spec.name}")
            owners[aggregate] = spec.name
    return ordered


@cache
def discover() -> tuple[ServiceSpec, ...]:
    """Every installed service, in :func:`order`; the entry point's name must be the spec's name."""
    specs = []
    for ep in entry_points(group=GROUP):
        spec = ep.load()
        package = ep.dist.name if ep.dist is not None else ep.value
        if not isinstance(spec, ServiceSpec):
            raise ServiceSpecError(f"{package}: entry point {ep.name} = {ep.value} is not a ServiceSpec")
        if spec.name != ep.name:
            raise ServiceSpecError(f"{package}: entry point {ep.name} describes a service named {spec.name}")
        specs.append(replace(spec, distribution=package))
    return order(specs)


def of_kind(kind: ServiceKind) -> tuple[ServiceSpec, ...]:
    return tuple(s for s in discover() if s.kind is kind)


def named(name: str) -> ServiceSpec:
    for spec in discover():
        if spec.name == name:
            return spec
    raise KeyError(f"no installed service named {name!r}; installed: {', '.join(s.name for s in discover())}")
