"""The API fuzzed from its own OpenAPI document (schemathesis): no input makes it fail, and
every answer is one the document describes (status, content type, schema, headers)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from schemathesis import checks

from infra.settings import Settings
from tests.conftest import OPERATOR_KEY

pytestmark = pytest.mark.stack
EXAMPLES = 25  # per operation: bounded, so `make test` stays short
# what the API owes whatever it is sent; accepting every schema-valid body is not among them
# (a resident ID's check digit, a one thing's name, a task of this application: the
# document cannot say which ones exist)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.missing_required_header,
    checks.ignored_auth,
]


def test_no_input_breaks_the_api_or_its_document(settings: Settings) -> None:
    schema = schemathesis.openapi.from_url(f"{settings.api_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @examples(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"X-API-Key": OPERATOR_KEY}, checks=CHECKS)

        answers_as_documented()
