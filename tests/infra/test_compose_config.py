"""docker-compose.yml, the Dockerfiles and the server configurations, checked without Docker.

Everything the compose file points at must exist (build contexts, Dockerfiles, what they
copy, mounted configuration, depends_on targets); the NATS configurations must pass the
wheel's ``nats-server -t``; the collector's pipelines must use components it defines.
"""

from __future__ import annotations

import base64
import fnmatch
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from ledger_kernel.embedded import nats_server_binary
from ledger_kernel.services import ServiceKind, discover
from local_cluster import NATS_DIR, REPO, USERS, fresh_passwords, password_env

# the installed services (their ledger.services entry points): compose must run each of them
SERVICES = tuple(spec.name for spec in discover())
DOMAIN = tuple(spec.name for spec in discover() if spec.kind is ServiceKind.domain)
BEHIND_GATEWAY = tuple(spec.name for spec in discover() if spec.kind is not ServiceKind.gateway)
NEED_SQL = {"projector", "notifier", "gateway"}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def dockerfile_of(service: str) -> str:
    """Where infra/dockerfiles.py writes a service's Dockerfile: beside its package's pyproject."""
    spec = next(s for s in discover() if s.name == service)
    for pyproject in REPO.glob("*/*/pyproject.toml"):
        if tomllib.loads(pyproject.read_text())["project"]["name"] == spec.distribution:
            return f"{pyproject.parent.relative_to(REPO).as_posix()}/Dockerfile"
    raise AssertionError(f"no workspace member is {spec.distribution}")


def instances(compose: dict, service: str) -> dict[str, dict]:
    """Compose services built from the service's Dockerfile, except the provision job."""
    return {name: spec for name, spec in compose["services"].items()
            if (spec.get("build") or {}).get("dockerfile") == dockerfile_of(service) and name != "provision"}


def dockerignore_excludes(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent directories wins."""
    excluded = False
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate, pattern = line.startswith("!"), line.lstrip("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(p.split("/")[-1], pattern[3:]) for p in prefixes)
        else:
            hit = any(fnmatch.fnmatch(p, pattern) and p.count("/") == pattern.count("/") for p in prefixes)
        if hit:
            excluded = not negate
    return excluded


def copies(dockerfile: Path) -> list[tuple[list[str], str]]:
    """(sources, destination) of every COPY from the build context."""
    out = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            args = line.split()[1:]
            out.append((args[:-1], args[-1]))
    return out


def workspace_closure(package: str) -> set[str]:
    """Workspace member directories ``package`` needs, itself included (from the pyprojects)."""
    members: dict[str, tuple[Path, list[str]]] = {}
    for pyproject in [*REPO.glob("libs/*/pyproject.toml"), REPO / "contracts/pyproject.toml",
                      *REPO.glob("services/*/pyproject.toml"), *REPO.glob("apps/*/pyproject.toml")]:
        data = tomllib.loads(pyproject.read_text())
        deps = [re.split(r"[\[<>=~! ;]", d, maxsplit=1)[0] for d in data["project"].get("dependencies", [])]
        workspace = {k for k, v in data.get("tool", {}).get("uv", {}).get("sources", {}).items() if v.get("workspace")}
        members[data["project"]["name"]] = (pyproject.parent, [d for d in deps if d in workspace])
    todo, seen = [package], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(members[name][1])
    return {str(members[name][0].relative_to(REPO)) for name in seen}


# --- compose ------------------------------------------------------------------------------------------

def test_every_build_context_dockerfile_and_copied_path_exists(compose):
    built = 0
    for name, spec in compose["services"].items():
        if "build" not in spec:
            continue
        context = REPO / spec["build"]["context"]
        dockerfile = context / spec["build"]["dockerfile"]
        assert context.is_dir(), f"{name}: build context {context} is missing"
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
        for sources, _ in copies(dockerfile):
            for source in sources:
                assert (context / source).exists(), f"{name}: {dockerfile.name} copies {source}, which is missing"
                assert not dockerignore_excludes(source), f"{name}: .dockerignore keeps {source} out of the context"
        built += 1
    assert built >= len(SERVICES) + 3  # every service, the second gateway, the provision job, ops


def test_the_dockerignore_check_can_fail():
    assert dockerignore_excludes(".venv/bin/python") and dockerignore_excludes("tests/conftest.py")
    assert dockerignore_excludes("libs/kernel/src/ledger_kernel/__pycache__/store.cpython-311.pyc")
    assert not dockerignore_excludes("libs/kernel/pyproject.toml")


def test_every_mounted_file_and_named_volume_exists(compose):
    mounted = set()
    for name, spec in compose["services"].items():
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name} mounts {source}, which is missing"
                mounted.add(source)
            else:
                assert source in (compose.get("volumes") or {}), f"{name}: named volume {source} is not declared"
    assert {"./infra/nats", "./infra/otel/collector.yaml", "./infra/postgres/init-databases.sh"} <= mounted


def test_start_order_waits_for_health(compose):
    services = compose["services"]
    for name, spec in services.items():
        for target, rule in (spec.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on {target}, which is not a service"
            assert rule["condition"] in CONDITIONS
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target} to be healthy: it has no check"
            if rule["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is a one-shot job"
    for name in [*BEHIND_GATEWAY, "gateway-1", "gateway-2"]:
        deps = services[name]["depends_on"]
        assert {deps[n]["condition"] for n in ("nats-1", "nats-2", "nats-3")} == {"service_healthy"}
        assert deps["provision"]["condition"] == "service_completed_successfully"
    for name in NEED_SQL - {"gateway"}:
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in BEHIND_GATEWAY:
        assert services["gateway-1"]["depends_on"][service]["condition"] == "service_healthy"


def test_each_service_runs_alone_with_its_own_nats_user(compose):
    for service in SERVICES:
        found = instances(compose, service)
        assert found, f"no container runs {service}"
        count = sum(spec.get("deploy", {}).get("replicas", 1) for spec in found.values())
        if service in DOMAIN or service in ("gateway", "projector"):  # the projector: partitioned workers
            assert count >= 2, f"{service} runs {count} instance(s); several are wanted"
        for name, spec in found.items():
            env = spec["environment"]
            url = re.fullmatch(r"nats://(\w+):\$\{(NATS_PW_\w+)[^}]*\}@nats:4222", env["LEDGER_NATS_URL"])
            assert url, f"{name}: LEDGER_NATS_URL {env['LEDGER_NATS_URL']!r}"
            assert url.groups() == (service, f"NATS_PW_{service.upper()}")
            assert env["LEDGER_REPLICAS"] == "3" and env["LEDGER_ENV"] == "production"
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
            assert spec["image"].startswith(f"ledger/{service}:")
            if service == "projector":  # several replicas only make sense as workers of one P
                assert int(env["LEDGER_PROJECTOR_PARTITIONS"].split(":-")[1].rstrip("}")) > 1
            if service in NEED_SQL:
                db = re.fullmatch(r"postgresql://(\w+):\$\{PG_PW_(\w+)[^}]*\}@postgres:5432/(\w+)",
                                  env["LEDGER_DATABASE_URL"])
                assert db and db.groups() == (f"ledger_{service}", service.upper(), f"ledger_{service}")
    assert compose["services"]["provision"]["command"] == ["python", "/app/ops/provision.py"]
    assert compose["services"]["provision"]["environment"]["LEDGER_NATS_URL"].startswith("nats://admin:")


def test_the_generated_parts_of_compose_follow_the_installed_services():
    """The parts infra/compose.py writes (passwords, domain containers, the gateways' waits, compose-env's users)."""
    out = subprocess.run([sys.executable, str(REPO / "infra/compose.py"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_compose_runs_exactly_the_installed_services_and_the_ops_image(compose):
    images = {spec["image"].split(":")[0] for spec in compose["services"].values()
              if spec.get("image", "").startswith("ledger/")}
    assert images == {*(f"ledger/{name}" for name in SERVICES), "ledger/ops"}, \
        "docker-compose.yml and the ledger.services entry points disagree"


def test_nats_nodes_form_one_cluster_with_the_tested_server_version(compose):
    version = subprocess.run([str(nats_server_binary()), "--version"], capture_output=True, text=True).stdout
    wheel = re.search(r"v(\d+\.\d+\.\d+)", version)[1]
    accounts = (NATS_DIR / "accounts.conf").read_text() + (NATS_DIR / "cluster.conf").read_text()
    wanted = set(re.findall(r"\$(NATS_PW_\w+)", accounts))
    assert wanted == {f"NATS_PW_{u.upper()}" for u in USERS}
    for i in (1, 2, 3):
        node = compose["services"][f"nats-{i}"]
        assert node["image"] == f"nats:{wheel}-alpine"
        assert node["command"] == ["-c", "/etc/nats/cluster.conf"]
        assert node["environment"]["NATS_SERVER_NAME"] == f"nats-{i}"
        assert wanted <= set(node["environment"])
        assert "nats" in node["networks"]["default"]["aliases"]
        routes = re.findall(r"@(nats-\d):6222", node["environment"]["NATS_ROUTES"])
        assert routes == ["nats-1", "nats-2", "nats-3"]


def test_every_required_variable_comes_from_compose_env():
    text = (REPO / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    produced = subprocess.run(["sh", str(REPO / "infra/compose-env.sh")], capture_output=True, text=True, check=True)
    values = dict(line.split("=", 1) for line in produced.stdout.splitlines())
    assert required == set(values), required ^ set(values)
    key = base64.b64decode(values.pop("NOTIFIER_SECRET_KEY"), validate=True)
    assert len(key) == 32  # AES-256: what ledger_notifier.sealing_keys accepts
    seed = base64.b64decode(values.pop("CHECKPOINT_KEY"), validate=True)
    assert len(seed) == 32  # an Ed25519 seed: what ledger_kernel.checkpoint_keys accepts
    assert all(re.fullmatch(r"pw-[0-9a-f]{36}", v) for v in values.values())
    assert len(set(values.values())) == len(values)


def test_postgres_creates_the_databases_the_services_use(compose):
    script = (REPO / "infra/postgres/init-databases.sh").read_text()
    assert "for service in projector notifier gateway" in script
    env = compose["services"]["postgres"]["environment"]
    assert {f"PG_PW_{s.upper()}" for s in NEED_SQL} <= set(env)
    assert "ledger_gateway" in str(compose["services"]["postgres"]["healthcheck"]["test"])


# --- Dockerfiles --------------------------------------------------------------------------------------

IMAGES = [(dockerfile_of(s.name), s.distribution, f'CMD ["python", "-m", "{s.module}"]') for s in discover()]
IMAGES.append(("infra/ops/Dockerfile", "ledger-cli", 'CMD ["ledger", "--help"]'))


@pytest.mark.parametrize(("path", "package", "command"), IMAGES, ids=[i[1] for i in IMAGES])
def test_dockerfile_builds_from_its_own_package_with_just_the_members_it_needs(path, package, command):
    dockerfile = REPO / path
    text = dockerfile.read_text()
    needed = workspace_closure(package)
    copied_dirs = {sources[0] for sources, dest in copies(dockerfile)
                   if len(sources) == 1 and sources[0] == dest and (REPO / sources[0]).is_dir()}
    assert copied_dirs == needed, \
        f"{path} copies {sorted(copied_dirs)}, needs {sorted(needed)}: run .venv/bin/python infra/dockerfiles.py"
    syncs = re.findall(r"uv sync ([^\n]+)", text)
    assert len(syncs) == 2 and all("--frozen --no-dev" in s and f"--package {package}" in s for s in syncs)
    assert command in text
    assert "USER ledger" in text


# --- server configurations ----------------------------------------------------------------------------

def config_env(**extra: str) -> dict[str, str]:
    pw = fresh_passwords()
    routes = ", ".join(f"nats-route://route:{pw['route']}@nats-{i}:6222" for i in (1, 2, 3))
    return {"PATH": "/usr/bin:/bin", **password_env(pw), "NATS_SERVER_NAME": "nats-1", "NATS_ROUTES": f"[{routes}]",
            "NATS_CLIENT_PORT": "14222", "NATS_CLUSTER_PORT": "16222", "NATS_STORE_DIR": '"/tmp/ledger-nats-t"',
            **extra}


@pytest.mark.parametrize("config", ["cluster.conf", "cluster-local.conf"])
def test_nats_configuration_passes_the_servers_own_check(config):
    result = subprocess.run([str(nats_server_binary()), "-c", str(NATS_DIR / config), "-t"],
                            env=config_env(), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout + result.stderr


def test_the_servers_check_catches_a_missing_password():
    env = config_env()
    del env["NATS_PW_GATEWAY"]
    result = subprocess.run([str(nats_server_binary()), "-c", str(NATS_DIR / "cluster.conf"), "-t"],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "NATS_PW_GATEWAY" in result.stdout + result.stderr


def test_collector_pipelines_use_only_defined_components(compose):
    collector = yaml.safe_load((REPO / "infra/otel/collector.yaml").read_text())
    pipelines = collector["service"]["pipelines"]
    assert {"traces", "metrics"} <= set(pipelines)
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in collector[kind], f"{name} uses {kind[:-1]} {component}, which is not defined"
    for extension in collector["service"].get("extensions", []):
        assert extension in collector["extensions"]
    http = collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    assert http.endswith(":4318")  # OTEL_EXPORTER_OTLP_ENDPOINT of every service
    trace_hosts = {collector["exporters"][e]["endpoint"].split(":")[0] for e in pipelines["traces"]["exporters"]}
    assert trace_hosts <= set(compose["services"]), trace_hosts
    service = compose["services"]["otel-collector"]
    config_path = service["command"][0].split("=", 1)[1]
    assert f"./infra/otel/collector.yaml:{config_path}:ro" in service["volumes"]
    assert service["image"].startswith("otel/opentelemetry-collector-contrib:")
    assert compose["services"]["jaeger"]["image"].startswith("jaegertracing/all-in-one:")
