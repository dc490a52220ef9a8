"""The services are the installed packages' ``ledger.services`` entry points, read by one module.

Adding a service is one package plus one entry point: a throw-away distribution written to a
temporary folder is found, ordered, and given a bus user and compose credentials of its own.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ledger_contracts.catalogue import CATALOGUE
from ledger_contracts.enums import Service
from ledger_kernel.services import ServiceKind, ServiceSpec, ServiceSpecError, discover, named, of_kind, order

PRODUCT = ["licences", "numbers", "penalties", "personnel", "premises", "projector", "notifier", "gateway"]


def test_the_installed_services_in_start_order_with_their_packages():
    """The product's eight are there, in kind order (domain, projector, notifier, gateway) and by name within it."""
    specs = discover()
    names = [s.name for s in specs]
    assert [n for n in names if n in PRODUCT] == PRODUCT
    assert names == [s.name for s in sorted(specs, key=lambda s: (list(ServiceKind).index(s.kind), s.name))]
    assert [named(n).kind for n in PRODUCT] == [ServiceKind.domain] * 5 + [ServiceKind.projector, ServiceKind.notifier,
                                                                          ServiceKind.gateway]
    assert all(named(n).distribution == f"ledger-{n}" and named(n).module == f"ledger_{n}" for n in PRODUCT)
    assert named("penalties").aggregates == ("penalty", "listing")
    assert [s.name for s in of_kind(ServiceKind.gateway)] == ["gateway"] and named("gateway").serves_http
    with pytest.raises(KeyError, match="no installed service named 'nobody'"):
        named("nobody")


def test_each_service_runs_alone_and_builds_for_mounting():
    for spec in discover():
        assert importlib.util.find_spec(f"{spec.module}.__main__") is not None, spec.name
        assert importlib.util.find_spec(f"{spec.module}.service") is not None, spec.name
    assert named("licences").build().name == "licences"


def test_every_fact_type_is_owned_by_an_installed_domain_service_of_its_aggregate_type():
    """The published ``Service`` enum and the catalogue agree with the specs: a fact's owner is installed and
    declares the fact's aggregate type (a domain service may exist before any fact type names it)."""
    assert {s.value for s in Service} == {spec.owner.value for spec in CATALOGUE.values()}
    for fact in CATALOGUE.values():
        owner = named(fact.owner.value)
        assert owner.kind is ServiceKind.domain and fact.aggregate_type in owner.aggregates, fact.type


@given(st.permutations(list(discover())))
def test_the_order_does_not_depend_on_the_order_entry_points_are_read(specs):
    assert order(specs) == discover()


def test_two_services_of_one_name_or_one_aggregate_type_are_refused():
    licences = named("licences")
    with pytest.raises(ServiceSpecError, match="same service name"):
        order([licences, ServiceSpec("licences", "ledger_other", ServiceKind.domain, ("sidecar",))])
    with pytest.raises(ServiceSpecError, match="aggregate type licence is owned by both licences and rival"):
        order([licences, ServiceSpec("rival", "ledger_rival", ServiceKind.domain, ("licence",))])


@pytest.mark.parametrize(("fields", "message"), [
    ({"name": "tally", "module": "ledger_tally", "kind": ServiceKind.domain}, "owns no aggregate type"),
    ({"name": "tally", "module": "ledger_tally", "kind": ServiceKind.notifier, "aggregates": ("tally",)},
     "cannot own aggregate types"),
    ({"name": "tal.ly", "module": "ledger_tally", "kind": ServiceKind.domain, "aggregates": ("tally",)},
     "not a subject token"),
    ({"name": "tally", "module": "ledger-tally", "kind": ServiceKind.domain, "aggregates": ("tally",)},
     "not an importable name"),
    ({"name": "tally", "module": "ledger_tally", "kind": ServiceKind.domain, "aggregates": ("tal>ly",)},
     "not a subject token"),
])
def test_a_spec_that_cannot_describe_a_service_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        ServiceSpec(**fields)


def _throwaway_distribution(root: Path, entry_name: str = "tally") -> Path:
    """``ledger-tally``: one package and one entry point, installed by being on the path."""
    package = root / "ledger_tally"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent("""\
        from ledger_kernel.services import ServiceKind, ServiceSpec

        SERVICE = ServiceSpec(name="tally", module="ledger_tally", kind=ServiceKind.domain, aggregates=("tally",))
        """))
    info = root / "ledger_tally-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ledger-tally\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[ledger.services]\n{entry_name} = ledger_tally:SERVICE\n")
    return root


PROBE = """\
import json
from ledger_kernel import bus_access
from ledger_kernel.services import discover
tally = bus_access.user("tally")
print(json.dumps({"services": [[s.name, s.distribution] for s in discover()], "publish": tally.publish,
                  "deny": tally.deny_publish, "compose": "{user: tally, password: $NATS_PW_TALLY" in
                  bus_access.compose_accounts(), "stack": "ledger.*.*.tally.*" in bus_access.user("stack").publish}))
"""


def _probe(path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)


def test_a_new_service_is_one_package_plus_one_entry_point(tmp_path):
    out = _probe(_throwaway_distribution(tmp_path))
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    names = [name for name, _ in seen["services"]]
    assert names.index("tally") < names.index("projector")  # a domain service: started before the projector
    assert ["tally", "ledger-tally"] in seen["services"]
    assert "ledger.*.*.tally.*" in seen["publish"] and "cmd.tally" in seen["publish"]
    assert not any(s.startswith("ledger.*.*.licence") for s in seen["publish"])
    assert seen["deny"] == ["ledger._system.>"]
    assert seen["compose"] and seen["stack"]


def test_an_entry_point_named_unlike_its_service_is_refused_naming_the_package(tmp_path):
    out = _probe(_throwaway_distribution(tmp_path, entry_name="counter"))
    assert out.returncode != 0
    assert "ledger-tally: entry point counter describes a service named tally" in out.stderr
