"""The deployment's material store: its S3-compatible bucket if it has one, else a folder."""

from __future__ import annotations

from infra.sealing import Sealer
from infra.settings import Settings
from orchestrator.stores.materials import FolderStore, MaterialStore


def material_store(settings: Settings) -> MaterialStore:
    if settings.materials_s3_endpoint is None:
        return FolderStore(
            settings.materials_root, settings.material_max_bytes, Sealer.of(settings)
        )
    from orchestrator.stores.s3 import s3_store  # its client costs 9 MiB in every process

    return s3_store(settings)
