"""The OpenAPI document is complete and true: every endpoint, the fact union, every error as a problem —
and Schemathesis, against the live stack, finds no 5xx and no answer that breaks the schema."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from ledger_contracts.catalogue import CATALOGUE

ENDPOINTS = {
    ("post", "/v1/facts"), ("post", "/v1/facts:batch"), ("get", "/v1/companies"), ("get", "/v1/companies/{uscc}"),
    ("get", "/v1/companies/{uscc}/obligations"), ("get", "/v1/companies/{uscc}/findings"),
    ("get", "/v1/companies/{uscc}/credit"), ("get", "/v1/companies/{uscc}/timeline"),
    ("get", "/v1/companies/{uscc}/events"), ("get", "/v1/changes"), ("get", "/healthz"), ("get", "/readyz"),
    ("get", "/v1/obligations"),
    ("post", "/v1/subscriptions"), ("get", "/v1/subscriptions"), ("get", "/v1/subscriptions/{id}"),
    ("delete", "/v1/subscriptions/{id}"), ("get", "/v1/subscriptions/{id}/deliveries"),
    ("post", "/v1/deliveries/{id}/replay"), ("get", "/v1/feeds/{token}.ics"),
}


async def openapi(stack) -> dict:
    async with stack.client(None) as anyone:
        r = await anyone.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


async def test_every_endpoint_is_documented_with_its_errors(stack):
    doc = await openapi(stack)
    operations = {(m, p): op for p, ops in doc["paths"].items() for m, op in ops.items()}
    assert ENDPOINTS <= set(operations)
    for (method, path), op in operations.items():
        for status, response in op["responses"].items():
            if status.isdigit() and int(status) >= 400 and not path.startswith("/readyz"):
                assert list(response["content"]) == ["application/problem+json"], (method, path, status)
        if path.startswith("/v1/") and not path.endswith(".ics"):  # the feed's token is its credential
            assert {"401", "500"} <= set(op["responses"]), (method, path)
            assert op.get("security") == [{"ApiKey": []}], (method, path)
    for path in ("/v1/companies/{uscc}", "/v1/companies/{uscc}/events"):
        assert "404" in operations[("get", path)]["responses"]
    facts = operations[("post", "/v1/facts")]
    assert {"201", "409", "412", "422", "503"} <= set(facts["responses"])
    assert facts["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Fact"}
    batch = operations[("post", "/v1/facts:batch")]["requestBody"]["content"]
    assert {"application/json", "application/x-ndjson"} <= set(batch)
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    # every reference resolves: a client generator or a fuzzer must not meet a dangling $ref
    dangling = sorted({ref for ref in refs(doc) if ref.removeprefix("#/components/schemas/")
                       not in doc["components"]["schemas"]})
    assert dangling == [], dangling


def refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


async def test_facts_are_a_discriminated_union_of_the_catalogue(stack):
    doc = await openapi(stack)
    schemas = doc["components"]["schemas"]
    fact = schemas["Fact"]
    assert fact["discriminator"]["propertyName"] == "type"
    assert set(fact["discriminator"]["mapping"]) == set(CATALOGUE)
    for fact_type, ref in fact["discriminator"]["mapping"].items():
        variant = schemas[ref.rsplit("/", 1)[-1]]
        assert variant["properties"]["type"]["const"] == fact_type
        assert {"type", "company", "data"} <= set(variant["required"])
    problem = schemas["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(stack, tmp_path: Path):
    """Bounded: a few examples per operation (well under a minute)."""
    _, key = stack.new_tenant("fuzz")
    # a company of the tenant, so that company paths also answer 200 with their real shapes
    from test_reads import NATIONWIDE

    async with stack.client(key) as client:
        r = await client.post("/v1/facts:batch", json=NATIONWIDE["facts"])
        assert r.json()["accepted"] == len(NATIONWIDE["facts"])
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.uscc" = "{NATIONWIDE["facts"][0]["company"]}"\n')
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config), "run", f"{stack.url}/openapi.json",
        "-H", f"Authorization: Bearer {key}",
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                    "response_schema_conformance,response_headers_conformance",
        "--phases", "examples,fuzzing", "--max-examples", "5", "--seed", "20261123",
        "--no-shrink", "--generation-database", "none", "--request-timeout", "30", "--workers", "1",
        "--exclude-path", "/metrics", "--no-color", "--report", "junit", "--report-dir", str(tmp_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    text = out.decode(errors="replace")
    print(f"\nschemathesis: {time.monotonic() - started:.1f}s\n" + text[-3000:])
    assert proc.returncode == 0, text[-8000:]
