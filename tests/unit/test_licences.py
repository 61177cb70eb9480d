import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import cast

import pytest
from temporalio.client import Client

from infra import database
from infra.settings import Settings
from one_things import Applicant, form_model, load_catalogue, plan
from one_things.forms import with_applicant
from one_things.licences import ELicence, content_hash, holders, licence_id, prefill
from orchestrator.cli.demo import example
from orchestrator.intake.service import Intake, SubmitApplication
from orchestrator.stores.audit import audit_trail
from orchestrator.stores.library import LicenceLibrary
from orchestrator.stores.material_store import material_store

CATALOGUE = load_catalogue()
DISABILITY = CATALOGUE.get("disability_services")
PERSON = str(DISABILITY.example.form["person_id"])


def licence(kind: str, holder: str, **data: str) -> ELicence:
    return ELicence(
        id=licence_id(kind, "ot-old", "t"),
        type=kind,
        issuer="dpf",
        holder=holder,
        issued_on=date(2026, 1, 2),
        content_hash=content_hash(kind, "dpf", holder, dict(data)),
        data=dict(data),
        application_id="ot-old",
        task_id="t",
    )


def disability_plan(held: list[ELicence]):  # type: ignore[no-untyped-def]
    example = DISABILITY.example
    form = form_model(DISABILITY).model_validate(example.form)
    return plan(DISABILITY, Applicant.model_validate(example.applicant), form, held=held)


def test_a_held_licence_skips_its_matter_and_feeds_its_dependants() -> None:
    card = licence("disability_certificate", PERSON, disability_certificate_no="DPF-1")
    snapshot = disability_plan([card])
    skipped = {s.matter: s for s in snapshot.skipped}
    assert skipped["disability_certificate"].licence_id == card.id
    assert "already held as e-licence" in skipped["disability_certificate"].reason
    care = next(t for t in snapshot.tasks if t.task_id == "care_subsidy")
    assert care.depends_on == [] and care.upstream == {}
    assert care.payload["disability_certificate_no"] == "DPF-1"


def test_a_licence_of_someone_else_or_without_the_output_skips_nothing() -> None:
    others = licence("disability_certificate", "110105195803150017", disability_certificate_no="X")
    incomplete = licence("disability_certificate", PERSON)
    for held in ([others], [incomplete], []):
        snapshot = disability_plan(held)
        assert "disability_certificate" in {t.task_id for t in snapshot.tasks}
        certificate = next(t for t in snapshot.tasks if t.task_id == "disability_certificate")
        assert certificate.licences == {"disability_certificate_no": "disability_certificate"}
        assert certificate.licence_holder == PERSON


def test_prefill_takes_left_out_fields_from_the_newest_own_licence() -> None:
    change = CATALOGUE.get("enterprise_change")
    own = [
        licence("business_licence", "X", company_name="新公司", unified_social_credit_code="C2"),
        licence("business_licence", "X", company_name="旧公司", unified_social_credit_code="C1"),
    ]
    form, filled = prefill(change, {"change_items": "名称变更"}, own)
    assert filled == ["company_name"] and form["company_name"] == "新公司"
    form, filled = prefill(change, {"change_items": "名称变更", "company_name": "自填"}, own)
    assert filled == [] and form["company_name"] == "自填"
    assert prefill(change, {}, []) == ({}, [])


def test_an_of_applicant_field_is_the_applicant_s_own_number_or_refused() -> None:
    change = CATALOGUE.get("enterprise_change")
    code = "91440101MA5CXXXX1B"
    assert with_applicant(change, {}, code) == {"credit_code": code}
    assert (
        with_applicant(change, {"credit_code": code.lower()}, code)["credit_code"] == code.lower()
    )
    with pytest.raises(ValueError, match="applicant's own number") as refused:
        with_applicant(change, {"credit_code": "91440101MA5CYYYY1B"}, code)
    assert refused.value.args[0]["loc"] == ("credit_code",)


def test_holders_are_the_applicant_and_the_once_per_holder_subjects() -> None:
    assert holders(DISABILITY, "44010619950808331x", {"person_id": "110105195803150017"}) == {
        "44010619950808331X",
        "110105195803150017",
    }


def test_the_library_gives_intake_the_newest_licence_of_each_type(tmp_path: Path) -> None:
    url = database.sqlite_url(tmp_path / "licences.db")
    database.migrate(url)
    library = LicenceLibrary(database.engine(url))
    older = licence("business_licence", "X", company_name="旧公司")
    newer = older.model_copy(
        update={"id": "newer", "issued_on": date(2026, 3, 4), "data": {"company_name": "新公司"}}
    )
    other = licence("disability_certificate", "X").model_copy(update={"id": "other"})
    library.issue([older, newer, other, licence("business_licence", "Y")])
    assert [lic.id for lic in library.held_by(["X"])] == ["newer", "other", older.id]
    assert [lic.id for lic in library.current_of(["X"])] == ["newer", "other"]


class LookedUpOffTheLoop(Exception):
    """Stops the intake once the library was asked."""


async def test_the_intake_reads_the_library_off_its_event_loop(tmp_path: Path) -> None:
    """A library in PostgreSQL answers over the network: the API's loop must not wait on it."""
    asked_in: list[int] = []

    class Library(LicenceLibrary):
        def current_of(self, holders: Iterable[str]) -> list[ELicence]:
            asked_in.append(threading.get_ident())
            raise LookedUpOffTheLoop

    settings = Settings(state_dir=tmp_path)
    for name in ("licences", "audit"):
        database.migrate(database.url_of(settings, name))
    library = Library(database.engine(database.url_of(settings, "licences")))
    store, trail = material_store(settings), audit_trail(settings)
    intake = Intake(settings, CATALOGUE, cast(Client, None), library, store, trail)
    body = SubmitApplication.model_validate(example("retirement"))
    with pytest.raises(LookedUpOffTheLoop):
        await intake.start(body, None, "portal", started_by="ot-parent")
    assert asked_in and asked_in != [threading.get_ident()]
