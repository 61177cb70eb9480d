"""structlog as JSON lines through orjson, with personal data masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

PII_KEYS = frozenset(
    {"name", "id_number", "phone", "applicant", "payload", "form", "mother_id", "father_id"}
)


def mask_pii(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace values under personal-data keys, so no name, ID or phone is logged in clear."""
    for key in PII_KEYS.intersection(event):
        event[key] = "***"
    return event


def configure(level: str = "INFO", **always: str) -> None:
    """Configure structlog (and the stdlib root logger) for one process; `always` is added to
    every line (a warning that must not be missed)."""

    def add_always(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.update(always)
        return event

    logging.basicConfig(stream=sys.stderr, level=level, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call is noise
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_always,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_pii,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        logger_factory=structlog.BytesLoggerFactory(sys.stderr.buffer),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
