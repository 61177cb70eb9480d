"""What the API process runs while it serves: made in its lifespan, used by every route."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from infra import kafka
from orchestrator.intake.service import Intake
from orchestrator.stores.audit import AuditTrail
from orchestrator.stores.commitments import CommitmentBook
from orchestrator.stores.library import LicenceLibrary
from orchestrator.stores.ratings import RatingBook
from orchestrator.stores.revocations import Revocations


@dataclass(frozen=True)
class Services:
    temporal: Client
    intake: Intake
    licences: LicenceLibrary
    ratings: RatingBook
    commitments: CommitmentBook
    audit: AuditTrail
    producer: kafka.Producer
    revocations: Revocations
