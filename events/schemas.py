"""JSON Schema export, so a department can build on our contracts without our Python."""

from __future__ import annotations

import re
from pathlib import Path

import orjson

from events.contracts import CONTRACTS
from events.envelope import ENVELOPES, EVENT_TYPES


def _file_name(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower() + ".schema.json"


def export(directory: Path) -> list[Path]:
    """Write one JSON Schema per contract (the full CloudEvents envelope) into `directory`."""
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
        path = directory / _file_name(contract.__name__)
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        written.append(path)
    return written
