"""structlog as JSON lines through orjson, with personal data masked."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog
from structlog.typing import Processor

PII_KEYS = frozenset(
    {"name", "id_number", "phone", "applicant", "payload", "form", "mother_id", "father_id"}
)


def mask_pii(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace values under personal-data keys, so no name, ID or phone is logged in clear."""
    for key in PII_KEYS.intersection(event):
        event[key] = "***"
    return event


def configure(level: str = "INFO", **always: str) -> None:
    """Configure structlog and the stdlib root logger for one process, so every line is JSON,
    those of aiokafka, Faust, uvicorn and temporalio too; `always` is added to every line (a
    warning that must not be missed)."""

    def add_always(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        event.update(always)
        return event

    shared: list[Processor] = [
        add_always,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        mask_pii,
        structlog.processors.format_exc_info,
    ]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    logging.basicConfig(handlers=[handler], level=level, force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per call is noise
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            *shared,
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        logger_factory=structlog.BytesLoggerFactory(sys.stderr.buffer),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        cache_logger_on_first_use=True,
    )


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
