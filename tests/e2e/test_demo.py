"""`onething demo --one-thing all`: every one thing of the catalogue, on its own fresh stack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from one_things import load_catalogue

pytestmark = pytest.mark.stack


def test_the_demo_runs_every_one_thing_to_approval(tmp_path: Path) -> None:
    documents = tmp_path / "progress.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli.main",
            "demo",
            "--one-thing",
            "all",
            "--json",
            str(documents),
        ],
        env={**os.environ, "COLUMNS": "120"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "demo passed" in done.stdout
    progress = orjson.loads(documents.read_bytes())
    assert {p["one_thing"] for p in progress} == {ot.id for ot in load_catalogue()}
    assert {p["status"] for p in progress} == {"approved"}
