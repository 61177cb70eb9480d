"""The API does not serve open by accident: no keys, no start; a deployment's key set closes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra import keyset
from infra.settings import Settings
from orchestrator.bootstrap import serve_api


def test_the_api_does_not_start_without_keys(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    with pytest.raises(SystemExit, match="ONETHING_INSECURE_OPEN") as refused:
        serve_api(settings)
    assert "no API keys" in str(refused.value)
    assert "applicant_ref_key (ONETHING_APPLICANT_REF_KEY) is a development key" in str(
        refused.value
    )


def test_a_key_set_made_on_first_start_closes_the_api_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = keyset.create_if_missing(tmp_path)
    assert made.stat().st_mode & 0o777 == 0o600
    settings = Settings(state_dir=tmp_path)
    assert settings.open_problems() == []
    assert {spec.role for spec in settings.api_keys.values()} == {
        "portal",
        "operator",
        "department",
    }
    before = made.read_bytes()
    assert keyset.create_if_missing(tmp_path) == made and made.read_bytes() == before
    explicit = Settings(state_dir=tmp_path, applicant_ref_key="set-by-the-province")
    assert explicit.applicant_ref_key.get_secret_value() == "set-by-the-province"
    for name, value in settings.env().items():  # what a child process is started with
        monkeypatch.setenv(name, value)
    child = Settings()
    assert child.identity_key == settings.identity_key and child.api_keys == settings.api_keys
    assert child.applicant_ref_key == settings.applicant_ref_key
