"""Materials in one bucket of an S3-compatible object store, an object per hash."""

from __future__ import annotations

import io

from minio import Minio
from minio.error import S3Error

from infra.sealing import Sealer
from infra.settings import Settings
from orchestrator.stores.materials import MaterialStore

MISSING = ("NoSuchKey", "NoSuchObject", "NoSuchBucket")


class S3Store(MaterialStore):
    """One bucket of an S3-compatible object store, an object per hash."""

    def __init__(self, client: Minio, bucket: str, max_bytes: int, sealer: Sealer) -> None:
        super().__init__(max_bytes, sealer)
        self._client = client
        self._bucket = bucket

    def _keep(self, sha256: str, content: bytes, content_type: str) -> None:
        def put() -> None:
            self._client.put_object(
                self._bucket, sha256, io.BytesIO(content), len(content), content_type=content_type
            )

        try:
            put()
        except S3Error as exc:
            if exc.code != "NoSuchBucket":
                raise
            self._client.make_bucket(self._bucket)  # the first material of the deployment
            put()

    def has(self, sha256: str) -> bool:
        try:
            self._client.stat_object(self._bucket, sha256)
        except S3Error as exc:
            if exc.code in MISSING:
                return False
            raise
        return True

    def _read(self, sha256: str) -> tuple[bytes, str] | None:
        try:
            response = self._client.get_object(self._bucket, sha256)
        except S3Error as exc:
            if exc.code in MISSING:
                return None
            raise
        try:
            kind = response.headers.get("Content-Type", "application/octet-stream")
            return response.read(), kind
        finally:
            response.close()
            response.release_conn()


def s3_store(settings: Settings) -> S3Store:
    """The deployment's bucket (`materials_s3_*`)."""
    assert settings.materials_s3_endpoint is not None
    keys = (settings.materials_s3_access_key, settings.materials_s3_secret_key)
    client = Minio(
        settings.materials_s3_endpoint,
        access_key=None if keys[0] is None else keys[0].get_secret_value(),
        secret_key=None if keys[1] is None else keys[1].get_secret_value(),
        secure=settings.materials_s3_secure,
        region=settings.materials_s3_region,
    )
    return S3Store(
        client, settings.materials_s3_bucket, settings.material_max_bytes, Sealer.of(settings)
    )
