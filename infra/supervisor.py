"""Background processes with pid files: start each in its own session, stop its whole group."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from infra.errors import StackError


@dataclass(frozen=True)
class Supervisor:
    """Processes recorded under `state_dir/run/<name>.pid`, logs under `state_dir/logs/`."""

    state_dir: Path

    def _pid_file(self, name: str) -> Path:
        return self.state_dir / "run" / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.state_dir / "logs" / f"{name}.log"

    def pid(self, name: str) -> int | None:
        """The pid of `name` if it is running, else None (a stale pid file is removed)."""
        path = self._pid_file(name)
        try:
            pid = int(path.read_text())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError):
            return None
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            return None
        return pid if _is_alive(pid) else None

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> int:
        """Start `argv` in a new session unless `name` already runs; return its pid."""
        running = self.pid(name)
        if running is not None:
            return running
        self._pid_file(name).parent.mkdir(parents=True, exist_ok=True)
        self.log_file(name).parent.mkdir(parents=True, exist_ok=True)
        with self.log_file(name).open("ab") as log:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,
            )
        self._pid_file(name).write_text(str(proc.pid))
        return proc.pid

    def stop(self, name: str, timeout: float = 15.0) -> bool:
        """Stop `name` and every process of its group; True if something was stopped."""
        pid = self.pid(name)
        if pid is None:
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _group_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
        self._pid_file(name).unlink(missing_ok=True)
        return True

    def wait_until(
        self, name: str, ready: Callable[[], bool], what: str, timeout: float = 90.0
    ) -> None:
        """Wait until `ready()`; fail naming `what` and the log if the process dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            if self.pid(name) is None:
                raise StackError(f"{what} exited while starting; see {self.log_file(name)}")
            time.sleep(0.2)
        raise StackError(f"{what} not ready after {timeout:.0f}s; see {self.log_file(name)}")


def _is_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _group_alive(pgid: int) -> bool:
    """True while a process of the group `pgid` lives (zombies do not count)."""
    for process in psutil.process_iter(["status"]):
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if process.info["status"] != psutil.STATUS_ZOMBIE and os.getpgid(process.pid) == pgid:
                return True
    return False


def port_open(host: str, port: int) -> bool:
    """True if something accepts TCP connections on host:port."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


EPHEMERAL_PORTS = Path("/proc/sys/net/ipv4/ip_local_port_range")
LOWEST_PORT = 10000
_handed_out: set[int] = set()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now, never the same twice in one process, and below the
    range the system takes outgoing connections' own ports from: a port the system chose
    (bind to port 0) could be taken by a client's connection before its server binds it."""
    while True:
        port = random.randrange(LOWEST_PORT, _first_ephemeral_port())
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def _first_ephemeral_port() -> int:
    try:
        return int(EPHEMERAL_PORTS.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 49152  # the IANA range, which macOS uses
