"""Assertions good for one portal, once, for at most 15 minutes, with keys from a JWKS; tracking
links that stop with their portal's key and their revocation."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pydantic import SecretStr

from infra import database, keyset
from infra.api_keys import ApiKey
from infra.sealing import Sealer
from infra.settings import Settings
from orchestrator.api.tracking import LinkRefused, TrackingLinks
from orchestrator.errors import NotAuthenticated
from orchestrator.intake.identity import IdentityVerifier, issue_assertion
from orchestrator.intake.sealed import open_assertion, seal_assertion
from orchestrator.stores.revocations import Revocations

PERSON = "11010519491231002X"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    keyset.create_if_missing(tmp_path)
    made = Settings(state_dir=tmp_path)
    database.migrate(database.url_of(made, "links"))
    return made


def test_an_assertion_is_good_for_its_portal_once(settings: Settings) -> None:
    verifier = IdentityVerifier(settings)
    assertion = issue_assertion(settings, PERSON, portal="portal-a")
    with pytest.raises(NotAuthenticated, match="issued for 'portal-a', not for 'portal-b'"):
        verifier.vouch(assertion, "portal-b")
    assert verifier.vouch(assertion, "portal-a").subject == PERSON
    with pytest.raises(NotAuthenticated, match="jti was used before"):
        verifier.vouch(assertion, "portal-a")


def test_the_same_use_again_is_no_second_use(settings: Settings) -> None:
    verifier = IdentityVerifier(settings)
    assertion = issue_assertion(settings, PERSON, portal="portal-a")
    verifier.vouch(assertion, "portal-a", use="ot-1")
    verifier.vouch(assertion, "portal-a", use="ot-1")  # the request retried, redelivered
    with pytest.raises(NotAuthenticated, match="jti"):
        verifier.vouch(assertion, "portal-a", use="ot-2")


def test_an_assertion_lives_at_most_15_minutes_and_names_its_portal_and_jti(
    settings: Settings,
) -> None:
    verifier = IdentityVerifier(settings)
    with pytest.raises(NotAuthenticated, match="longer than 15 minutes"):
        verifier.vouch(issue_assertion(settings, PERSON, portal="p", minutes=16), "p")
    assert settings.identity_signing_key is not None
    key = settings.identity_signing_key.get_secret_value()
    now = datetime.now(UTC)
    base = {
        "sub": PERSON,
        "iss": settings.identity_issuer,
        "aud": settings.identity_audience,
        "azp": "p",
        "jti": "j",
        "iat": now,
        "exp": now + timedelta(minutes=5),
    }
    for claim in ("azp", "jti", "iat"):
        lacking = jwt.encode({k: v for k, v in base.items() if k != claim}, key, "EdDSA")
        with pytest.raises(NotAuthenticated, match=claim):
            verifier.vouch(lacking, "p")


@pytest.fixture
def jwks() -> Iterator[tuple[str, dict[str, Ed25519PrivateKey]]]:
    """An identity provider publishing its public keys by `kid` (rotate: add a key)."""
    keys: dict[str, Ed25519PrivateKey] = {"one": Ed25519PrivateKey.generate()}

    class Published(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            public = [
                {
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "kid": kid,
                    "x": base64.urlsafe_b64encode(k.public_key().public_bytes_raw())
                    .rstrip(b"=")
                    .decode(),
                }
                for kid, k in keys.items()
            ]
            body = json.dumps({"keys": public}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Published)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", keys
    server.shutdown()


def test_the_providers_keys_come_from_a_jwks_and_rotate(
    settings: Settings, jwks: tuple[str, dict[str, Ed25519PrivateKey]]
) -> None:
    url, keys = jwks
    from_jwks = settings.model_copy(update={"identity_jwks_url": url})
    verifier = IdentityVerifier(from_jwks, jwks_refresh_seconds=0)

    def signed_by(kid: str) -> str:
        pem = keys[kid].private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        dev = settings.model_copy(update={"identity_signing_key": SecretStr(pem.decode())})
        claims = jwt.decode(
            issue_assertion(dev, PERSON, portal="p"), options={"verify_signature": False}
        )
        return jwt.encode(claims, pem, "EdDSA", headers={"kid": kid})

    assert verifier.vouch(signed_by("one"), "p").subject == PERSON
    keys["two"] = Ed25519PrivateKey.generate()  # rotated: a kid not yet cached is fetched
    assert verifier.vouch(signed_by("two"), "p").subject == PERSON
    with pytest.raises(NotAuthenticated):
        verifier.vouch(issue_assertion(settings, PERSON, portal="p"), "p")  # no kid of theirs


def test_a_sealed_assertion_opens_only_with_the_payload_keys(settings: Settings) -> None:
    assertion = issue_assertion(settings, PERSON, portal="p")
    sealed = seal_assertion(Sealer.of(settings), assertion)
    assert PERSON not in sealed and assertion not in sealed
    assert open_assertion(Sealer.of(settings), sealed) == assertion
    stranger = Sealer({"other": bytes(32)}, "other")
    with pytest.raises(NotAuthenticated, match="cannot be opened"):
        open_assertion(stranger, sealed)


def test_a_link_stops_with_its_portals_key(settings: Settings) -> None:
    portals = {"portal-a": ApiKey(key="a" * 32, role="portal")}
    link = TrackingLinks(settings.model_copy(update={"api_keys": portals}))
    token = link.issue("ot-" + "0" * 32, "portal-a", "http://x").token
    assert link.verify(token).portal == "portal-a"
    removed = TrackingLinks(settings.model_copy(update={"api_keys": {}}))
    with pytest.raises(LinkRefused, match="'portal-a' has no key"):
        removed.verify(token)


def test_a_revocation_covers_the_links_given_until_then(settings: Settings) -> None:
    revocations = Revocations.of(settings)
    assert revocations.revoked_at("ot-1") is None
    now = time.time()
    revocations.revoke("ot-1", now)
    revocations.revoke("ot-1", now + 1)
    assert revocations.revoked_at("ot-1") == now + 1
