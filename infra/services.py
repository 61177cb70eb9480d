"""The whole deployment on one machine: the embedded stack plus every OneThing process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from infra import keyset
from infra.errors import StackError
from infra.settings import Settings
from infra.stack import EmbeddedStack, binary
from infra.supervisor import Supervisor, free_port

SERVICES = ("simulators", "worker", "bridge", "departments", "api")
HEALTH_PORTS = {  # where each service answers /livez and /readyz
    "simulators": "simulators_port",
    "worker": "worker_health_port",
    "bridge": "bridge_port",
    "departments": "departments_health_port",
    "api": "api_port",
}
STARTS = 3  # tries at starting one service before `up` gives up


PORTS = (
    "worker_health_port",
    "departments_health_port",
    "kafka_port",
    "temporal_port",
    "temporal_ui_port",
    "api_port",
    "bridge_port",
    "simulators_port",
    "worker_metrics_port",
)


def on_free_ports(state_dir: Path, **overrides: object) -> Settings:
    """Settings with every port free, so a deployment never clashes with another."""
    ports = {name: free_port() for name in PORTS}
    keyset.create_if_missing(state_dir)
    return Settings.model_validate({"state_dir": state_dir, **ports, **overrides})


@dataclass(frozen=True)
class Deployment:
    """`up` starts the stack and the services in the background; `down` stops all of it."""

    settings: Settings

    @property
    def stack(self) -> EmbeddedStack:
        return EmbeddedStack(self.settings)

    @property
    def supervisor(self) -> Supervisor:
        return Supervisor(self.settings.state_dir)

    def up(self, services: tuple[str, ...] = SERVICES) -> None:
        """Start what is not running and wait until it is ready; never touch what runs.

        A service that exits while starting (its consumer met a broker still settling, say:
        services die loudly rather than run without consuming) is started again, up to
        `STARTS` times; one that never gets ready is stopped (it alone) and named in the error.
        """
        self.stack.up()
        env = self.settings.env()
        started = [name for name in services if self.supervisor.pid(name) is None]
        for name in started:
            self.supervisor.start(name, [binary("onething"), name], env=env)
        for name in started:
            for start in range(1, STARTS + 1):
                try:
                    self.supervisor.wait_until(name, partial(self.ready, name), name)
                    break
                except StackError:
                    self.supervisor.stop(name)
                    if start == STARTS:
                        raise
                    self.supervisor.start(name, [binary("onething"), name], env=env)

    def ready(self, name: str) -> bool:
        """The service runs and its `/readyz` says it is ready."""
        port = getattr(self.settings, HEALTH_PORTS[name])
        try:
            answer = httpx.get(f"http://{self.settings.host}:{port}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and self.supervisor.pid(name) is not None

    def down(self) -> list[str]:
        stopped = [name for name in reversed(SERVICES) if self.supervisor.stop(name)]
        return stopped + self.stack.down()

    def status(self) -> dict[str, int | None]:
        return {**self.stack.status(), **{n: self.supervisor.pid(n) for n in SERVICES}}

    def urls(self) -> dict[str, str]:
        s = self.settings
        return {
            "intake API": s.api_url,
            "Temporal Web UI": f"http://{s.host}:{s.temporal_ui_port}",
            "Temporal frontend": s.temporal,
            "Kafka broker": s.kafka,
            "results bridge metrics": f"http://{s.host}:{s.bridge_port}/metrics",
            "department simulators": s.simulators_url,
            "API metrics (Prometheus)": f"{s.api_url}/metrics",
            "worker metrics (Prometheus)": f"http://{s.host}:{s.worker_metrics_port}/metrics",
        }
