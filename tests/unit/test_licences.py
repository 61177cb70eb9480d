import threading
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import cast

import pytest
from temporalio.client import Client

from infra import database
from infra.sealing import Sealer
from infra.settings import Settings
from infra.signing import Signer, Verifier, new_pair
from one_things import Applicant, form_model, load_catalogue, plan
from one_things.forms import with_parties
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


def test_an_applicant_field_is_the_applicant_s_own_number_or_refused() -> None:
    change = CATALOGUE.get("enterprise_change")
    code = "91440101MA5CXXXX1B"
    assert with_parties(change, {}, code, []) == {"credit_code": code}
    assert (
        with_parties(change, {"credit_code": code.lower()}, code, [])["credit_code"] == code.lower()
    )
    with pytest.raises(ValueError) as refused:
        with_parties(change, {"credit_code": "91440101MA5CYYYY1B"}, code, ["91440101MA5CYYYY1B"])
    [error] = refused.value.args[0]
    assert error["loc"] == ("credit_code",) and "applicant's own number" in error["msg"]


def test_a_represented_field_names_the_applicant_or_whom_they_represent() -> None:
    retirement = CATALOGUE.get("retirement")
    form = {**example("retirement")["form"]}
    own, other = "110105195803150017", "44010619950808331X"
    assert with_parties(retirement, {**form, "retiree_id": own}, own, [own])["retiree_id"] == own
    allowed = with_parties(retirement, {**form, "retiree_id": other}, own, [own, other])
    assert allowed["retiree_id"] == other  # an agent the identity provider knows
    with pytest.raises(ValueError) as refused:
        with_parties(retirement, {**form, "retiree_id": other}, own, [own])
    assert [e["loc"] for e in refused.value.args[0]] == [("retiree_id",)]
    # a verified field names anyone: the department checks the relation
    verified = {**form, "retiree_id": own, "employer_credit_code": "91440101MA5CYYYY1B"}
    assert with_parties(retirement, verified, own, [own]) == verified


def test_every_field_naming_a_person_or_an_enterprise_says_whom_it_may_name() -> None:
    for one_thing in CATALOGUE:
        for name, spec in one_thing.form.items():
            if spec.type.value in ("resident_id", "credit_code"):
                assert spec.party is not None, f"{one_thing.id}.{name}"


def test_holders_are_the_applicant_and_the_once_per_holder_subjects() -> None:
    assert holders(DISABILITY, "44010619950808331X", {"person_id": "110105195803150017"}) == {
        "44010619950808331X",
        "110105195803150017",
    }


PRIVATE, PUBLIC = new_pair()


def test_the_library_gives_intake_the_newest_licence_of_each_type(tmp_path: Path) -> None:
    url = database.sqlite_url(tmp_path / "licences.db")
    database.migrate(url)
    library = LicenceLibrary(
        database.engine(url),
        Sealer({"k1": b"k" * 32}, "k1"),
        b"pseudonym-key",
        Signer("l1", PRIVATE),
        Verifier({"l1": PUBLIC}),
    )
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
    db = database.engine(database.url_of(settings, "licences"))
    library = Library(db, Sealer.of(settings), b"pseudonym-key", None, Verifier({}))
    store, trail = material_store(settings), audit_trail(settings)
    intake = Intake(settings, CATALOGUE, cast(Client, None), library, store, trail)
    body = SubmitApplication.model_validate(example("retirement"))
    with pytest.raises(LookedUpOffTheLoop):
        await intake.start(body, None, "portal", started_by="ot-parent")
    assert asked_in and asked_in != [threading.get_ident()]
