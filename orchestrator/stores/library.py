"""The e-licence library: e-licences by holder, in the shared database (`infra/database.py`).

The worker issues them when an application is approved; the API reads them to prefill forms
and to skip matters whose licences the holder already holds. A province would point this at
its own e-licence library (电子证照库); the interface is `issue` and `held_by`.

Nothing personal rests in clear: a row names its holder by a pseudonym (an HMAC under the
pseudonym key) and keeps the holder and the certified data sealed under the payload keys.
Each licence is signed when issued (Ed25519, `licence_signing_keys`); prefill and skipping
(`current_of`) take only licences whose signature holds, listings (`held_by`) drop any whose
signature is wrong. Rows kept before sealing began are read as they are, and, unsigned, are
listed but never prefill or skip.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Engine, Select, and_, bindparam, func, select

from infra import database
from infra.database import insert_ignoring, licences
from infra.logging import get_logger
from infra.sealing import Sealer, Unsealable
from infra.settings import Settings
from infra.signing import Signer, Verifier
from one_things.licences import ELicence

log = get_logger(__name__)
COLUMNS = (
    "id",
    "type",
    "issuer",
    "holder",
    "issued_on",
    "content_hash",
    "data",
    "application_id",
    "task_id",
)
SEALED = "sealed:"  # a data column that holds the sealed holder, data and signature
NEWEST_FIRST = (licences.c.issued_on.desc(), licences.c.seq.desc())
VALID_OF_HOLDERS = (
    licences.c.revoked == 0,
    licences.c.holder.in_(bindparam("holders", expanding=True)),
)
SELECTED = select(*(licences.c[name] for name in COLUMNS)).select_from(licences)
HELD = SELECTED.where(*VALID_OF_HOLDERS).order_by(*NEWEST_FIRST)
RANKED = (
    select(licences.c.seq)
    .where(*VALID_OF_HOLDERS)
    .add_columns(
        func.row_number()
        .over(partition_by=(licences.c.holder, licences.c.type), order_by=NEWEST_FIRST)
        .label("rank")
    )
    .subquery()
)
CURRENT = SELECTED.join(RANKED, and_(RANKED.c.seq == licences.c.seq, RANKED.c.rank == 1)).order_by(
    *NEWEST_FIRST
)


def signing_bytes(licence: ELicence) -> bytes:
    """What an e-licence's signature covers: everything it says but the signature."""
    document = licence.model_dump(mode="json", exclude={"signature", "signature_key_id"})
    return b"onething e-licence:" + orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


class LicenceLibrary:
    """Issued e-licences, looked up by holder."""

    def __init__(
        self,
        db: Engine,
        sealer: Sealer,
        pseudonym_key: bytes,
        signer: Signer | None,
        verifier: Verifier,
    ) -> None:
        """`signer`: only the process that issues (the worker) holds one."""
        self._db = db
        self._sealer = sealer
        self._pseudonym_key = pseudonym_key
        self._signer = signer
        self._verifier = verifier

    def issue(self, issued: Iterable[ELicence]) -> None:
        """Keep each licence, signed; one already kept (same id) is left as it is."""
        if self._signer is None:
            raise RuntimeError("this process holds no licence signing key: it may only read")
        rows = [self._row(self._signed(lic, self._signer)) for lic in issued]
        if rows:
            with self._db.begin() as connection:
                connection.execute(insert_ignoring(licences, self._db), rows)

    def current_of(self, holders: Iterable[str]) -> list[ELicence]:
        """The newest valid licence of each type these holders hold, newest first, each
        proven by its signature: what prefill and skipping read (a holder who applied a
        thousand times has a thousand licences of a type; the application needs one)."""
        return [lic for lic in self._licences(CURRENT, holders) if self._proven(lic)]

    def held_by(self, holders: Iterable[str]) -> list[ELicence]:
        """The valid (not revoked) licences of these holders, newest first."""
        return [
            lic
            for lic in self._licences(HELD, holders)
            if lic.signature is None or self._proven(lic)
        ]

    def pseudonym(self, holder: str) -> str:
        digest = hmac.new(self._pseudonym_key, b"licence holder:" + holder.encode(), hashlib.sha256)
        return digest.hexdigest()

    @staticmethod
    def _signed(licence: ELicence, signer: Signer) -> ELicence:
        named = licence.model_copy(update={"signature_key_id": signer.key_id, "signature": None})
        return named.model_copy(update={"signature": signer.sign(signing_bytes(named))})

    def _proven(self, licence: ELicence) -> bool:
        proven = self._verifier.verify(
            licence.signature_key_id, signing_bytes(licence), licence.signature
        )
        if not proven:
            log.warning("licence_unproven", licence_id=licence.id)
        return proven

    def _row(self, licence: ELicence) -> dict[str, Any]:
        private = {
            "holder": licence.holder,
            "data": licence.data,
            "signature": licence.signature,
            "signature_key_id": licence.signature_key_id,
        }
        sealed = self._sealer.seal_tagged(orjson.dumps(private))
        return {
            **licence.model_dump(include=set(COLUMNS) - {"data", "issued_on", "holder"}),
            "holder": self.pseudonym(licence.holder),
            "issued_on": licence.issued_on.isoformat(),
            "data": SEALED + base64.b64encode(sealed).decode(),
        }

    def _licences(self, query: Select[Any], holders: Iterable[str]) -> list[ELicence]:
        wanted = set(holders)
        keys = sorted(wanted | {self.pseudonym(h) for h in wanted})  # and rows kept in clear
        with self._db.connect() as connection:
            rows = connection.execute(query, {"holders": keys}).mappings().all()
        found = []
        for row in rows:
            try:
                licence = self._licence(dict(row))
            except Unsealable:
                log.warning("licence_unsealable", licence_id=row["id"])
                continue
            if licence.holder in wanted:  # a row moved under someone else's pseudonym is not
                found.append(licence)
        return found

    def _licence(self, row: dict[str, Any]) -> ELicence:
        data = row["data"]
        stored = data.decode() if isinstance(data, bytes) else str(data)
        if not stored.startswith(SEALED):  # kept before sealing began
            return ELicence.model_validate({**row, "data": orjson.loads(stored)})
        private = orjson.loads(self._sealer.open_tagged(base64.b64decode(stored[len(SEALED) :])))
        return ELicence.model_validate({**row, **private})


def licence_library(settings: Settings) -> LicenceLibrary:
    """The deployment's library: signed by this process if it issues, sealed, pseudonymous."""
    return LicenceLibrary(
        database.engine(database.url_of(settings, "licences")),
        Sealer.of(settings),
        settings.applicant_ref_key.get_secret_value().encode(),
        settings.signer("licence"),
        settings.verifier("licence"),
    )
