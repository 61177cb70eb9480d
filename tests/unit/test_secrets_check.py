"""Every process refuses what is not a secret: a development key, a value of the shipped
manifests, a key shorter than 32 bytes, an identity key that is not a public key. Each is
named with why, never shown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import Field, SecretStr, ValidationError

from infra import keyset
from infra.secrets_check import MANIFESTS, problems
from infra.settings import Settings
from infra.signing import new_pair
from orchestrator import bootstrap

SECRET_YAML = MANIFESTS[0]
A_SECRET = "a-real-secret-of-forty-bytes-0123456789"  # 39 bytes


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    """Settings of a deployment with a key set, changed by what a test passes."""
    state = tmp_path_factory.mktemp("keyed")
    keyset.create_if_missing(state)

    def make(**change: Any) -> Settings:
        return Settings(state_dir=state, **change)

    return make


def placeholders() -> dict[str, str]:
    """Setting -> value of every key the shipped Secret gives a placeholder."""
    secret = yaml.safe_load(SECRET_YAML.read_text())
    return {
        name.removeprefix("onething_"): value
        for name, value in secret["stringData"].items()
        if name.startswith("onething_") and not name.endswith("_key_id")
    }


def test_a_key_set_holds_secrets_only(keyed: Callable[..., Settings]) -> None:
    assert problems(keyed()) == []


@pytest.mark.parametrize("setting", sorted(placeholders()))
def test_each_placeholder_of_the_shipped_secret_is_refused_by_name(
    keyed: Callable[..., Settings], setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"ONETHING_{setting.upper()}", placeholders()[setting])
    try:
        found = problems(keyed())
    except ValidationError as exc:  # not even a key's shape: the settings say which
        assert setting in str(exc)
        return
    assert found and all(f"(ONETHING_{setting.upper()})" in p for p in found), found
    assert all("replace-me" not in p for p in found)


def test_the_development_keys_are_refused(tmp_path: Path) -> None:
    text = " | ".join(problems(Settings(state_dir=tmp_path)))  # no key set: the code's defaults
    for where in ("reply_keys[dev]", "payload_keys[dev]", "applicant_ref_key", "tracking_link"):
        assert f"{where}" in text and "is a development key" in text
    assert "onething-development" not in text


def test_a_key_of_fewer_than_32_bytes_is_refused(keyed: Callable[..., Settings]) -> None:
    short = problems(keyed(reply_keys={"k1": "x" * 31}, material_link_keys={"m1": "y" * 32}))
    assert short == ["reply_keys[k1] (ONETHING_REPLY_KEYS) is shorter than 32 bytes"]
    portal = {"portal": {"key": "p" * 31, "role": "portal"}}
    assert problems(keyed(api_keys=portal)) == [
        "api_keys[portal].key (ONETHING_API_KEYS) is shorter than 32 bytes"
    ]


def test_the_identity_key_is_a_public_key_never_a_shared_secret(
    keyed: Callable[..., Settings],
) -> None:
    private, public = new_pair()
    refused = "identity_key (ONETHING_IDENTITY_KEY) is not a PEM public key"
    assert problems(keyed(identity_key=A_SECRET * 2)) == [refused]  # would be HS256
    assert problems(keyed(identity_key=private)) == [refused]
    assert problems(keyed(identity_key=public)) == []
    rsa_or_ec = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert problems(keyed(identity_key=rsa_or_ec.decode())) == []


def test_public_keys_must_be_public_keys(keyed: Callable[..., Settings]) -> None:
    private, public = new_pair()
    answer_keys = {"amr": {"a1": public, "a2": private}, "tax": {"t1": A_SECRET}}
    assert problems(keyed(department_answer_keys=answer_keys)) == [
        "department_answer_keys[amr][a2] (ONETHING_DEPARTMENT_ANSWER_KEYS) is not a PEM public key",
        "department_answer_keys[tax][t1] (ONETHING_DEPARTMENT_ANSWER_KEYS) is not a PEM public key",
    ]
    broken = {"amr": {"a1": "-----BEGIN PRIVATE KEY-----\n" + A_SECRET + "\n"}}
    assert problems(keyed(department_signing_keys=broken)) == [
        "department_signing_keys[amr][a1] (ONETHING_DEPARTMENT_SIGNING_KEYS) "
        "is not a PEM private key"
    ]


def test_a_key_setting_added_later_is_checked_with_nothing_added(tmp_path: Path) -> None:
    class Grown(Settings):
        receipt_signing_keys: dict[str, SecretStr] = Field(default_factory=dict)
        receipt_verify_keys: dict[str, str] = Field(default_factory=dict)

    keyset.create_if_missing(tmp_path)
    grown = Grown(
        state_dir=tmp_path,
        receipt_signing_keys={"r1": "short"},
        receipt_verify_keys={"r1": "replace-me"},
    )
    assert problems(grown) == [
        "receipt_signing_keys[r1] (ONETHING_RECEIPT_SIGNING_KEYS) is shorter than 32 bytes",
        "receipt_verify_keys[r1] (ONETHING_RECEIPT_VERIFY_KEYS) "
        "is a placeholder from the repository's manifests",
    ]


def test_another_systems_credentials_are_checked_for_placeholders_only(
    keyed: Callable[..., Settings],
) -> None:
    assert problems(keyed(kafka_sasl_password="short", materials_s3_access_key="AKIA1")) == []
    found = problems(keyed(kafka_sasl_password="replace-me"))
    assert found == [
        "kafka_sasl_password (ONETHING_KAFKA_SASL_PASSWORD) is a placeholder from the "
        "repository's manifests"
    ]


def test_a_value_of_the_manifests_is_refused_though_it_looks_like_a_key(
    keyed: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra import secrets_check

    shipped = "a-shipped-example-of-forty-bytes-012345"
    monkeypatch.setattr(secrets_check, "manifest_values", lambda: frozenset({shipped}))
    assert problems(keyed(reply_keys={"k1": shipped})) == [
        "reply_keys[k1] (ONETHING_REPLY_KEYS) is a value from the repository's manifests"
    ]


@pytest.mark.parametrize(
    "serve",
    [
        bootstrap.serve_api,
        bootstrap.serve_worker,
        bootstrap.serve_bridge,
        bootstrap.serve_departments,
    ],
)
def test_every_process_refuses_to_start_unless_insecure_open(
    keyed: Callable[..., Settings], serve: Callable[[Settings], None]
) -> None:
    with pytest.raises(SystemExit) as refused:
        serve(keyed(reply_keys={"k1": "replace-me: a reply key"}))
    message = str(refused.value)
    assert "reply_keys[k1] (ONETHING_REPLY_KEYS) is a placeholder" in message
    assert "a reply key" not in message and "ONETHING_INSECURE_OPEN=true" in message
    opened = bootstrap._closed(keyed(reply_keys={"k1": "x"}, insecure_open=True), "worker")
    assert opened == {
        "insecure_open": "reply_keys[k1] (ONETHING_REPLY_KEYS) is shorter than 32 bytes"
    }


def test_a_key_set_made_before_a_key_existed_gains_it_and_keeps_the_rest(tmp_path: Path) -> None:
    made = keyset.create_if_missing(tmp_path)
    older = orjson.loads(made.read_bytes())
    for added_since in ("tracking_link_keys", "department_answer_keys", "department_signing_keys"):
        del older[added_since]
    made.write_bytes(orjson.dumps(older))
    keyset.create_if_missing(tmp_path)
    grown = orjson.loads(made.read_bytes())
    assert {k: grown[k] for k in older} == older
    assert grown["tracking_link_keys"] and set(grown["department_answer_keys"]) >= {"amr", "tax"}
    assert made.stat().st_mode & 0o777 == 0o600
    again = Settings(state_dir=tmp_path)
    assert problems(again) == []
    private = again.answer_signing_key("amr")
    assert private and again.answer_verifiers()["amr"].knows(private[0])


def test_a_key_set_made_before_department_keys_were_bound_is_mended(tmp_path: Path) -> None:
    keyset.create_if_missing(tmp_path)
    old = orjson.loads(keyset.keyset_path(tmp_path).read_bytes())
    old["api_keys"] = {
        "operator": old["api_keys"]["operator"],
        "department": {"key": "d" * 32, "role": "department"},
    }
    keyset.keyset_path(tmp_path).write_bytes(orjson.dumps(old))
    keyset.create_if_missing(tmp_path)
    mended = Settings(state_dir=tmp_path)
    assert "department" not in mended.api_keys
    assert mended.api_keys["department-amr"].department == "amr"
    assert mended.api_keys["operator"].key == old["api_keys"]["operator"]["key"]
