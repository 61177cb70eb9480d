"""Connections from settings: what each Kafka, Temporal and department client is given."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import faust
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError
from temporalio.service import TLSConfig

from infra.connections import (
    department_client,
    faust_credentials,
    kafka_options,
    temporal_options,
)
from infra.settings import Settings


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "onething-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings.model_validate({"state_dir": tmp_path, **changes})


def test_the_embedded_broker_is_plain_and_paced(tmp_path: Path) -> None:
    plain = settings(tmp_path)
    assert kafka_options(plain) == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
        "ssl_context": None,
    }
    assert faust_credentials(plain) is None
    assert plain.paces_fetches
    assert not settings(tmp_path, kafka_bootstrap="kafka:9092").paces_fetches
    assert settings(tmp_path, kafka_bootstrap="kafka:9092", kafka_pace_fetches=True).paces_fetches


def test_sasl_ssl_with_scram_and_a_client_certificate(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    secured = settings(
        tmp_path,
        kafka_bootstrap="k1:9093,k2:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="onething",
        kafka_sasl_password="s3cret",
        kafka_ca_file=cert,
        kafka_cert_file=cert,
        kafka_key_file=key,
    )
    options = kafka_options(secured)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_username"] == "onething"
    assert options["sasl_plain_password"] == "s3cret"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert options["ssl_context"].get_ca_certs()  # the CA file was loaded
    credentials = faust_credentials(secured)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert "s3cret" not in repr(secured)


def test_settings_refuse_half_a_login(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    with pytest.raises(ValidationError, match="needs kafka_sasl_username and kafka_sasl_password"):
        settings(tmp_path, kafka_security_protocol="SASL_SSL", kafka_sasl_username="onething")
    with pytest.raises(ValidationError, match="kafka_cert_file and kafka_key_file go together"):
        settings(tmp_path, kafka_security_protocol="SSL", kafka_cert_file=certificate[0])


def test_a_secret_can_be_a_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "onething_kafka_sasl_password").write_text("from-a-file")
    read = Settings(
        _secrets_dir=secrets,  # type: ignore[call-arg]
        state_dir=tmp_path,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="onething",
    )
    assert kafka_options(read)["sasl_plain_password"] == "from-a-file"
    assert isinstance(faust_credentials(read), faust.SASLCredentials)


def test_temporal_mtls_or_an_api_key(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    assert temporal_options(settings(tmp_path))["tls"] is False
    mutual = temporal_options(
        settings(
            tmp_path,
            temporal_ca_file=cert,
            temporal_cert_file=cert,
            temporal_key_file=key,
            temporal_namespace="onething.a1b2c",
        )
    )
    assert isinstance(mutual["tls"], TLSConfig)
    assert mutual["tls"].client_cert == cert.read_bytes()
    assert mutual["namespace"] == "onething.a1b2c"
    cloud = temporal_options(settings(tmp_path, temporal_api_key="tcld-key"))
    assert cloud["tls"] is True and cloud["api_key"] == "tcld-key"


async def test_a_department_gets_its_own_credentials(
    tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    cert, key = certificate
    configured = settings(
        tmp_path,
        department_credentials={
            "psb": {"bearer_token": "psb-token"},
            "tax": {"cert_file": cert, "key_file": key, "ca_file": cert},
        },
    )
    async with department_client(configured, "psb", "https://psb.example") as psb:
        assert psb.headers["Authorization"] == "Bearer psb-token"
    async with department_client(configured, "tax", "https://tax.example") as tax:
        assert "Authorization" not in tax.headers
    assert "psb-token" not in str(configured.env().get("ONETHING_API_KEYS", ""))
    assert "psb-token" in configured.env()["ONETHING_DEPARTMENT_CREDENTIALS"]  # children need it
