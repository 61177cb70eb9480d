"""A deployment's own keys, made once on its first start and kept in its state directory.

`onething up`, `onething demo` and the tests' deployments call `create_if_missing`; every
process's `Settings` then takes from `keys.json` each key its environment does not set. A
province sets its keys in the environment (or a secrets manager) instead: nothing is made.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any

import orjson

KEYSET = "keys.json"


def keyset_path(state_dir: Path) -> Path:
    return state_dir / KEYSET


def load(state_dir: Path) -> dict[str, Any]:
    """The key set kept in `state_dir`, or nothing if there is none."""
    file = keyset_path(state_dir)
    if not file.exists():
        return {}
    loaded: dict[str, Any] = orjson.loads(file.read_bytes())
    return loaded


def create_if_missing(state_dir: Path, catalogue_dir: Path | None = None) -> Path:
    """Make the key set, readable by its owner only; keep one that exists, adding only the
    keys it lacks (a setting added since it was made). Each department of the catalogue
    (`catalogue_dir`, default the shipped one) gets an API key of its own."""
    file = keyset_path(state_dir)
    kept = load(state_dir)
    # imported here: every process reads the key set, only a deployment's first start makes
    # one, so no other process loads key generation and the catalogue for it
    from infra.signing import new_pair
    from one_things import load_catalogue

    state_dir.mkdir(parents=True, exist_ok=True)
    departments = load_catalogue(catalogue_dir).departments()
    identity_private, identity_public = new_pair()
    keys = {
        "api_keys": {
            **{
                role: {"key": secrets.token_urlsafe(24), "role": role}
                for role in ("portal", "operator")
            },
            **_department_api_keys(departments),
        },
        "applicant_ref_key": secrets.token_urlsafe(32),
        "payload_keys": {"k1": base64.b64encode(os.urandom(32)).decode()},
        "payload_key_id": "k1",
        "reply_keys": {"k1": secrets.token_urlsafe(32)},
        "reply_key_id": "k1",
        "identity_key": identity_public,
        "identity_signing_key": identity_private,
        **_signing_keys(),
        **_purpose_keys(departments),
    }
    if not kept:
        _write(file, keys, first=True)
        return file
    grown = {**keys, **_bound_department_keys(kept, keys["api_keys"])}
    if grown != kept:
        _write(file, grown, first=False)
    return file


def _write(file: Path, keys: dict[str, Any], *, first: bool) -> None:
    """Write the key set, readable by its owner only: the first one never over another made
    meanwhile, a grown one in place of the old at once."""
    target = file if first else file.with_suffix(".new")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if first else os.O_TRUNC)
    with os.fdopen(os.open(target, flags, 0o600), "wb") as out:
        out.write(orjson.dumps(keys, option=orjson.OPT_INDENT_2))
    if not first:
        os.replace(target, file)


def _bound_department_keys(kept: dict[str, Any], made: dict[str, Any]) -> dict[str, Any]:
    """A key set made before department keys named their department: its unbound department
    key goes, and each department gets a key of its own."""
    api_keys = kept.get("api_keys", {})
    unbound = {
        n for n, k in api_keys.items() if k.get("role") == "department" and "department" not in k
    }
    if not unbound:
        return kept
    bound = {n: k for n, k in api_keys.items() if n not in unbound}
    return {**kept, "api_keys": {**made, **bound}}


def _department_api_keys(departments: list[str]) -> dict[str, Any]:
    """One API key per department of the catalogue, bound to its code (`department-amr`…)."""
    return {
        f"department-{code}": {
            "key": secrets.token_urlsafe(24),
            "role": "department",
            "department": code,
        }
        for code in departments
    }


def _purpose_keys(departments: list[str]) -> dict[str, Any]:
    """A key of its own for tracking links and for material links; for each department of the
    catalogue, a pair proving its answers (OneThing's departments process answers for all)."""
    from infra.signing import new_pair

    pairs = {code: new_pair() for code in departments}
    return {
        "tracking_link_keys": {"t1": secrets.token_urlsafe(32)},
        "tracking_link_key_id": "t1",
        "material_link_keys": {"m1": secrets.token_urlsafe(32)},
        "material_link_key_id": "m1",
        "department_signing_keys": {code: {"d1": private} for code, (private, _) in pairs.items()},
        "department_answer_keys": {code: {"d1": public} for code, (_, public) in pairs.items()},
    }


def _signing_keys() -> dict[str, Any]:
    """OneThing's own key pair for each purpose it signs (`infra.signing_keys`)."""
    from infra.signing import new_pair
    from infra.signing_keys import PURPOSES

    keys: dict[str, Any] = {}
    for purpose in PURPOSES:
        key_id = f"{purpose[0]}1"
        private, public = new_pair()
        keys[f"{purpose}_signing_keys"] = {key_id: private}
        keys[f"{purpose}_signing_key_id"] = key_id
        keys[f"{purpose}_verify_keys"] = {key_id: public}
    return keys
