"""Personal data is ciphertext in Temporal; operators still read it, through the codec."""

from __future__ import annotations

import base64

import httpx
import pytest
from temporalio.client import Client

from infra.settings import Settings
from tests.conftest import OPERATOR_KEY, PORTAL_KEY
from tests.e2e.helpers import body, finished, ops, submit

pytestmark = pytest.mark.stack


async def test_no_personal_datum_is_stored_in_clear_and_operators_still_read_it(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    request = body("enterprise opening")
    app_id = await submit(http, request)
    assert (await finished(http, app_id)).status.value == "approved"
    raw = await Client.connect(settings.temporal)  # what Temporal keeps, without our keys
    history = await raw.get_workflow_handle(app_id).fetch_history()
    stored = history.to_json()
    for secret in (
        request["applicant"]["name"],
        request["applicant"]["id_number"],
        request["form"]["legal_representative_name"],
        request["form"]["company_name"],
    ):
        assert secret not in stored
        assert base64.b64encode(secret.encode()).decode() not in stored
    shown = ops(settings, "show", app_id)
    assert shown.returncode == 0 and "approved" in shown.stdout and "company_name" in shown.stdout

    payload = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
    wire = {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
                "data": base64.b64encode(payload.data).decode(),
            }
        ]
    }
    async with httpx.AsyncClient(base_url=settings.api_url) as ui:
        as_portal = await ui.post("/codec/decode", json=wire, headers={"X-API-Key": PORTAL_KEY})
        assert as_portal.status_code == 403
        decoded = await ui.post(
            "/codec/decode", json=wire, headers={"Authorization": f"Bearer {OPERATOR_KEY}"}
        )
        assert decoded.status_code == 200, decoded.text
        plain = base64.b64decode(decoded.json()["payloads"][0]["data"]).decode()
        assert request["applicant"]["id_number"] in plain
        origin = f"http://{settings.host}:{settings.temporal_ui_port}"
        preflight = await ui.options(
            "/codec/decode",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        assert preflight.headers.get("access-control-allow-origin") == origin
