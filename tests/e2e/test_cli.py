"""The command line as scripts use it: JSON out, exit codes, one line when a service is away."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from infra.settings import Settings
from infra.supervisor import free_port
from orchestrator.cli.demo import example
from tests.e2e.helpers import finished, ops, submit


def onething(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli.main", *args],
        env={**os.environ, **settings.env(), "COLUMNS": "250", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_listings_print_json_for_scripts(http: httpx.AsyncClient, settings: Settings) -> None:
    app_id = (await finished(http, await submit(http, example("retirement")))).id
    listed = ops(settings, "list", "--status", "approved", "--one-thing", "retirement", "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    rows = orjson.loads(listed.stdout)
    assert {"application": app_id, "status": "approved"}.items() <= next(
        r for r in rows if r["application"] == app_id
    ).items()
    story = ops(settings, "show", app_id, "--json")
    assert story.returncode == 0, story.stdout + story.stderr
    assert orjson.loads(story.stdout)[0]["event"]
    letters = ops(settings, "dlq", "list", "--json")
    assert letters.returncode == 0 and isinstance(orjson.loads(letters.stdout), list)
    running = onething(settings, "status", "--json")
    assert running.returncode == 0, running.stdout
    assert {r["state"] for r in orjson.loads(running.stdout)} == {"running"}


def test_a_status_outside_the_choices_is_refused_naming_them(settings: Settings) -> None:
    refused = ops(settings, "list", "--status", "aproved")
    assert refused.returncode == 2
    assert "'aproved' is not one of" in refused.stderr and "'approved'" in refused.stderr


def test_status_exits_non_zero_when_something_is_not_running(
    settings: Settings, tmp_path: Path
) -> None:
    stopped = onething(settings, "status", ONETHING_STATE_DIR=str(tmp_path))
    assert stopped.returncode == 1
    assert "stopped" in stopped.stdout


def test_an_unreachable_service_is_named_in_one_line(settings: Settings) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    listed = onething(settings, "ops", "list", ONETHING_TEMPORAL_ADDRESS=nowhere)
    assert listed.returncode == 2, listed.stdout + listed.stderr
    assert f"Temporal at {nowhere} does not answer" in listed.stdout
    assert "Traceback" not in listed.stdout + listed.stderr
    assert time.monotonic() - started < 30
    letters = onething(settings, "ops", "dlq", "list", ONETHING_KAFKA_BOOTSTRAP=nowhere)
    assert letters.returncode == 2, letters.stdout + letters.stderr
    assert f"Kafka at {nowhere} does not answer" in letters.stdout
    assert "Traceback" not in letters.stdout + letters.stderr
