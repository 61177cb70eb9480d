from pathlib import Path

import pytest
import yaml

from one_things import CATALOGUE_DIR, CatalogueError, load_catalogue, load_one_thing
from one_things.departments import DEPARTMENTS


def test_every_catalogue_file_loads() -> None:
    catalogue = load_catalogue()
    assert {ot.id for ot in catalogue} >= {"birth", "enterprise_opening"}
    assert set(catalogue.departments()) <= set(DEPARTMENTS)
    for ot in catalogue:
        assert ot.version
        for matter in ot.matters:
            assert matter.compensation or matter.irreversible


def broken(tmp_path: Path, edit: object) -> Path:
    """A copy of enterprise_opening.yaml changed by `edit(document)`."""
    document = yaml.safe_load((CATALOGUE_DIR / "enterprise_opening.yaml").read_text())
    edit(document)  # type: ignore[operator]
    path = tmp_path / "enterprise_opening.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def matter(document: dict, matter_id: str) -> dict:  # type: ignore[type-arg]
    return next(m for m in document["matters"] if m["id"] == matter_id)


@pytest.mark.parametrize(
    ("edit", "field", "message"),
    [
        (
            lambda d: matter(d, "business_registration").update(depends_on=["tax_registration"]),
            "matters.depends_on",
            "cycle business_registration -> tax_registration -> business_registration",
        ),
        (
            lambda d: matter(d, "seal_engraving").update(department="police"),
            "matters[1].department",
            "unknown department 'police'",
        ),
        (
            lambda d: matter(d, "seal_engraving")["inputs"].append("favourite_colour"),
            "matters[1].inputs",
            "unknown form field 'favourite_colour'",
        ),
        (
            lambda d: matter(d, "tax_registration").update(depends_on=[]),
            "matters[2].upstream",
            "needs 'business_registration' in depends_on",
        ),
        (
            lambda d: matter(d, "tax_registration").update(depends_on=["name_check"]),
            "matters[2].depends_on",
            "unknown matter 'name_check'",
        ),
        (
            lambda d: matter(d, "tax_registration").update(
                upstream=["business_registration.licence_colour"]
            ),
            "matters[2].upstream",
            "has no output 'licence_colour'",
        ),
        (
            lambda d: matter(d, "bank_account").update(irreversible=True),
            "matters.6",
            "either a compensation or irreversible",
        ),
        (
            lambda d: matter(d, "bank_account").update(when="company_name"),
            "matters[6].when",
            "not an optional form field",
        ),
        (
            lambda d: d["form"]["company_name"].update(type="colour"),
            "form.company_name.type",
            "Input should be",
        ),
        (lambda d: d.update(id="something_else"), "id", "must equal the file name"),
    ],
)
def test_validator_names_file_and_field(
    tmp_path: Path, edit: object, field: str, message: str
) -> None:
    with pytest.raises(CatalogueError) as caught:
        load_one_thing(broken(tmp_path, edit))
    assert caught.value.file == "enterprise_opening.yaml"
    assert caught.value.field == field
    assert message in caught.value.message
    assert str(caught.value).startswith(f"enterprise_opening.yaml: {field}: ")


def test_invalid_yaml_is_named(tmp_path: Path) -> None:
    path = tmp_path / "birth.yaml"
    path.write_text("id: birth\nmatters: [unclosed\n")
    with pytest.raises(CatalogueError, match=r"birth.yaml: <yaml>: not valid YAML"):
        load_one_thing(path)


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match=r"no \*\.yaml"):
        load_catalogue(tmp_path)


def test_each_department_has_a_contract_naming_what_it_must_return(tmp_path: Path) -> None:
    from one_things import department_contract, export_contracts, load_catalogue

    catalogue = load_catalogue()
    amr = department_contract(catalogue, "amr")
    registration = next(
        m
        for m in amr.matters
        if (m.one_thing, m.matter) == ("enterprise_opening", "business_registration")
    )
    assert "unified_social_credit_code" in registration.returns_on_approval
    assert "company_name" in registration.receives and registration.undo == "compensate"
    outputs = registration.approved_answer["properties"]["outputs"]
    assert outputs["required"] == registration.returns_on_approval
    assert outputs["additionalProperties"] is False
    tax = department_contract(catalogue, "tax")
    assert any("unified_social_credit_code" in m.receives for m in tax.matters)  # from upstream
    written = export_contracts(catalogue, tmp_path)
    assert {p.name for p in written} == {f"{d}.contract.json" for d in catalogue.departments()}
