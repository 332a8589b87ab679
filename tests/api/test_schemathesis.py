"""schemathesis against the served OpenAPI document, in process (WSGI): every route with generated inputs, valid
and invalid. No 5xx, and every answer matches its documented status, content type and schema.

Bounded for CI: a fixed number of examples per operation, no shrinking deadline. `unsupported_method` is left out:
API Gateway HTTP APIs (and the local gateway that stands in for it) answer an unrouted method with 404, not 405.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import unsupported_method

from tests.api.support import FULL, TOKEN, build_lake, serve_lake

LAKE = build_lake(Path(__import__("tempfile").mkdtemp(prefix="schemathesis-lake-")))
SERVED = serve_lake(LAKE)
WSGI_APP = SERVED.client.application
schema = schemathesis.openapi.from_wsgi("/openapi.json", WSGI_APP, headers=FULL)
EXCLUDED = [unsupported_method]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, excluded_checks=EXCLUDED)
