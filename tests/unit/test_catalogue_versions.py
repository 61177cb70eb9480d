"""Several live versions of a one thing: the newest for new applications, a diff between."""

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from one_things import CATALOGUE_DIR, load_catalogue
from one_things.diff import diff
from one_things.errors import CatalogueError, UnknownVersion
from one_things.loader import version_key
from orchestrator.cli.main import app

CATALOGUE = load_catalogue()
BIRTH_CHANGES = (Path(__file__).parent / "birth_2026.11.1_2026.11.2.diff").read_text().splitlines()


def test_a_new_application_gets_the_newest_version_the_older_stays_live() -> None:
    assert CATALOGUE.versions("birth") == ["2026.11.1", "2026.11.2", "2026.11.3"]
    assert CATALOGUE.get("birth").version == "2026.11.3"
    assert CATALOGUE.get("birth", "2026.11.1").matter("maternity_reimbursement").required
    assert [ot.id for ot in CATALOGUE].count("birth") == 1
    with pytest.raises(UnknownVersion):
        CATALOGUE.get("birth", "2025.1")


def test_versions_are_ordered_part_by_part() -> None:
    assert sorted(["2026.11.10", "2026.11.9", "2026.2"], key=version_key) == [
        "2026.2",
        "2026.11.9",
        "2026.11.10",
    ]


def test_the_diff_names_each_change() -> None:
    old, new = CATALOGUE.get("birth", "2026.11.1"), CATALOGUE.get("birth", "2026.11.2")
    assert diff(old, new) == BIRTH_CHANGES
    assert diff(new, new) == []
    assert diff(new, CATALOGUE.get("birth")) == [
        "+ material medical_invoices: {id: medical_invoices, title: 分娩医疗费用票据 delivery "
        "medical invoices, matters: [maternity_reimbursement], when: mother_insured, "
        "deferrable: P10WD}"
    ]


def test_the_command_prints_the_diff_and_names_the_live_versions() -> None:
    shown = CliRunner().invoke(app, ["catalogue", "diff", "birth", "2026.11.1", "2026.11.2"])
    assert shown.exit_code == 0 and shown.output.splitlines() == BIRTH_CHANGES
    missing = CliRunner().invoke(app, ["catalogue", "diff", "birth", "2026.11.1", "2030.1"])
    said = " ".join(missing.output.split())
    assert missing.exit_code == 1
    assert (
        said
        == "error: no live version '2030.1' of 'birth'; its live versions: 2026.11.1, 2026.11.2, "
        "2026.11.3"
    )


def copy_of_catalogue(tmp_path: Path) -> Path:
    shutil.copytree(CATALOGUE_DIR, tmp_path / "catalogue")
    return tmp_path / "catalogue"


def test_a_matter_keeps_its_department_and_outputs_across_live_versions(tmp_path: Path) -> None:
    directory = copy_of_catalogue(tmp_path)
    old = yaml.safe_load((directory / "birth@2026.11.1.yaml").read_text())
    assert old["matters"][-1]["id"] == "maternity_reimbursement"  # nothing takes its outputs
    old["matters"][-1]["outputs"] = ["another_ref"]
    (directory / "birth@2026.11.1.yaml").write_text(yaml.safe_dump(old, allow_unicode=True))
    with pytest.raises(CatalogueError) as refused:
        load_catalogue(directory)
    assert refused.value.file == "birth@2026.11.1.yaml"
    assert "an id of its own" in refused.value.message


def test_the_plain_file_holds_the_newest_version(tmp_path: Path) -> None:
    directory = copy_of_catalogue(tmp_path)
    newer = yaml.safe_load((directory / "birth.yaml").read_text())
    newer["version"] = "2027.1.1"
    (directory / "birth@2027.1.1.yaml").write_text(yaml.safe_dump(newer, allow_unicode=True))
    with pytest.raises(CatalogueError) as refused:
        load_catalogue(directory)
    assert (refused.value.file, refused.value.field) == ("birth.yaml", "version")
