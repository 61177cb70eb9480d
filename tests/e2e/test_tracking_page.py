"""The applicant's tracking page, opened in headless Chromium while the application runs."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from infra.settings import Settings
from tests.conftest import PORTAL_KEY
from tests.e2e.helpers import finished, held_at_real_estate, progress_of

pytestmark = pytest.mark.stack
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=4000",
]


def chromium(url: str, profile: Path, *extra: str) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Chromium is missing: `make test` installs it (make chromium)"
    done = subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, url],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


async def test_the_tracking_page_shows_a_running_application(
    http: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    async with held_at_real_estate(http, settings) as app_id:
        link = await http.post(f"/v1/applications/{app_id}/tracking-links")
        assert link.status_code == 201, link.text
        url = link.json()["url"]
        assert PORTAL_KEY not in url  # the applicant never holds the portal's key
        dom = await asyncio.to_thread(chromium, url, tmp_path / "dom", "--dump-dom")
        progress = await progress_of(http, app_id)
        assert progress.status.value == "running"
        for task in progress.tasks:
            assert task.title in dom
        assert "running" in dom and "dispatched" in dom and app_id in dom
        ARTIFACTS.mkdir(exist_ok=True)
        screenshot = ARTIFACTS / "tracking-page.png"
        screenshot.unlink(missing_ok=True)
        await asyncio.to_thread(
            chromium,
            url,
            tmp_path / "shot",
            f"--screenshot={screenshot}",
            "--window-size=1280,900",
        )
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert screenshot.stat().st_size > 10_000
    assert (await finished(http, app_id)).status.value == "approved"
