"""E-licences (电子证照): documents an approved matter issued, kept for their holder.

A later application by the same holder is prefilled from them, and a matter that issues a
licence the holder already holds (`once_per_holder`) is skipped by the planner.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from one_things.schema import OneThing


class ELicence(BaseModel):
    """One e-licence: who issued what to whom, when, and a hash of its content."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    type: str
    issuer: str = Field(description="The department that issued it.")
    holder: str = Field(description="The identity key of whom it belongs to.")
    issued_on: date
    content_hash: str = Field(description="sha256 of type, issuer, holder and data.")
    data: dict[str, JsonValue] = Field(description="The fields the licence certifies.")
    application_id: str
    task_id: str
    signature_key_id: str | None = Field(default=None, description="The key that signed it.")
    signature: str | None = Field(
        default=None, description="Ed25519 over the rest of it, made when it was issued."
    )


def content_hash(kind: str, issuer: str, holder: str, data: dict[str, JsonValue]) -> str:
    document = {"type": kind, "issuer": issuer, "holder": holder, "data": data}
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def licence_id(kind: str, application_id: str, task_id: str) -> str:
    """The same for every retry of the issuing application, so issuing is idempotent."""
    digest = hashlib.sha256(f"{application_id}/{task_id}/{kind}".encode()).hexdigest()
    return f"{kind}:{digest[:20]}"


def holders(one_thing: OneThing, applicant: str, form: dict[str, Any]) -> set[str]:
    """Whose e-licences may matter for an application: the applicant's (by their identity
    key) and its holders'."""
    found = {applicant}
    for matter in one_thing.matters:
        value = form.get(matter.licence_holder)
        if matter.once_per_holder and isinstance(value, str):
            found.add(value.strip().upper())
    return found


def prefill(
    one_thing: OneThing, form: dict[str, Any], own: Sequence[ELicence]
) -> tuple[dict[str, Any], list[str]]:
    """The form with each left-out prefill field taken from the newest licence that has it.

    `own` are the applicant's own licences; returns the form and the fields filled.
    """
    filled = dict(form)
    names = []
    for name, spec in one_thing.form.items():
        if spec.prefill is None or filled.get(name) not in (None, ""):
            continue
        kind, _, key = spec.prefill.partition(".")
        source = next((lic for lic in own if lic.type == kind and key in lic.data), None)
        if source is not None:
            filled[name] = source.data[key]
            names.append(name)
    return filled, names
