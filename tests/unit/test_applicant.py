"""Who may apply: persons by any identity document, enterprises through a person."""

import pytest
from pydantic import ValidationError

from one_things import Applicant
from one_things.forms import ActingAs, IdType
from one_things.schema import ApplicantKind

PERSON = {"name": "张三", "id_number": "110105199003071239"}
ENTERPRISE = {
    "name": "广州一件事科技有限公司",
    "id_type": "credit_code",
    "id_number": "91440101MA5CXXXX1B",
}
POA = "ab" * 32


def test_persons_apply_with_a_resident_id_a_permit_or_a_passport() -> None:
    assert Applicant.model_validate(PERSON).kind is ApplicantKind.PERSON
    hk = Applicant.model_validate(
        {"name": "陳大文", "id_type": "hk_macao_permit", "id_number": "h12345678"}
    )
    assert hk.id_number == "H12345678"
    tw = Applicant.model_validate(
        {"name": "林小明", "id_type": "taiwan_permit", "id_number": "0123456701"}
    )
    assert tw.id_type is IdType.TAIWAN_PERMIT
    passport = {"name": "Anna Schmidt", "id_type": "passport", "id_number": "c01x00t47"}
    assert Applicant.model_validate({**passport, "nationality": "DEU"}).id_number == "C01X00T47"
    with pytest.raises(ValidationError, match="nationality"):
        Applicant.model_validate(passport)
    with pytest.raises(ValidationError, match="check digit"):
        Applicant.model_validate({**PERSON, "id_number": "110105199003071238"})
    with pytest.raises(ValidationError, match="H or M and 8 digits"):
        Applicant.model_validate({**PERSON, "id_type": "hk_macao_permit"})


def test_an_enterprise_acts_through_its_legal_representative_or_an_agent() -> None:
    with pytest.raises(ValidationError, match="acts through a person"):
        Applicant.model_validate(ENTERPRISE)
    lawful = {"acting_as": "legal_representative", **PERSON}
    enterprise = Applicant.model_validate({**ENTERPRISE, "representative": lawful})
    assert enterprise.kind is ApplicantKind.ENTERPRISE
    assert enterprise.actor == PERSON["id_number"]
    agent = {"acting_as": "agent", "name": "李四", "id_number": "440106199508083318"}
    with pytest.raises(ValidationError, match="power_of_attorney"):
        Applicant.model_validate({**ENTERPRISE, "representative": agent})
    with_poa = Applicant.model_validate(
        {**ENTERPRISE, "representative": {**agent, "power_of_attorney": POA}}
    )
    assert with_poa.representative is not None
    assert with_poa.representative.acting_as is ActingAs.AGENT
    with pytest.raises(ValidationError, match="is a person"):
        Applicant.model_validate({**ENTERPRISE, "representative": {**lawful, **ENTERPRISE}})


def test_a_person_may_send_an_agent_but_has_no_legal_representative() -> None:
    agent = {"acting_as": "agent", "name": "李四", "id_number": "440106199508083318"}
    person = Applicant.model_validate(
        {**PERSON, "representative": {**agent, "power_of_attorney": POA}}
    )
    assert person.actor == "440106199508083318"
    with pytest.raises(ValidationError, match="only an enterprise"):
        Applicant.model_validate(
            {**PERSON, "representative": {**agent, "acting_as": "legal_representative"}}
        )


def test_one_identity_one_key_whatever_else_holds_the_same_number() -> None:
    def person(id_type: str, number: str, nationality: str | None = None) -> Applicant:
        return Applicant(name="某某", id_type=id_type, id_number=number, nationality=nationality)

    keys = {
        person("hk_macao_permit", "H12345678").key,
        person("passport", "H12345678", "GBR").key,
        person("passport", "H12345678", "CAN").key,
        person("taiwan_permit", "12345678").key,
        person("passport", "12345678", "GBR").key,
    }
    assert len(keys) == 5
    resident = person("resident_id", "11010519491231002x")
    assert resident.key == resident.id_number == "11010519491231002X"  # kept as before
