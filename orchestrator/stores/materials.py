"""Materials (申请材料): documents an applicant uploads, kept by the sha256 of their content.

Only the hash travels in plans, histories and commands; a department fetches the content
through an authorised link: the API's `/v1/materials/{sha256}` with the department, an expiry
and an HMAC under a material-link key, so a link names one material for one department for a while.
The embedded setup keeps the content in a folder, one file per hash (written once,
atomically: two uploads of the same document are one file); a production deployment in an
S3-compatible object store (`materials_s3_endpoint`), one object per hash. Either way the
content rests sealed under the payload keys (the hash is of the document itself).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from pydantic import BaseModel, Field

from infra.sealing import Sealer, Unsealable
from infra.settings import Settings
from one_things.materials import SAMPLE, sample_material
from one_things.schema import OneThing


class StoredMaterial(BaseModel):
    """What an upload became: the content's hash, size and type."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=1)
    content_type: str


class MaterialStore(ABC):
    """Content-addressed documents, sealed at rest: what both backends share."""

    def __init__(self, max_bytes: int, sealer: Sealer) -> None:
        self.max_bytes = max_bytes
        self._sealer = sealer

    def put(self, content: bytes, content_type: str) -> StoredMaterial:
        if not content:
            raise ValueError("an empty material")
        if len(content) > self.max_bytes:
            raise ValueError(f"a material is at most {self.max_bytes} bytes")
        digest = hashlib.sha256(content).hexdigest()
        if not self.has(digest):
            self._keep(digest, self._sealer.seal_tagged(content), content_type)
        return StoredMaterial(sha256=digest, size=len(content), content_type=content_type)

    def get(self, sha256: str) -> tuple[bytes, str] | None:
        """The content and its type, or None if no such material was uploaded."""
        found = self._read(sha256)
        if found is None:
            return None
        stored, content_type = found
        content = self._sealer.open_tagged(stored)
        if hashlib.sha256(content).hexdigest() != sha256:  # another document put in its place
            raise Unsealable(f"material {sha256[:12]}… is not the document of that hash")
        return content, content_type

    def keep_samples(self, catalogue: Iterable[OneThing]) -> None:
        """Keep the sample documents the catalogue's examples name (development only)."""
        for one_thing in catalogue:
            for name, given in one_thing.example.materials.items():
                if given == SAMPLE:
                    self.put(sample_material(one_thing.id, name), "application/pdf")

    @abstractmethod
    def _keep(self, sha256: str, content: bytes, content_type: str) -> None: ...

    @abstractmethod
    def has(self, sha256: str) -> bool: ...

    @abstractmethod
    def _read(self, sha256: str) -> tuple[bytes, str] | None:
        """The stored (sealed) bytes and the content's type, or None."""


class FolderStore(MaterialStore):
    """One folder: `<aa>/<sha256>` and its `.type`."""

    def __init__(self, root: Path, max_bytes: int, sealer: Sealer) -> None:
        super().__init__(max_bytes, sealer)
        self._root = root

    def _path(self, sha256: str) -> Path:
        return self._root / sha256[:2] / sha256

    def _keep(self, sha256: str, content: bytes, content_type: str) -> None:
        path = self._path(sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._write(path.with_suffix(".type"), content_type.encode())
        self._write(path, content)

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        handle, temporary = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)

    def has(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def _read(self, sha256: str) -> tuple[bytes, str] | None:
        path = self._path(sha256)
        if not path.is_file():
            return None
        content = path.read_bytes()
        kind = path.with_suffix(".type")
        return content, kind.read_text() if kind.is_file() else "application/octet-stream"


class Grant(BaseModel):
    """What a link lets a department read: one material of one application, until `expires`."""

    sha256: str
    department: str
    application: str
    material: str
    expires: int


class MaterialLinks:
    """Signs and checks the links by which a department fetches a material."""

    def __init__(self, base_url: str, keys: dict[str, bytes], key_id: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._keys = keys
        self._key_id = key_id

    def _signature(self, key: bytes, grant: Grant) -> str:
        message = "/".join(
            (grant.sha256, grant.department, grant.application, grant.material, str(grant.expires))
        )
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()

    def link(
        self, sha256: str, department: str, application: str, material: str, valid: timedelta
    ) -> str:
        grant = Grant(
            sha256=sha256,
            department=department,
            application=application,
            material=material,
            expires=int((datetime.now(UTC) + valid).timestamp()),
        )
        signature = self._signature(self._keys[self._key_id], grant)
        query = urlencode(
            {**grant.model_dump(exclude={"sha256"}), "key": self._key_id, "sig": signature}
        )
        return f"{self._base_url}/v1/materials/{sha256}?{query}"

    def check(self, grant: Grant, key_id: str, sig: str) -> str:
        """Why the link does not authorise this read, or '' if it does."""
        key = self._keys.get(key_id)
        if key is None:
            return "the link's key is unknown"
        if not hmac.compare_digest(sig, self._signature(key, grant)):
            return "the link's signature is wrong"
        if grant.expires < datetime.now(UTC).timestamp():
            return "the link has expired"
        return ""


def material_links(settings: Settings) -> MaterialLinks:
    return MaterialLinks(
        settings.api_url, settings.secret_key_bytes("material_link"), settings.material_link_key_id
    )
