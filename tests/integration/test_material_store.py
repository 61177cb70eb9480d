"""The material stores: a folder, and an S3-compatible object store (moto's S3 server, on
this machine), behind the same interface; the links that let a department read one."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from minio import Minio
from moto.server import ThreadedMotoServer

from infra.sealing import TAG, Sealer, Unsealable
from infra.supervisor import free_port
from orchestrator.stores.materials import (
    FolderStore,
    Grant,
    MaterialLinks,
    MaterialStore,
)
from orchestrator.stores.s3 import S3Store

PDF = b"%PDF-1.4\n% a material\n%%EOF\n"
SEALER = Sealer({"k1": os.urandom(32)}, "k1")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["folder", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MaterialStore:
    if request.param == "folder":
        return FolderStore(tmp_path / "materials", max_bytes=1024, sealer=SEALER)
    endpoint = request.getfixturevalue("s3_endpoint")
    client = Minio(endpoint, access_key="test", secret_key="test-secret", secure=False)
    bucket = f"materials-{tmp_path.name[-20:].lower().replace('_', '-')}"
    return S3Store(client, bucket, 1024, SEALER)


def test_a_material_is_kept_by_its_content_hash_once(store: MaterialStore) -> None:
    digest = hashlib.sha256(PDF).hexdigest()
    assert not store.has(digest) and store.get(digest) is None  # its bucket not made yet
    kept = store.put(PDF, "application/pdf")
    assert (kept.sha256, kept.size) == (digest, len(PDF))
    assert store.put(PDF, "application/pdf") == kept
    assert store.has(digest)
    assert store.get(digest) == (PDF, "application/pdf")


def test_a_material_rests_sealed(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "materials", max_bytes=1024, sealer=SEALER)
    digest = store.put(PDF, "application/pdf").sha256
    resting = (tmp_path / "materials" / digest[:2] / digest).read_bytes()
    assert b"a material" not in resting and resting.startswith(TAG + b"k1\n")
    assert store.get(digest) == (PDF, "application/pdf")
    other = store.put(b"%PDF-1.4\n% someone else's\n", "application/pdf").sha256
    swapped = tmp_path / "materials" / other[:2] / other
    (tmp_path / "materials" / digest[:2] / digest).write_bytes(swapped.read_bytes())
    with pytest.raises(Unsealable, match="not the document of that hash"):
        store.get(digest)  # another applicant's document put in its place
    kept_before = hashlib.sha256(b"kept before sealing").hexdigest()
    (tmp_path / "materials" / kept_before[:2]).mkdir()
    (tmp_path / "materials" / kept_before[:2] / kept_before).write_bytes(b"kept before sealing")
    assert store.get(kept_before) == (b"kept before sealing", "application/octet-stream")


def test_an_empty_or_oversized_material_is_refused(store: MaterialStore) -> None:
    with pytest.raises(ValueError, match="empty"):
        store.put(b"", "application/pdf")
    with pytest.raises(ValueError, match="at most 1024 bytes"):
        store.put(b"x" * 1025, "application/pdf")


def test_a_link_reads_one_material_for_one_department_until_it_expires() -> None:
    links = MaterialLinks("http://api", {"k1": b"one", "k2": b"two"}, "k2")
    digest = hashlib.sha256(PDF).hexdigest()
    url = links.link(digest, "amr", "ot-1", "articles", timedelta(minutes=5))
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    assert url.startswith(f"http://api/v1/materials/{digest}?") and query["key"] == "k2"
    grant = Grant(
        sha256=digest,
        department="amr",
        application="ot-1",
        material="articles",
        expires=int(query["expires"]),
    )
    sig = query["sig"]
    assert links.check(grant, "k2", sig) == ""
    wrong = "the link's signature is wrong"
    for change in (
        {"department": "tax"},
        {"sha256": "0" * 64},
        {"application": "ot-2"},
        {"material": "premises"},
        {"expires": grant.expires + 1},
    ):
        assert links.check(grant.model_copy(update=change), "k2", sig) == wrong
    assert links.check(grant, "k9", sig) == "the link's key is unknown"
    old = links.link(digest, "amr", "ot-1", "articles", timedelta(seconds=-1))
    old_query = dict(part.split("=") for part in old.split("?")[1].split("&"))
    expired = grant.model_copy(update={"expires": int(old_query["expires"])})
    assert links.check(expired, "k2", old_query["sig"]) == "the link has expired"
    assert int(time.time()) < grant.expires
