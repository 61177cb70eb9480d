import logging

import orjson
import pytest
import structlog
from structlog.testing import capture_logs

from infra.logging import configure, mask_pii


def test_personal_data_is_masked() -> None:
    structlog.configure(processors=[mask_pii, structlog.testing.LogCapture()])
    with capture_logs(processors=[mask_pii]) as logs:
        structlog.get_logger().info(
            "submitted", id_number="110105199003071239", phone="13800138000", application_id="ot-1"
        )
    assert logs == [
        {
            "event": "submitted",
            "id_number": "***",
            "phone": "***",
            "application_id": "ot-1",
            "log_level": "info",
        }
    ]
    structlog.reset_defaults()


def test_the_libraries_lines_are_json_too(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure(instance="a-1")
        logging.getLogger("aiokafka.consumer").warning("Heartbeat failed for group %s", "g")
        structlog.get_logger("ours").info("ours", phone="13800138000")
        lines = [orjson.loads(line) for line in capfd.readouterr().err.splitlines()]
    finally:
        structlog.reset_defaults()
        root.handlers, root.level = handlers, level
    library, ours = lines
    assert library["event"] == "Heartbeat failed for group g"
    assert library["logger"] == "aiokafka.consumer" and library["level"] == "warning"
    assert library["instance"] == "a-1" and "timestamp" in library
    assert ours["phone"] == "***" and ours["instance"] == "a-1"
