from pathlib import Path

import jsonschema
import orjson
import pytest
import yaml
from pydantic import ValidationError

from events import Action, Outcome, TaskCommand, TaskResult, dumps, loads, topics, wrap
from events.schemas import export
from tests.factories import task_command as command


def test_envelope_round_trip_keeps_cloudevents_attributes() -> None:
    raw = dumps(wrap(command()))
    event = loads(raw, TaskCommand)
    as_json = orjson.loads(raw)
    assert {"id", "source", "type", "specversion", "time", "subject", "datacontenttype"} <= set(
        as_json
    )
    assert as_json["specversion"] == "1.0"
    assert as_json["datacontenttype"] == "application/json"
    assert event.subject == "ot-1"
    assert event.data == command()


def test_idempotency_key_is_the_same_for_every_attempt() -> None:
    first, third = command(attempt=1), command(attempt=3, reply_token="b3RoZXI=")
    assert first.idempotency_key == third.idempotency_key == "ot-1/tax_registration/handle"
    assert command(action=Action.COMPENSATE).idempotency_key == "ot-1/tax_registration/compensate"


def test_a_wrong_idempotency_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="idempotency_key must be"):
        command(idempotency_key="ot-1/other/handle")


def test_a_refusal_without_reason_is_refused() -> None:
    with pytest.raises(ValidationError, match="needs a reason"):
        TaskResult(
            application_id="ot-1",
            task_id="t",
            attempt=1,
            department="amr",
            reply_token="x",
            outcome=Outcome.REJECTED,
        )


def test_loads_refuses_another_event_type_and_unknown_fields() -> None:
    raw = dumps(wrap(command()))
    with pytest.raises(ValidationError):
        loads(raw, TaskResult)
    tampered = orjson.loads(raw)
    tampered["data"]["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        loads(orjson.dumps(tampered), TaskCommand)


def test_messages_are_keyed_by_application_id() -> None:
    assert topics.key("ot-1") == b"ot-1"
    assert topics.department_tasks("amr") == "dept.amr.tasks"
    assert topics.all_topics(["tax", "amr"]) == [
        "dept.amr.tasks",
        "dept.tax.tasks",
        "onething.applications",
        "dept.results",
        "onething.status",
        "onething.dlq",
    ]


def test_exported_schemas_accept_our_messages(tmp_path: Path) -> None:
    written = {p.name: p for p in export(tmp_path, ["amr", "tax"])}
    assert set(written) == {
        "task-command.schema.json",
        "task-result.schema.json",
        "application-status-changed.schema.json",
        "task-state-changed.schema.json",
        "poor-rating-received.schema.json",
        "application-requested.schema.json",
        "dead-letter.schema.json",
        "asyncapi.yaml",
    }
    schema = orjson.loads(written["task-command.schema.json"].read_bytes())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(orjson.loads(dumps(wrap(command()))), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"specversion": "1.0"}, schema)


def test_asyncapi_document_covers_every_topic_and_message(tmp_path: Path) -> None:
    export(tmp_path, ["amr", "tax"])
    doc = yaml.safe_load((tmp_path / "asyncapi.yaml").read_text())
    assert doc["asyncapi"] == "3.0.0"
    channels = doc["channels"]
    addresses = {c["address"] for c in channels.values()}
    assert addresses == {
        "dept.{department}.tasks",
        "dept.results",
        "onething.status",
        "onething.applications",
        "onething.dlq",
    }
    assert channels["departmentTasks"]["parameters"]["department"]["enum"] == ["amr", "tax"]
    messages = doc["components"]["messages"]
    for message in messages.values():  # every payload is a schema written beside it
        assert (tmp_path / message["payload"]["$ref"]).is_file()
    assert messages["TaskCommand"]["contentType"] == "application/cloudevents+json"

    def resolve(ref: str) -> object:
        node: object = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]  # type: ignore[index]
        return node

    for operation in doc["operations"].values():  # every reference resolves
        assert resolve(operation["channel"]["$ref"])
        for message in operation["messages"]:
            assert resolve(resolve(message["$ref"])["$ref"])  # type: ignore[index]
    assert doc["operations"]["sendTaskResult"]["action"] == "send"


def test_envelopes_require_id_and_specversion_pin_type_and_keep_extensions() -> None:
    from events.envelope import ENVELOPES

    event = wrap(command())
    raw = event.model_dump(mode="json")
    with_trace = {**raw, "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    assert loads(orjson.dumps(with_trace), TaskCommand).data == event.data
    schema = ENVELOPES[TaskCommand].model_json_schema()
    assert {"id", "specversion", "type", "source", "subject", "data"} <= set(schema["required"])
    assert schema["properties"]["type"]["const"] == "org.onething.task.command.v1"
    for missing in ("id", "specversion"):
        with pytest.raises(ValidationError):
            loads(orjson.dumps({k: v for k, v in raw.items() if k != missing}), TaskCommand)
    with pytest.raises(ValidationError):
        loads(orjson.dumps({**raw, "type": "org.onething.task.result.v1"}), TaskCommand)


def test_asyncapi_has_each_department_and_the_approved_answer_of_each_matter() -> None:
    from events.asyncapi import document
    from one_things import load_catalogue, matters_by_department

    catalogue = load_catalogue()
    doc = document(catalogue.departments(), matters=matters_by_department(catalogue))
    assert doc["channels"]["hpfTasks"]["address"] == "dept.hpf.tasks"
    name = "Approved_amr_enterprise_opening_business_registration"
    assert name in doc["channels"]["results"]["messages"]
    ref = doc["components"]["messages"][name]["payload"]["$ref"]
    assert ref.startswith("./departments/amr.contract.json#/matters/")
