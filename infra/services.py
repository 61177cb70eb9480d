"""The whole deployment on one machine: the embedded stack plus every OneThing process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path

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
REPLICATED = ("worker", "bridge", "departments", "api")  # the simulators are departments' own
REPLICA_PORTS = (
    "worker_health_port",
    "worker_metrics_port",
    "departments_health_port",
    "bridge_port",
    "api_port",
    "api_metrics_port",
)


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
    "api_metrics_port",
)


def on_free_ports(state_dir: Path, **overrides: object) -> Settings:
    """Settings with every port free, so a deployment never clashes with another."""
    ports = {name: free_port() for name in PORTS}
    catalogue_dir = overrides.get("catalogue_dir")
    keyset.create_if_missing(state_dir, catalogue_dir if isinstance(catalogue_dir, Path) else None)
    return Settings.model_validate({"state_dir": state_dir, **ports, **overrides})


@dataclass(frozen=True)
class Instance:
    """One running copy of a service: its supervisor name and its settings."""

    name: str
    service: str
    settings: Settings


@dataclass(frozen=True)
class Deployment:
    """`up` starts the stack and the services in the background; `down` stops all of it.

    `replicas`: the settings of a second (third, …) copy of every replicated service, each
    with its own instance id and ports, started as `<service>-2` and so on."""

    settings: Settings
    replicas: tuple[Settings, ...] = ()

    @classmethod
    def with_replicas(cls, settings: Settings, count: int) -> Deployment:
        extra = tuple(
            settings.model_copy(
                update={
                    "instance_id": f"{settings.instance_id}-{n}",
                    **{port: free_port() for port in REPLICA_PORTS},
                }
            )
            for n in range(2, count + 1)
        )
        return cls(settings, extra)

    def instances(self, services: tuple[str, ...] = SERVICES) -> list[Instance]:
        found = [Instance(s, s, self.settings) for s in services]
        for n, replica in enumerate(self.replicas, start=2):
            found += [Instance(f"{s}-{n}", s, replica) for s in services if s in REPLICATED]
        return found

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
        started = [i for i in self.instances(services) if self.supervisor.pid(i.name) is None]
        for instance in started:
            self._start(instance)
        for instance in started:
            for start in range(1, STARTS + 1):
                try:
                    ready = partial(self.ready, instance)
                    self.supervisor.wait_until(instance.name, ready, instance.name)
                    break
                except StackError:
                    self.supervisor.stop(instance.name)
                    if start == STARTS:
                        raise
                    self._start(instance)

    def _start(self, instance: Instance) -> None:
        argv = [binary("onething"), instance.service]
        self.supervisor.start(instance.name, argv, env=instance.settings.env())

    def ready(self, instance: Instance) -> bool:
        """The instance runs and its `/readyz` says it is ready."""
        settings = instance.settings
        port = getattr(settings, HEALTH_PORTS[instance.service])
        import httpx  # not in the processes this starts, which import this module too

        try:
            answer = httpx.get(f"http://{settings.host}:{port}/readyz", timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and self.supervisor.pid(instance.name) is not None

    def down(self) -> list[str]:
        names = [i.name for i in reversed(self.instances())]
        stopped = [name for name in names if self.supervisor.stop(name)]
        return stopped + self.stack.down()

    def status(self) -> dict[str, int | None]:
        running = {i.name: self.supervisor.pid(i.name) for i in self.instances()}
        return {**self.stack.status(), **running}

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
