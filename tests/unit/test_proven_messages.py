"""OneThing's signatures on commands and status events: what verifies, what does not, and the
example Kafka-native department reading the signed bytes exactly as OneThing writes them."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import orjson
import pytest

from events.contracts import ApplicationStatusChanged, CommandMaterial, TaskCommand
from events.envelope import dumps, wrap
from infra import keyset
from infra.message_signing import refusal, signed
from infra.settings import Settings
from infra.signing import Signer, new_pair
from tests.factories import task_command

EXAMPLE = Path(__file__).parents[2] / "adapters" / "examples" / "kafka_native" / "department.py"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    state = tmp_path_factory.mktemp("keys")
    keyset.create_if_missing(state)
    return Settings(state_dir=state)


def command(settings: Settings) -> TaskCommand:
    made = task_command(
        payload={"company_name": "横琴一件事科技有限公司", "capital": 1250000.5, "staff": 12},
        materials={
            "licence": CommandMaterial(
                title="营业执照", settled="provided", sha256="ab" * 32, url="https://x/y"
            )
        },
    )
    onething = settings.required_signer("command")
    return signed(made, onething)


def travelled(message: TaskCommand | ApplicationStatusChanged) -> dict[str, object]:
    """The message's data as a reader takes it off the topic."""
    data: dict[str, object] = orjson.loads(dumps(wrap(message)))["data"]
    return data


def test_a_signed_command_verifies_and_any_change_does_not(settings: Settings) -> None:
    verifier = settings.verifier("command")
    data = travelled(command(settings))
    assert refusal(data, verifier) is None
    for change in (
        {"department": "amr"},
        {"payload": {"company_name": "别人的公司"}},
        {"reply_token": "other"},
        {"signature_key_id": "elsewhere"},
    ):
        assert refusal({**data, **change}, verifier) is not None
    assert refusal({**data, "signature": None}, verifier) == "not signed by OneThing"


def test_a_command_signed_by_another_key_or_with_the_status_key_is_refused(
    settings: Settings,
) -> None:
    verifier = settings.verifier("command")
    private, _ = new_pair()
    kid = settings.command_signing_key_id or ""
    forged = travelled(signed(task_command(), Signer(kid, private)))
    assert refusal(forged, verifier) == "OneThing's signature does not match"
    status_key = settings.required_signer("status")
    other = travelled(signed(task_command(), status_key))
    assert refusal(other, verifier) is not None


def test_a_status_event_verifies_only_with_the_status_keys(settings: Settings) -> None:
    event = ApplicationStatusChanged(
        application_id="ot-1", one_thing="birth", status="approved", at=datetime.now(UTC)
    )
    statuses = settings.required_signer("status")
    data = travelled(signed(event, statuses))
    assert refusal(data, settings.verifier("status")) is None
    assert refusal({**data, "status": "rejected"}, settings.verifier("status"))
    assert refusal(data, settings.verifier("command")) is not None
    assert refusal(travelled(event), settings.verifier("status")) is not None


def test_the_worker_refuses_to_sign_without_a_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ONETHING_COMMAND_SIGNING_KEYS"):
        Settings(state_dir=tmp_path / "none").required_signer("command")
    keyset.create_if_missing(tmp_path)
    with pytest.raises(ValueError, match="command_signing_key_id is not in command_signing_keys"):
        Settings(state_dir=tmp_path, command_signing_key_id="c9")


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kafka_native_department", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_department_checks_the_bytes_onething_signs(
    settings: Settings, tmp_path: Path
) -> None:
    department = example()
    files = []
    for key_id, pem in settings.command_verify_keys.items():
        (tmp_path / f"{key_id}.pem").write_text(pem)
        files.append(f"{key_id}={tmp_path / f'{key_id}.pem'}")
    keys = department.public_keys(files)
    data = orjson.loads(dumps(wrap(command(settings))))["data"]  # as json.loads reads it too
    assert department.refusal(data, keys) is None
    assert department.refusal({**data, "payload": {}}, keys) == "signature does not match"
    assert department.refusal({**data, "signature_key_id": "zz"}, keys).startswith("signed with")
    assert department.refusal({**data, "signature": None}, keys) == "not signed"
