"""How every process reaches Kafka, Temporal and department systems, from settings alone:
TLS, SASL (SCRAM or PLAIN), mutual TLS, a Temporal Cloud API key, per-department credentials.
Every Kafka client (aiokafka and Faust) and every Temporal client is built from here."""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from aiokafka.helpers import create_ssl_context
from temporalio.service import TLSConfig

from infra.settings import Settings

if TYPE_CHECKING:  # imported where used: the worker needs neither (7 MiB)
    import faust
    import httpx


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext | None:
    """The TLS context for the brokers, when the security protocol asks for TLS."""
    if not settings.kafka_security_protocol.endswith("SSL"):
        return None
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ca_file,
        certfile=settings.kafka_cert_file,
        keyfile=settings.kafka_key_file,
    )
    return context


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of every aiokafka client: where the brokers are and how to log in."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka,
        "security_protocol": settings.kafka_security_protocol,
        "ssl_context": kafka_ssl_context(settings),
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        assert settings.kafka_sasl_password is not None  # the settings insist on it
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
        }
    return options


def faust_credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """The same login for Faust apps (`broker_credentials`)."""
    import faust

    context = kafka_ssl_context(settings)
    if settings.kafka_security_protocol.startswith("SASL"):
        assert settings.kafka_sasl_password is not None
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password.get_secret_value(),
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism,
        )
    return faust.SSLCredentials(context) if context is not None else None


def temporal_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments of `Client.connect` besides the data converter: namespace, TLS, key."""
    files = (settings.temporal_ca_file, settings.temporal_cert_file, settings.temporal_key_file)
    tls: bool | TLSConfig = settings.temporal_tls or settings.temporal_api_key is not None
    if any(files) or settings.temporal_tls_server_name:
        ca, cert, private = (f.read_bytes() if f is not None else None for f in files)
        tls = TLSConfig(
            server_root_ca_cert=ca,
            client_cert=cert,
            client_private_key=private,
            domain=settings.temporal_tls_server_name,
        )
    api_key = settings.temporal_api_key
    return {
        "namespace": settings.temporal_namespace,
        "tls": tls,
        "api_key": api_key.get_secret_value() if api_key is not None else None,
    }


def department_client(settings: Settings, department: str, base_url: str) -> httpx.AsyncClient:
    """The HTTP client of one department's system, with the credentials set for it."""
    import httpx

    credentials = settings.department_credentials.get(department)
    headers: dict[str, str] = {}
    verify: ssl.SSLContext | bool = True
    if credentials is not None:
        if credentials.bearer_token is not None:
            headers["Authorization"] = f"Bearer {credentials.bearer_token.get_secret_value()}"
        if credentials.ca_file is not None or credentials.cert_file is not None:
            verify = ssl.create_default_context(cafile=credentials.ca_file)
            if credentials.cert_file is not None:
                verify.load_cert_chain(credentials.cert_file, credentials.key_file)
    return httpx.AsyncClient(
        base_url=base_url, timeout=settings.rest_timeout_seconds, headers=headers, verify=verify
    )
