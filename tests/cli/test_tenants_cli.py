"""``ledger tenant …`` and ``ledger key …`` write the gateway's tables; the key is on the last line."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from ledger_gateway.tenancy import authenticate


async def test_tenant_create_prints_a_working_admin_key_on_its_last_line(stack, tmp_path):
    env = {**os.environ, "LEDGER_DATABASE_URL": stack.settings.database_url, "LEDGER_HOME": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "ledger_cli.main", "tenant", "create",
                                                "顾问公司 Consulting", env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    key = out.decode().strip().splitlines()[-1]
    who = authenticate(stack.engine, key)
    assert who is not None and who.scopes == {"read", "write", "admin"}
    async with stack.client(key) as client:
        assert (await client.get("/v1/companies")).json()["items"] == []


async def test_keys_are_created_listed_and_revoked(stack, ledger):
    created = await ledger("tenant", "create", "Acme", "--json")
    tenant = json.loads(created.stdout)["tenant"]
    made = await ledger("key", "create", tenant, "--scope", "read", "--label", "dashboard")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert authenticate(stack.engine, key).scopes == {"read"}
    listed = json.loads((await ledger("key", "list", "--tenant", tenant, "--json")).stdout)
    assert len(listed) == 2 and key not in json.dumps(listed)
    assert {k["label"] for k in listed} >= {"dashboard"}
    key_id = key.split("_")[1]
    revoked = await ledger("key", "revoke", key_id)
    assert revoked.exit_code == 0 and authenticate(stack.engine, key) is None
    assert (await ledger("key", "revoke", "nosuchkey000")).exit_code == 1
    table = await ledger("key", "list", "--tenant", tenant)
    assert "revoked" in table.stdout and key_id in table.stdout
    bad = await ledger("key", "create", tenant, "--scope", "root")
    assert bad.exit_code != 0
    tenants = json.loads((await ledger("tenant", "list", "--json")).stdout)
    assert tenant in {t["tenant"] for t in tenants}
