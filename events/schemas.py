"""JSON Schemas and the AsyncAPI document, so a department builds on them without our Python."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import orjson
import yaml

from events.asyncapi import document, schema_file
from events.contracts import CONTRACTS, DeadLetter
from events.envelope import ENVELOPES, EVENT_TYPES

ASYNCAPI_FILE = "asyncapi.yaml"


def _write_json(path: Path, schema: dict[str, object]) -> Path:
    path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    return path


def export(
    directory: Path,
    departments: list[str],
    matters: Mapping[str, Sequence[str]] | None = None,
) -> list[Path]:
    """Write a JSON Schema per contract (the CloudEvents envelope around it), the dead letter's
    schema, and the AsyncAPI 3 document of every topic, into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for contract in CONTRACTS:
        schema = ENVELOPES[contract].model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = contract.__name__
        schema["description"] = (
            f"CloudEvents 1.0 structured envelope, type {EVENT_TYPES[contract]!r}, "
            f"keyed by application id. {(contract.__doc__ or '').strip()}"
        )
        written.append(_write_json(directory / schema_file(contract), schema))
    dead_letter = DeadLetter.model_json_schema()
    dead_letter["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    written.append(_write_json(directory / schema_file(DeadLetter), dead_letter))
    asyncapi = directory / ASYNCAPI_FILE
    asyncapi.write_text(
        yaml.safe_dump(document(departments, matters=matters), sort_keys=False, allow_unicode=True)
    )
    written.append(asyncapi)
    return written
