import structlog
from structlog.testing import capture_logs

from infra.logging import mask_pii


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
