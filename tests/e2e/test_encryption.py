"""Personal data is ciphertext in Temporal; operators still read it, through the codec."""

from __future__ import annotations

import base64

import httpx
import pytest
from temporalio.client import Client

from events import topics
from infra.settings import Settings
from tests.conftest import OPERATOR_KEY, PORTAL_KEY, Observer
from tests.e2e.helpers import CATALOGUE, body, eventually, finished, ops, submit
from tests.e2e.test_catalogue import fresh_resident_id

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


async def test_an_applicants_data_rests_nowhere_in_clear_but_on_the_departments_topics(
    http: httpx.AsyncClient, settings: Settings, observer: Observer
) -> None:
    """Temporal's database file, the Web UI's history, every topic but the departments' task
    topics, and every log: searched for one applicant's name, ID number and phone."""
    request = body("enterprise opening")
    person = fresh_resident_id()
    name, phone = (
        f"隐私{person[-6:]}",
        f"139{person[-9:-1]}",
    )  # digits only: the check digit may be X
    request["applicant"] = {"name": name, "id_number": person, "phone": phone}
    request["form"]["legal_representative_id"] = person
    request["form"]["legal_representative_name"] = name
    request["form"]["contact_phone"] = phone
    app_id = await submit(http, request)
    assert (await finished(http, app_id)).status.value == "approved"
    secrets = [name, person, phone]
    wanted = [s.encode() for s in secrets] + [base64.b64encode(s.encode()) for s in secrets]

    def found_in(data: bytes) -> list[bytes]:
        return [w for w in wanted if w in data]

    await eventually(lambda: observer.on(topics.STATUS, app_id))
    department_topics = {topics.department_tasks(d) for d in CATALOGUE.departments()}
    assert any(found_in(r.value) for r in observer.records if r.topic in department_topics)
    elsewhere = [r.topic for r in observer.records if r.topic not in department_topics]
    assert elsewhere and not [t for t in elsewhere if found_in(_record(observer, t, app_id))]
    for stored in (settings.state_dir / "data").glob("temporal.db*"):  # the WAL too
        assert not found_in(stored.read_bytes()), stored.name
    for log in (settings.state_dir / "logs").glob("*"):
        assert not found_in(log.read_bytes()), log.name
    ui = f"http://{settings.host}:{settings.temporal_ui_port}"
    async with httpx.AsyncClient(base_url=ui, timeout=10) as web:
        shown = await web.get(f"/api/v1/namespaces/default/workflows/{app_id}/history")
    assert shown.status_code == 200 and app_id in shown.text
    assert not found_in(shown.content)


def _record(observer: Observer, topic: str, application_id: str) -> bytes:
    return b"".join(r.value for r in observer.raw(topic, application_id))
