"""Nothing a department or a portal sends can wedge an application or speak for someone else."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import jwt
import pytest
from temporalio.client import Client

from events import TaskResult, dumps, topics, wrap
from events.contracts import ApplicationRequested, Outcome
from events.envelope import HEADERS
from events.proof import prove, request_signing_bytes, result_signing_bytes
from infra import kafka
from infra.settings import Settings
from orchestrator.api.tracking import PREFIX
from orchestrator.cli.demo import example
from orchestrator.intake.service import application_id_for
from tests.conftest import (
    AMR_KEY,
    OTHER_PORTAL_REQUEST_KEY,
    PORTAL_KEY,
    Observer,
    portal_signed,
)
from tests.e2e.helpers import (
    body,
    commands,
    eventually,
    finished,
    opened,
    ops,
    progress_of,
    proven_by,
    submit,
)
from tests.e2e.test_unhappy_paths import SLOW_HPF, status_of_task

pytestmark = pytest.mark.stack
CARELESS_AMR = "漏码科技有限公司"  # the simulated amr approves it without the credit code


def dead_letters(observer: Observer, settings: Settings, application_id: str) -> list[str]:
    """Why each answer about `application_id` was dead-lettered."""
    return [
        letter["reason"]
        for letter in observer.on(topics.DLQ)
        if letter["topic"] == topics.RESULTS and application_id.encode() in opened(settings, letter)
    ]


def answer(command: dict[str, Any], department: str, **fields: Any) -> TaskResult:
    return TaskResult(
        application_id=command["application_id"],
        task_id=command["task_id"],
        attempt=command["attempt"],
        department=department,
        reply_token=command["reply_token"],
        outcome=Outcome.APPROVED,
        **fields,
    )


async def send(settings: Settings, topic: str, key: str, *values: bytes) -> None:
    producer = kafka.producer(settings)
    await producer.start()
    try:
        for value in values:
            await producer.send(topic, value, key=key.encode(), headers=HEADERS)
    finally:
        await producer.stop()


async def test_an_approval_without_a_declared_output_is_refused_and_escalated(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    app_id = await submit(http, body("enterprise opening", company_name=CARELESS_AMR))
    async with asyncio.timeout(30):  # the application keeps moving and answering
        while (progress := await progress_of(http, app_id)).task(
            "business_registration"
        ).state.value != "escalated":
            assert (await http.get(f"/v1/applications/{app_id}")).status_code == 200
            await asyncio.sleep(0.2)
    registration = progress.task("business_registration")
    assert registration.attempt == 2 and not registration.outputs
    assert registration.reason and "approved without unified_social_credit_code" in (
        registration.reason
    )
    assert progress.task("tax_registration").state.value == "pending"
    letters = await eventually(lambda: len(dead_letters(observer, settings, app_id)) >= 2)
    assert letters
    assert all("unified_social_credit_code" in r for r in dead_letters(observer, settings, app_id))
    failed = ops(settings, "fail", app_id, "business_registration", "--reason", "系统缺码")
    assert failed.returncode == 0, failed.stdout
    assert (await finished(http, app_id)).status.value == "rejected"


async def test_answers_from_another_department_unproven_forged_or_undeclared_change_nothing(
    http: httpx.AsyncClient, observer: Observer, settings: Settings, temporal: Client
) -> None:
    app_id = await submit(http, body("enterprise opening", company_name=SLOW_HPF))
    command = await eventually(lambda: commands(observer, app_id).get("housing_fund"))
    token = command["reply_token"]
    version, key_id, claims, signature = token.split(".")
    forged = ".".join((version, key_id, claims[:-4] + "AAAA", signature))
    attacks = [
        # amr reads the housing fund's topic and answers for it, proving it is amr
        proven_by(answer(command, "amr", outputs={"housing_fund_account": "X"}), settings, "amr"),
        # someone answers as the housing fund without its key
        answer(command, "hpf", outputs={"housing_fund_account": "X"}),
        # amr answers as the housing fund, proven with amr's own key
        proven_by(answer(command, "hpf", outputs={"housing_fund_account": "X"}), settings, "amr"),
        # a forged token, proven by the real department's key
        proven_by(
            answer(command, "hpf", outputs={"housing_fund_account": "X"}).model_copy(
                update={"reply_token": forged}
            ),
            settings,
            "hpf",
        ),
        # the right department, with an output the matter never declared
        proven_by(
            answer(command, "hpf", outputs={"housing_fund_account": "X", "extra_output": "Y"}),
            settings,
            "hpf",
        ),
    ]
    await send(settings, topics.RESULTS, app_id, *(dumps(wrap(a)) for a in attacks))
    reasons = await eventually(
        lambda: (
            len(dead_letters(observer, settings, app_id)) >= 5
            and dead_letters(observer, settings, app_id)
        )
    )
    text = " | ".join(reasons)
    assert "answered as amr; the task was sent to hpf" in text
    assert text.count("not proven to come from hpf") == 2
    assert "not one of ours" in text
    assert "does not declare: ['extra_output']" in text
    await status_of_task(http, app_id, "housing_fund", "escalated")
    housing = (await progress_of(http, app_id)).task("housing_fund")
    assert housing.outputs == {}  # nothing of the attacks was applied
    assert ops(settings, "retry", app_id, "housing_fund").returncode == 0
    done = await finished(http, app_id)
    assert done.status.value == "approved"
    assert set(done.task("housing_fund").outputs) == {"housing_fund_account"}
    assert done.task("housing_fund").outputs["housing_fund_account"] != "X"


async def test_a_leaked_reply_key_proves_no_answer_and_signs_no_link(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    """The reply key signs reply tokens and nothing else: whoever holds it cannot answer for a
    department, nor make a tracking link or a material link (once all derived from it)."""
    leaked = settings.secret_key_bytes("reply")[settings.reply_key_id]
    app_id = await submit(http, body("enterprise opening", company_name=SLOW_HPF))

    articles = (await eventually(lambda: commands(observer, app_id).get("business_registration")))[
        "materials"
    ]["articles_of_association"]["url"]
    link = urlsplit(articles)
    grant = dict(parse_qsl(link.query))
    message = "/".join(
        (link.path.rsplit("/", 1)[1], grant["department"], grant["application"],
         grant["material"], grant["expires"])
    )  # fmt: skip
    derived = hmac.new(leaked, b"onething material link", hashlib.sha256).digest()
    grant |= {
        "key": settings.reply_key_id,
        "sig": hmac.new(derived, message.encode(), hashlib.sha256).hexdigest(),
    }
    as_amr = {"X-API-Key": AMR_KEY}
    async with httpx.AsyncClient(timeout=10) as department:
        assert (await department.get(articles, headers=as_amr)).status_code == 200
        forged = link._replace(query=urlencode(grant)).geturl()
        assert (await department.get(forged, headers=as_amr)).status_code == 403

    issued = await http.post(f"/v1/applications/{app_id}/tracking-links")
    assert issued.status_code == 201, issued.text
    real = issued.json()["token"].removeprefix(PREFIX)
    claims = jwt.decode(real, options={"verify_signature": False})
    track_key = hmac.new(leaked, b"tracking-links", hashlib.sha256).digest()
    copied = PREFIX + jwt.encode(
        claims, track_key, algorithm="HS256", headers={"kid": settings.reply_key_id}
    )
    async with httpx.AsyncClient(base_url=settings.api_url, timeout=10) as page:
        for token, status in ((PREFIX + real, 200), (copied, 401)):
            read = await page.get(
                f"/v1/applications/{app_id}", headers={"Authorization": f"Bearer {token}"}
            )
            assert read.status_code == status, read.text

    command = await eventually(lambda: commands(observer, app_id).get("housing_fund"))
    secret = hmac.new(leaked, b"department:hpf", hashlib.sha256).digest()
    claimed = answer(command, "hpf", outputs={"housing_fund_account": "X"})
    signed = result_signing_bytes(claimed.model_dump(mode="json"))
    await send(
        settings,
        topics.RESULTS,
        app_id,
        dumps(wrap(claimed.model_copy(update={"proof": prove(secret, signed)}))),
    )
    reasons = await eventually(lambda: dead_letters(observer, settings, app_id))
    assert any("not proven to come from hpf" in r for r in reasons), reasons
    await status_of_task(http, app_id, "housing_fund", "escalated")
    assert (await progress_of(http, app_id)).task("housing_fund").outputs == {}
    assert ops(settings, "retry", app_id, "housing_fund").returncode == 0
    done = await finished(http, app_id)
    assert done.task("housing_fund").outputs["housing_fund_account"] != "X"


async def test_an_unsigned_or_mis_signed_application_request_starts_nothing(
    http: httpx.AsyncClient, observer: Observer, settings: Settings
) -> None:
    source = "portal-a"
    unsigned = ApplicationRequested(request_id=f"req-{uuid.uuid4().hex}", **example("retirement"))
    mis_signed_request = ApplicationRequested(
        request_id=f"req-{uuid.uuid4().hex}", **example("retirement")
    )
    mis_signed = ApplicationRequested.model_validate(  # portal B's key signs as portal A
        portal_signed(mis_signed_request.model_dump(mode="json"), source, OTHER_PORTAL_REQUEST_KEY)
    )
    by_api_key = unsigned.model_copy(  # signed as before: with the portal's API key
        update={"request_id": f"req-{uuid.uuid4().hex}", "signature_key_id": "pa1"}
    )
    as_before = request_signing_bytes(source, by_api_key.model_dump(mode="json"))
    by_api_key = by_api_key.model_copy(update={"signature": prove(PORTAL_KEY.encode(), as_before)})
    unknown = unsigned.model_copy(update={"request_id": f"req-{uuid.uuid4().hex}"})
    await send(
        settings,
        topics.APPLICATIONS,
        "requests",
        dumps(wrap(unsigned, source=source)),
        dumps(wrap(mis_signed, source=source)),
        dumps(wrap(by_api_key, source=source)),
        dumps(wrap(unknown, source="portal-z")),
    )

    def refusals() -> list[str]:
        return [
            letter["reason"]
            for letter in observer.on(topics.DLQ)
            if letter["topic"] == topics.APPLICATIONS and "refused" in letter["reason"]
        ]

    found = await eventually(lambda: len(refusals()) >= 4 and refusals())
    assert sum("not signed by 'portal-a'" in r for r in found) >= 3
    assert any("'portal-z' is not a portal of ours" in r for r in found)
    for request in (unsigned, mis_signed, by_api_key):
        app_id = application_id_for(f"{source}/{request.request_id}")
        assert (await http.get(f"/v1/applications/{app_id}")).status_code == 404
