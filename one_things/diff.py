"""What changed between two versions of a one thing: its matters, form fields, dependencies
and limits (`onething catalogue diff ONE_THING V1 V2`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from one_things.schema import OneThing

NOT_COMPARED = {"matters", "materials", "form", "example", "version"}


def diff(old: OneThing, new: OneThing) -> list[str]:
    """One line per change: `+` added, `-` removed, `~` changed (old → new)."""
    before, after = old.model_dump(mode="json"), new.model_dump(mode="json")
    added = new.model_dump(mode="json", exclude_defaults=True)  # an addition, as written
    lines = _changed("", before, after, (set(before) | set(after)) - NOT_COMPARED)
    lines += _named("form field", before["form"], after["form"], added["form"])
    lines += _named(
        "matter",
        {m["id"]: m for m in before["matters"]},
        {m["id"]: m for m in after["matters"]},
        {m["id"]: m for m in added["matters"]},
    )
    lines += _named(
        "material",
        {m["id"]: m for m in before["materials"]},
        {m["id"]: m for m in after["materials"]},
        {m["id"]: m for m in added.get("materials", [])},
    )
    return lines


def _named(
    kind: str, before: Mapping[str, Any], after: Mapping[str, Any], added: Mapping[str, Any]
) -> list[str]:
    lines = [f"- {kind} {name}" for name in before if name not in after]
    lines += [f"+ {kind} {name}: {_show(added[name])}" for name in after if name not in before]
    for name in (n for n in after if n in before):
        keys = set(before[name]) | set(after[name])
        lines += _changed(f"{kind} {name}: ", before[name], after[name], keys)
    return lines


def _changed(
    prefix: str, before: Mapping[str, Any], after: Mapping[str, Any], keys: set[str]
) -> list[str]:
    return [
        f"~ {prefix}{key} {_show(before.get(key))} → {_show(after.get(key))}"
        for key in sorted(keys)
        if before.get(key) != after.get(key)
    ]


def _show(value: Any) -> str:
    if isinstance(value, dict):
        shown = {k: v for k, v in value.items() if v is not None and v != [] and v != {}}
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in shown.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return "none" if value is None else str(value)
