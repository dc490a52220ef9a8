from __future__ import annotations

import pytest
from ledger_projector.service import ProjectorService

from projector.conftest import projector_stack
from projector.ledger_facts import query, result


@pytest.fixture
def provisioned(own_ledger):
    """This module's projectors follow a ledger of their own (see ``own_ledger``)."""
    return own_ledger


CO = "91310115MA1K4B8N68"


async def test_facts_reach_the_read_model(provisioned, nc, settings_for, clock, tenant, recorder):
    settings = settings_for(provisioned)
    async with projector_stack(settings, clock) as svc:
        assert isinstance(svc, ProjectorService)
        seq = await recorder.record(tenant, {
            "type": "company.registered", "company": CO, "effective_date": "2021-06-01",
            "data": {"name": "上海某客服外包有限公司", "registered_capital": 12000000, "province": "31",
                     "industry": "other", "business_scope": ["呼叫中心业务"]}})
        assert await svc.wait_for(seq, 60), f"projector stuck at {svc.applied}, wanted {seq}"
        status = await result(nc, "status")
        assert status["applied_sequence"] >= seq
        company = await result(nc, "company", tenant, company=CO)
        assert company["uscc"] == CO and company["name"] == "上海某客服外包有限公司"
        other = await query(nc, "company", "tother123", company=CO)
        assert other["ok"] is False and other["status"] == 404
