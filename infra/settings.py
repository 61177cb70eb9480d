"""Every setting of every process, from `ONETHING_*` environment variables."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

import orjson
from pydantic import BaseModel, Field, SecretStr, TypeAdapter, model_validator
from pydantic_settings import SettingsConfigDict

from infra import keyset
from infra.api_keys import ApiKey
from infra.purpose_keys import PurposeKeys
from infra.signing_keys import SigningKeys

# development only: a deployment made by `onething up` has its own keys (infra/keyset.py)
DEVELOPMENT_APPLICANT_REF_KEY = "onething-development-only"


class DepartmentCredentials(BaseModel):
    """How we prove ourselves to one department's HTTP system, and how we trust it."""

    bearer_token: SecretStr | None = Field(default=None, description="Sent as Authorization.")
    cert_file: Path | None = Field(default=None, description="Our client certificate (PEM).")
    key_file: Path | None = Field(default=None, description="Its private key (PEM).")
    ca_file: Path | None = Field(default=None, description="CA of the department's server.")


class Settings(PurposeKeys, SigningKeys):
    """One settings class: point every process at any Kafka and Temporal, no code change.

    A secret may also be a file named like its variable (`ONETHING_KAFKA_SASL_PASSWORD`) in
    `ONETHING_SECRETS_DIR` (Kubernetes and Compose secrets mount such files)."""

    model_config = SettingsConfigDict(
        hide_input_in_errors=True,
        env_prefix="ONETHING_",
        extra="ignore",
        secrets_dir=os.environ.get("ONETHING_SECRETS_DIR"),
    )

    state_dir: Path = Field(default=Path(".onething"), description="Pids, logs and data.")
    host: str = "127.0.0.1"
    instance_id: str = Field(
        default_factory=socket.gethostname,
        description="This replica's name in consumer groups (static membership): stable "
        "across its restarts, different for each replica.",
    )

    kafka_bootstrap: str | None = Field(
        default=None, description="host:port[,host:port]; default: the embedded broker."
    )
    kafka_port: int = Field(default=9092, description="Port of the embedded broker.")
    kafka_partitions: int = Field(default=4, ge=1)
    kafka_fetch_pacing_ms: float = Field(
        default=10, ge=0, description="Least time between two fetches of one busy consumer."
    )
    kafka_idle_fetch_pacing_ms: float = Field(
        default=10, ge=0, description="Most time between two fetches of one idle consumer."
    )
    kafka_replication: int = Field(default=1, ge=1)
    kafka_min_insync_replicas: int = Field(
        default=1, ge=1, description="min.insync.replicas of the topics `onething setup` makes."
    )
    kafka_pace_fetches: bool | None = Field(
        default=None,
        description="Pace consumers' fetches (for a broker that answers empty fetches at once); "
        "default: only on the embedded broker.",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ca_file: Path | None = Field(default=None, description="CA of the brokers (PEM).")
    kafka_cert_file: Path | None = Field(default=None, description="Client certificate (PEM).")
    kafka_key_file: Path | None = Field(default=None, description="Its private key (PEM).")
    kafka_principals: dict[str, str] = Field(
        default_factory=dict,
        description="Party -> its broker principal (`setup --acls`); default User:<party>.",
    )

    temporal_address: str | None = Field(
        default=None, description="host:port; default: the embedded dev server."
    )
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    temporal_namespace: str = "default"
    temporal_tls: bool = Field(
        default=False, description="TLS to Temporal (implied by a CA, a certificate or a key)."
    )
    temporal_ca_file: Path | None = Field(default=None, description="Temporal's CA (PEM).")
    temporal_cert_file: Path | None = Field(default=None, description="mTLS certificate (PEM).")
    temporal_key_file: Path | None = Field(default=None, description="Its private key (PEM).")
    temporal_tls_server_name: str | None = Field(
        default=None, description="The name the server's certificate is checked against."
    )
    temporal_api_key: SecretStr | None = Field(
        default=None, description="Temporal Cloud API key (TLS is then on)."
    )
    task_queue: str = "onething"
    worker_cached_runs: int = Field(
        default=10_000,
        ge=1,
        description="Workflow runs a worker keeps in memory between their workflow tasks, "
        "about 14 KiB each; a run not kept is rebuilt from its history when its next task "
        "comes (the SDK keeps 1,000).",
    )

    api_port: int = 8080
    http_keep_alive_s: int = Field(
        default=75,
        description="How long the HTTP servers keep an idle connection; longer than any "
        "client's or load balancer's idle timeout, so a server never closes a connection "
        "a client is reusing.",
    )
    applicant_ref_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_APPLICANT_REF_KEY),
        description="HMAC key of the pseudonymous applicant reference; the API refuses to "
        "start with the development default.",
    )
    api_keys: dict[str, ApiKey] = Field(
        default_factory=dict,
        description="Key name -> key and role. The API refuses to start without any.",
    )
    operator: str = Field(
        default="operator",
        description="The API key `onething ops` acts with, by its name: each operator their own.",
    )
    insecure_open: bool = Field(
        default=False,
        description="Development only: the API serves without keys and with the development "
        "pseudonym key, and every log line says so.",
    )
    identity_key: SecretStr | None = Field(
        default=None,
        description="The identity provider's key that verifies applicant assertions (JWT): "
        "a PEM public key (RS256, ES256, EdDSA) or a shared secret (HS256).",
    )
    identity_issuer: str = Field(
        default="onething-development-idp", description="`iss` of applicant assertions."
    )
    identity_audience: str = Field(default="onething", description="`aud` of applicant assertions.")
    identity_signing_key: SecretStr | None = Field(
        default=None,
        description="Development only: the private key of the embedded identity provider that "
        "`make demo` and the tests sign assertions with.",
    )
    identity_jwks_url: str | None = Field(
        default=None,
        pattern=r"^(https://|http://(127\.0\.0\.1|localhost)[:/])",
        description="Where the identity provider publishes its public keys (JWKS), over HTTPS "
        "(plain HTTP on loopback only): assertions are verified with the key their `kid` "
        "names, fetched and cached, so the provider can rotate. Instead of `identity_key`.",
    )
    tracking_link_days: float = Field(
        default=7, gt=0, le=14, description="How long an applicant's tracking link works (days)."
    )
    ui_origins: list[str] = Field(
        default_factory=list,
        description="Origins of Temporal Web UIs that may call the codec server (besides the "
        "embedded one).",
    )
    notification_webhooks: dict[str, str] = Field(
        default_factory=dict,
        description="Channel -> webhook URL (an SMS gateway, app push) that each status an "
        "application enters is posted to; none: no notifications.",
    )
    follow_up_working_days: int = Field(
        default=5, ge=1, description="A poor rating's follow-up is answered within it."
    )
    notification_attempts: int = Field(default=5, ge=1, description="Tries per notification.")
    bridge_port: int = Field(default=6066, description="The results bridge's metrics page.")
    bridge_concurrency: int = Field(default=16, ge=1)
    worker_metrics_port: int = Field(default=9464, description="The worker's Prometheus page.")
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector (http://host:4318) that receives every process's "
        "traces; none: no tracing.",
    )
    worker_health_port: int = Field(default=9466, description="The worker's /livez, /readyz.")
    api_metrics_port: int = Field(
        default=9468, description="The API's Prometheus page: a port of its own, not the API's."
    )
    metrics_refresh_seconds: float = Field(
        default=15, gt=0, description="How often the API gathers its gauges (not per scrape)."
    )
    departments_health_port: int = Field(
        default=9467, description="The departments process's /livez and /readyz."
    )

    adapter_concurrency: int = Field(
        default=256, ge=1, description="Commands in flight per department."
    )
    departments_group: str = Field(
        default="onething-departments",
        description="The departments process's consumer group (one for all its departments).",
    )

    catalogue_dir: Path | None = None
    database_url: SecretStr | None = Field(
        default=None,
        description="The shared database (postgresql+psycopg://…) of the e-licence library, "
        "ratings, file-exchange ledgers and leases; default: SQLite files in state_dir.",
    )
    dispatch_attempts: int = Field(
        default=3, ge=1, description="Dispatches of one task before it is escalated."
    )
    undo_attempts: int = Field(
        default=5, ge=1, description="Tries of one undo before an operator is asked to decide."
    )
    redelivery_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A command neither answered nor taken in after this long is sent again "
        "(then after twice as long, up to an hour): a command or an answer lost on the way "
        "costs minutes, not the matter's time limit.",
    )
    time_limit_cap_seconds: float | None = Field(
        default=None, gt=0, description="Shorten every matter's time limit to this (tests, demo)."
    )
    supplement_time_limit_seconds: float = Field(
        default=30 * 86400, gt=0, description="How long an application waits for a supplement."
    )
    materials_dir: Path | None = Field(
        default=None, description="Where uploaded materials are kept; default state_dir/materials."
    )
    material_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    materials_s3_endpoint: str | None = Field(
        default=None, description="host:port of an S3-compatible store for materials."
    )
    materials_s3_bucket: str = "onething-materials"
    materials_s3_access_key: SecretStr | None = None
    materials_s3_secret_key: SecretStr | None = None
    materials_s3_secure: bool = Field(default=True, description="HTTPS to the object store.")
    materials_s3_region: str | None = None
    sample_materials: bool = Field(
        default=False,
        description="Development only: the store holds the sample documents of the catalogue's "
        "examples, so the demo and the tests can submit them as they are.",
    )
    material_link_hours: float = Field(
        default=72, gt=0, description="How long a department's link to a material is valid."
    )
    working_calendar: Path | None = Field(
        default=None,
        description="A province's working days (JSON: days_off, days_worked, known_until): "
        "each year it names, in full, in place of the announced one.",
    )

    simulators_port: int = Field(default=8090, description="The simulated department systems.")
    simulators_address: str | None = Field(
        default=None, description="Base URL of the simulators; default: on this host's port."
    )
    sim_latency: dict[str, float] = Field(
        default_factory=dict, description="Seconds a simulated department takes, by department."
    )
    sim_default_latency: float | None = Field(
        default=None, ge=0, description="Latency of the others; default: each one's spec."
    )
    sim_failure_rate: dict[str, float] = Field(
        default_factory=dict, description="Share of calls a simulated department fails (503)."
    )
    rest_departments: dict[str, str] = Field(
        default_factory=dict, description="Department code -> base URL of its HTTP system."
    )
    department_credentials: dict[str, DepartmentCredentials] = Field(
        default_factory=dict, description="Department code -> how we call its HTTP system."
    )
    rest_timeout_seconds: float = Field(default=10.0, gt=0)
    rest_breaker_threshold: int = Field(
        default=5, ge=1, description="Failed calls in a row that open a department's breaker."
    )
    rest_breaker_cool_down_seconds: float = Field(
        default=30.0, gt=0, description="How long an open breaker stops calling."
    )
    file_departments: dict[str, Path] = Field(
        default_factory=dict,
        description="Department code -> its file-exchange folder (drop/, answers/).",
    )
    sim_skip: list[str] = Field(
        default_factory=list, description="Departments that run their own system, not simulated."
    )

    @model_validator(mode="after")
    def _keys_complete(self) -> Settings:
        """Take each key the environment does not set from the deployment's key set."""
        for name, value in keyset.load(self.state_dir).items():
            if name in type(self).model_fields and name not in self.model_fields_set:
                field = type(self).model_fields[name]
                assert field.annotation is not None
                setattr(self, name, TypeAdapter(field.annotation).validate_python(value))
        if problems := self.purpose_key_problems():
            raise ValueError("; ".join(problems))
        if problems := self.signing_key_problems():
            raise ValueError("; ".join(problems))
        if any(len(key) != 32 for key in self.payload_key_bytes().values()):
            raise ValueError("every payload key must be 32 bytes (AES-256), base64")
        if self.kafka_security_protocol.startswith("SASL") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"kafka_security_protocol {self.kafka_security_protocol} needs "
                "kafka_sasl_username and kafka_sasl_password"
            )
        if (self.kafka_cert_file is None) != (self.kafka_key_file is None):
            raise ValueError("kafka_cert_file and kafka_key_file go together")
        if (self.temporal_cert_file is None) != (self.temporal_key_file is None):
            raise ValueError("temporal_cert_file and temporal_key_file go together")
        return self

    def open_problems(self) -> list[str]:
        """Why the API may not serve like this, unless `insecure_open` says it may."""
        found = []
        if not self.api_keys:
            found.append("no API keys (ONETHING_API_KEYS)")
        if self.identity_key is None and self.identity_jwks_url is None:
            found.append(
                "no key to verify applicant assertions "
                "(ONETHING_IDENTITY_KEY or ONETHING_IDENTITY_JWKS_URL)"
            )
        return found

    @property
    def kafka(self) -> str:
        return self.kafka_bootstrap or f"{self.host}:{self.kafka_port}"

    @property
    def paces_fetches(self) -> bool:
        if self.kafka_pace_fetches is None:
            return self.kafka_bootstrap is None  # the embedded broker
        return self.kafka_pace_fetches

    @property
    def temporal(self) -> str:
        return self.temporal_address or f"{self.host}:{self.temporal_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def materials_root(self) -> Path:
        return self.materials_dir or self.state_dir / "materials"

    @property
    def simulators_url(self) -> str:
        return self.simulators_address or f"http://{self.host}:{self.simulators_port}"

    def latency(self, department: str, default: float) -> float:
        """A simulated department's latency: set for it, else set for all, else `default`."""
        if department in self.sim_latency:
            return self.sim_latency[department]
        return default if self.sim_default_latency is None else self.sim_default_latency

    def env(self) -> dict[str, str]:
        """These settings as environment variables, for child processes (secrets included)."""
        out = {}
        for name, value in self.model_dump(mode="python").items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                out[f"ONETHING_{name.upper()}"] = value.get_secret_value()
            elif isinstance(value, str | Path):
                out[f"ONETHING_{name.upper()}"] = str(value)
            else:
                out[f"ONETHING_{name.upper()}"] = orjson.dumps(value, default=_reveal).decode()
        return out


def _reveal(value: object) -> str:
    """A secret's or a path's plain text, for a child process's environment only."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot pass {type(value).__name__} to a child process")
