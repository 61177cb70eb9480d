"""API keys with roles: portal, operator, department; 401 and 403; no key in the logs."""

from __future__ import annotations

import httpx
import pytest

from infra.settings import Settings
from orchestrator.cli.demo import example
from tests.conftest import AMR_KEY, API_KEYS, OPERATOR_KEY, OTHER_PORTAL_KEY
from tests.e2e.helpers import finished, submit

pytestmark = pytest.mark.stack


async def test_each_role_may_do_what_it_is_for_and_nothing_else(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    app_id = (await finished(http, await submit(http, example("credit_repair")))).id
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as anonymous:
        missing = await anonymous.get(f"/v1/applications/{app_id}")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        wrong = await anonymous.get("/v1/one-things", headers={"X-API-Key": "x" * 24})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "unknown API key"
        assert (await anonymous.get("/livez")).status_code == 200
        ready = await anonymous.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert set(ready.json()["checks"]) == {"temporal", "kafka", "intake_consumer"}

        department = {"X-API-Key": AMR_KEY}
        assert (await anonymous.get("/v1/one-things/birth/form", headers=department)).is_success
        refused = await anonymous.post(
            "/v1/applications", json=example("birth"), headers=department
        )
        assert refused.status_code == 403 and "department" in refused.json()["detail"]
        other_portal = {"X-API-Key": OTHER_PORTAL_KEY}
        hidden = await anonymous.get(f"/v1/applications/{app_id}", headers=other_portal)
        assert hidden.status_code == 404  # another portal's applicant: not even its existence
        operator = {"X-API-Key": OPERATOR_KEY}
        assert (await anonymous.get(f"/v1/applications/{app_id}", headers=operator)).is_success
        assert (await anonymous.get("/v1/ratings", headers=operator)).is_success
    assert (await http.get("/v1/ratings")).status_code == 403  # a portal sees no aggregates
    assert (await http.get(f"/v1/applications/{app_id}")).is_success

    logs = "".join(p.read_text(errors="replace") for p in (settings.state_dir / "logs").glob("*"))
    assert all(spec["key"] not in logs for spec in API_KEYS.values())
