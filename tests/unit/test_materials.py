"""How an application's materials are settled: uploaded, waived, promised or committed."""

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from one_things import load_catalogue
from one_things.licences import ELicence, content_hash, licence_id
from one_things.materials import MissingMaterials, Settled, plan_materials
from one_things.workdays import CHINA, WorkingCalendar

CATALOGUE = load_catalogue()
CHANGE = CATALOGUE.get("enterprise_change")
OPENING = CATALOGUE.get("enterprise_opening")
AFTER_DEATH = CATALOGUE.get("after_death")
UPLOAD = "ab" * 32
FRIDAY = datetime(2026, 9, 25, 10, 0, tzinfo=CHINA)  # the National Day week follows
GOLDEN_WEEK = WorkingCalendar(
    days_off=frozenset(date(2026, 10, d) for d in range(1, 8)),
    days_worked=frozenset({date(2026, 9, 27), date(2026, 10, 10)}),
)


def settle(one_thing: Any, given: dict[str, str], **kw: Any) -> dict[str, Any]:
    tasks = kw.pop("tasks", {m.id for m in one_thing.matters})
    planned = plan_materials(
        one_thing, kw.pop("values", {}), given, kw.pop("held", []), FRIDAY, GOLDEN_WEEK, tasks, **kw
    )
    return {m.id: m for m in planned}


def business_licence(holder: str) -> ELicence:
    return ELicence(
        id=licence_id("business_licence", "ot-old", "change_registration"),
        type="business_licence",
        issuer="amr",
        holder=holder,
        issued_on=date(2026, 1, 2),
        content_hash=content_hash("business_licence", "amr", holder, {}),
        data={},
        application_id="ot-old",
        task_id="change_registration",
    )


def test_an_upload_is_provided_and_a_held_e_licence_waives_its_material() -> None:
    given = {"change_resolution": UPLOAD}
    with pytest.raises(MissingMaterials) as missing:
        settle(CHANGE, given)
    assert missing.value.errors[0]["loc"] == ("business_licence_original",)
    held = business_licence("91440101MA5CXXXX1B")
    settled = settle(CHANGE, given, held=[held])
    assert settled["change_resolution"].settled is Settled.PROVIDED
    assert settled["change_resolution"].sha256 == UPLOAD
    waived = settled["business_licence_original"]
    assert (waived.settled, waived.licence_id) == (Settled.WAIVED, held.id)
    uploaded = settle(CHANGE, {**given, "business_licence_original": UPLOAD}, held=[held])
    assert uploaded["business_licence_original"].settled is Settled.PROVIDED


def test_a_promise_is_due_on_working_days_or_sooner_under_a_cap() -> None:
    promised = settle(OPENING, {"articles_of_association": "promise", "premises_proof": UPLOAD})
    articles = promised["articles_of_association"]
    assert articles.settled is Settled.PROMISED
    # five working days from a Friday before the Golden Week: the 27th (a Sunday worked),
    # the 28th, 29th, 30th, then the 8th of October
    assert articles.due == datetime(2026, 10, 9, tzinfo=CHINA)
    capped = settle(
        OPENING, {"articles_of_association": "promise", "premises_proof": UPLOAD}, cap_seconds=3
    )
    assert capped["articles_of_association"].due == FRIDAY + timedelta(seconds=3)


def test_what_cannot_be_promised_or_committed_is_said_so() -> None:
    with pytest.raises(MissingMaterials) as refused:
        settle(
            OPENING,
            {"articles_of_association": "commitment", "premises_proof": "promise", "logo": UPLOAD},
        )
    said = {e["loc"][0]: e["msg"] for e in refused.value.errors}
    assert said == {
        "articles_of_association": "公司章程 articles of association cannot be replaced by a "
        "commitment",
        "premises_proof": "住所使用证明 proof of the registered premises cannot be promised "
        "(no 容缺 for it)",
        "logo": "enterprise_opening has no such material",
    }


def test_a_material_is_needed_in_its_situation_and_for_the_matters_that_run() -> None:
    kinship = {"kinship_proof": UPLOAD}
    assert set(settle(AFTER_DEATH, kinship, values={})) == {"kinship_proof"}
    with pytest.raises(MissingMaterials, match="1 materials"):
        settle(AFTER_DEATH, kinship, values={"had_driving_licence": True})
    committed = settle(
        AFTER_DEATH,
        {**kinship, "driving_licence_document": "commitment"},
        values={"had_driving_licence": True},
    )
    assert committed["driving_licence_document"].settled is Settled.COMMITTED
    # the matters it goes to are not in the plan: not needed, and not an error if given
    skipped = {
        "housing_fund_withdrawal",
        "pension_account_inheritance",
        "medical_account_inheritance",
    }
    tasks = {m.id for m in AFTER_DEATH.matters} - skipped
    assert settle(AFTER_DEATH, kinship, tasks=tasks) == {}
