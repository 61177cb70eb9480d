"""The applicant's tracking page, in headless Chromium while the application runs: words
instead of codes, the plan, a supplement answered from the page, screenshots at desktop and
phone width, and axe-core's accessibility check."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from infra.services import Deployment
from infra.settings import Settings
from infra.supervisor import free_port
from orchestrator.cli.demo import example
from tests.conftest import PORTAL_KEY
from tests.e2e.helpers import CATALOGUE, finished, held_at_real_estate, status_becomes, submit

pytestmark = pytest.mark.stack
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
AXE = ARTIFACTS / "node_modules" / "axe-core" / "axe.min.js"
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
]


class Page:
    """One page of a headless Chromium, driven through the DevTools protocol."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self._socket = socket
        self._sent = 0

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._sent += 1
        await self._socket.send_json({"id": self._sent, "method": method, "params": params})
        while True:
            message = await self._socket.receive_json()
            if message.get("id") == self._sent:
                assert "error" not in message, message
                return dict(message["result"])

    async def run(self, expression: str) -> Any:
        answer = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        assert "exceptionDetails" not in answer, answer
        return answer["result"].get("value")

    async def until(self, expression: str, timeout: float = 20) -> Any:
        async with asyncio.timeout(timeout):
            while not (value := await self.run(expression)):
                await asyncio.sleep(0.2)
            return value

    async def screenshot(self, file: Path, width: int, height: int, mobile: bool) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )
        await asyncio.sleep(0.5)  # the layout settles
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        file.write_bytes(base64.b64decode(shot["data"]))


@contextlib.asynccontextmanager
async def browsing(url: str, profile: Path) -> AsyncIterator[Page]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser, "Chromium is missing: `make test` installs it (make chromium)"
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        browser,
        *CHROMIUM_FLAGS,
        f"--remote-debugging-port={port}",
        f"--user-data-dir={profile}",
        url,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with aiohttp.ClientSession() as session:
            async with asyncio.timeout(30):
                while True:
                    with contextlib.suppress(aiohttp.ClientError):
                        listed = await session.get(f"http://127.0.0.1:{port}/json/list")
                        pages = [t for t in await listed.json() if t["type"] == "page"]
                        if pages:
                            break
                    await asyncio.sleep(0.2)
            async with session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                yield Page(ws)
    finally:
        process.kill()
        await process.wait()


async def link_to(http: httpx.AsyncClient, app_id: str) -> str:
    issued = await http.post(f"/v1/applications/{app_id}/tracking-links")
    assert issued.status_code == 201, issued.text
    url = str(issued.json()["url"])
    assert PORTAL_KEY not in url  # the applicant never holds the portal's key
    return url


async def test_the_tracking_page_shows_a_running_application_in_words(
    http: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    async with held_at_real_estate(http, settings) as app_id:
        url = await link_to(http, app_id)
        async with browsing(url, tmp_path / "profile") as page:
            await page.until("document.querySelectorAll('#tasks article').length > 0")
            text = await page.run("document.body.innerText")
            steps = await page.run("document.querySelectorAll('#plan [role=listitem]').length")
    progress = await finished(http, app_id)
    assert CATALOGUE.get("school_enrolment").title in text
    assert "办理中" in text and "已送达部门" in text
    for task in progress.tasks:
        assert task.title in text
    assert "自然资源" in text and "公安" in text  # departments by name, not code
    assert steps == len(progress.tasks)
    assert "个工作日" in text and "承诺办结日期" in text  # limits as working days and dates
    assert progress.status.value == "approved"


async def test_a_supplement_is_answered_from_the_page_which_is_accessible_on_a_phone(
    http: httpx.AsyncClient, tmp_path: Path
) -> None:
    opening = example("enterprise_opening", company_name="广州跟踪页科技有限公司")
    del opening["form"]["payroll_certificate_ref"]  # social insurance will ask for it
    app_id = await submit(http, opening)
    await status_becomes(http, app_id, "awaiting_supplement")
    ARTIFACTS.mkdir(exist_ok=True)
    async with browsing(await link_to(http, app_id), tmp_path / "profile") as page:
        await page.until("!!document.querySelector('#actions form input')")
        text = await page.run("document.body.innerText")
        assert "补正：员工参保登记" in text and "工资发放证明编号" in text
        await page.screenshot(ARTIFACTS / "tracking-page-desktop.png", 1280, 900, mobile=False)
        await page.screenshot(ARTIFACTS / "tracking-page-phone.png", 390, 844, mobile=True)
        await page.run(AXE.read_text(encoding="utf-8"))
        violations = await page.run(
            "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']})"
            ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact,"
            " at: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary.slice(0, 160))})))"
        )
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], violations
        (ARTIFACTS / "axe.txt").write_text(f"{len(violations)} violations: {violations}\n")
        overflow = await page.run("document.documentElement.scrollWidth > window.innerWidth")
        assert overflow is False  # readable at 390 px: nothing wider than the phone
        await page.run(
            "(() => { const input = document.querySelector('#actions form input');"
            " input.value = 'GZ-2026-0420'; input.form.requestSubmit(); return true; })()"
        )
        await page.until("document.getElementById('notice').innerText.includes('补正已提交')")
    for shot in ("tracking-page-desktop.png", "tracking-page-phone.png"):
        assert (ARTIFACTS / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    done = await finished(http, app_id)
    assert done.status.value == "approved"
    assert "payroll_certificate_ref" in (done.task("social_insurance").timeline[-2].fields or [])


async def test_the_page_rides_out_an_api_outage_and_has_a_large_text_mode(
    http: httpx.AsyncClient, deployment: Deployment, tmp_path: Path
) -> None:
    opening = example("enterprise_opening")
    del opening["form"]["payroll_certificate_ref"]  # it waits for the supplement
    app_id = await submit(http, opening)
    async with browsing(await link_to(http, app_id), tmp_path / "profile") as page:
        await page.until("document.querySelectorAll('#tasks article').length > 0")
        await page.run("document.getElementById('large').click(), true")
        assert await page.run("document.body.classList.contains('large')")
        size = "parseFloat(getComputedStyle(document.body).fontSize)"
        assert await page.run(size) >= 21
        await asyncio.to_thread(deployment.supervisor.stop, "api")  # the outage
        notice = "document.getElementById('notice').innerText"
        said = await page.until(f"{notice}.includes('暂时无法刷新') && {notice}", timeout=30)
        assert "秒后重试" in said
        await asyncio.to_thread(deployment.up, ("api",))
        await page.until(f"{notice}.includes('已恢复')", timeout=90)
        assert await page.run("document.body.classList.contains('large')")  # remembered
