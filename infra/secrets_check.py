"""What is not a secret, refused by every process at its start: a development key, a value of
the repository's own manifests, a key shorter than 32 bytes, or a public key that is not one.

Every setting is gone through, so a key setting added later is checked with nothing added
here: a secret is a `SecretStr` at any depth (in maps, in models) or a model's field hidden
from its repr (an API key); a plain string under a `*_key` or `*_keys` setting is a public
key. A problem names the setting and why, never the value.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, SecretStr

SHORTEST = 32  # bytes
PLACEHOLDER = "replace-me"
DEVELOPMENT = "onething-development"
DEPLOY = Path(__file__).parent / "deploy"
MANIFESTS = (DEPLOY / "k8s" / "secret.yaml", DEPLOY / "compose.yaml")
# issued by another system (a broker, a database, an object store, a department's HTTP
# service): a placeholder is refused, but their length is theirs to choose
CREDENTIALS = frozenset(
    {
        "kafka_sasl_password",
        "database_url",
        "materials_s3_access_key",
        "materials_s3_secret_key",
        "department_credentials",
    }
)
PUBLIC_KEYS = frozenset({"identity_key"})  # a secret here would let its holders mint assertions


@dataclass(frozen=True)
class Leaf:
    """One value of a key setting: where it is (`reply_keys[k1]`), its field, and itself."""

    where: str
    field: str
    value: str
    secret: bool


def leaves(settings: BaseModel) -> Iterator[Leaf]:
    for name in type(settings).model_fields:
        yield from _walk(name, name, getattr(settings, name), hidden=False)


def _walk(
    field: str, where: str, value: object, hidden: bool, in_model: bool = False
) -> Iterator[Leaf]:
    if isinstance(value, SecretStr):
        yield Leaf(where, field, value.get_secret_value(), secret=True)
    elif isinstance(value, str):
        if hidden or (not in_model and field.endswith(("_key", "_keys"))):
            yield Leaf(where, field, value, secret=hidden)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _walk(field, f"{where}[{key}]", item, hidden, in_model)
    elif isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            item = getattr(value, name)
            yield from _walk(field, f"{where}.{name}", item, info.repr is False, in_model=True)


def problems(settings: BaseModel) -> list[str]:
    """Each setting that holds no real secret, and why."""
    found = []
    for leaf in leaves(settings):
        why = _why_not(leaf, _development_values(type(settings)), manifest_values())
        if why:
            found.append(f"{leaf.where} (ONETHING_{leaf.field.upper()}) {why}")
    return found


def _why_not(leaf: Leaf, development: frozenset[str], manifests: frozenset[str]) -> str:
    value = leaf.value
    if PLACEHOLDER in value.lower():
        return "is a placeholder from the repository's manifests"
    if leaf.field in CREDENTIALS:
        return ""
    if value in manifests:
        return "is a value from the repository's manifests"
    if value in development or DEVELOPMENT in value:
        return "is a development key"
    if leaf.field in PUBLIC_KEYS or not leaf.secret:
        return "" if _is_public_key(value) else "is not a PEM public key"
    if len(value.encode()) < SHORTEST:
        return f"is shorter than {SHORTEST} bytes"
    if value.lstrip().startswith("-----BEGIN") and not _is_private_key(value):
        return "is not a PEM private key"
    return ""


def _is_public_key(value: str) -> bool:
    try:
        serialization.load_pem_public_key(value.encode())
    except (ValueError, TypeError):
        return False
    return True


def _is_private_key(value: str) -> bool:
    try:
        serialization.load_pem_private_key(value.encode(), password=None)
    except (ValueError, TypeError):
        return False
    return True


@functools.cache
def _development_values(model: type[BaseModel]) -> frozenset[str]:
    """The secrets the code ships as defaults: a development deployment's, never a province's."""
    return frozenset(
        leaf.value
        for name, info in model.model_fields.items()
        for leaf in _walk(name, name, info.get_default(call_default_factory=True), hidden=False)
        if leaf.secret
    )


@functools.cache
def manifest_values() -> frozenset[str]:
    """Every value the shipped manifests give a setting (the Secret's, Compose's)."""
    found: set[str] = set()
    for path in MANIFESTS:
        if path.exists():
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                found.update(_settings_values(document))
    return frozenset(found)


def _settings_values(node: Any, setting: bool = False) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, item in node.items():
            names_setting = str(key).lower().startswith("onething_")
            yield from _settings_values(item, setting or names_setting)
    elif isinstance(node, list):
        for item in node:
            yield from _settings_values(item, setting)
    elif isinstance(node, str) and setting:
        yield node
        if node.lstrip().startswith(("{", "[")):
            try:
                parsed = orjson.loads(node)
            except orjson.JSONDecodeError:
                return
            yield from _settings_values(parsed, setting=True)
