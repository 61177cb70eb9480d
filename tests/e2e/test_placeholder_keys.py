"""Every process refuses to start with a key of the shipped Secret's placeholders, tried one at a
time with every other key a real one: it names the setting, never prints the value, and exits
at once (no stack needed: it stops before it reaches for one)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import yaml

from infra.secrets_check import MANIFESTS, problems
from infra.services import on_free_ports
from infra.settings import Settings

SECRET_YAML = MANIFESTS[0]
PROCESSES = ("api", "worker", "bridge", "departments")
# tried on every process; each other key of the Secret on one process in turn
EVERYWHERE = {"API_KEYS", "APPLICANT_REF_KEY", "IDENTITY_KEY", "REPLY_KEYS"}
AT_ONCE = 2  # processes starting together


def placeholders() -> dict[str, str]:
    """Environment variable -> the shipped Secret's value, for every key it holds."""
    secret = yaml.safe_load(SECRET_YAML.read_text())
    return {
        name.upper(): value
        for name, value in secret["stringData"].items()
        if name.startswith("onething_") and not name.endswith("_key_id")
    }


def strings(value: str) -> Iterator[str]:
    """The value and, for a JSON one, every string in it (a placeholder may not be printed)."""
    yield value
    if value.startswith("{"):
        stack: list[object] = [orjson.loads(value)]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, str):
                yield node


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return on_free_ports(tmp_path_factory.mktemp("placeholders"))


def test_the_other_keys_are_real(keyed: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in keyed.env().items():
        monkeypatch.setenv(name, value)
    started = Settings()
    assert problems(started) == [] and started.open_problems() == []


async def test_each_process_refuses_each_placeholder_by_name(keyed: Settings) -> None:
    at_once = asyncio.Semaphore(AT_ONCE)

    async def start(process: str, variable: str, value: str) -> tuple[int | None, str]:
        async with at_once:
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "orchestrator.cli.main",
                process,
                env={**os.environ, **keyed.env(), variable: value},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=Path(__file__).parents[2],
            )
            try:
                out, _ = await asyncio.wait_for(child.communicate(), 30)
            except TimeoutError:  # it serves: the placeholder was taken
                child.kill()
                out, _ = await child.communicate()
                return None, out.decode()
            return child.returncode, out.decode()

    tried = [
        (process, variable, value)
        for i, (variable, value) in enumerate(placeholders().items())
        for process in PROCESSES
        if variable.removeprefix("ONETHING_") in EVERYWHERE or process == PROCESSES[i % 4]
    ]
    assert {p for p, _, _ in tried} == set(PROCESSES)
    ends = await asyncio.gather(*(start(*one) for one in tried))
    for (process, variable, value), (code, said) in zip(tried, ends, strict=True):
        setting = variable.removeprefix("ONETHING_").lower()
        assert code not in (None, 0), f"the {process} started with {variable}'s placeholder"
        assert setting in said, f"the {process} did not name {setting}: {said[-500:]}"
        assert "Traceback" not in said, said[-2000:]
        shown = [s for s in strings(value) if "replace-me" in s and s in said]
        assert not shown, f"the {process} printed {variable}'s value"
