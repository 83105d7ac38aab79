"""Property-based test of the read API against its own OpenAPI document (Schemathesis 4).

Every documented operation (including those other areas register) is called with generated
parameters, valid ones and invalid ones; the answer must never be a server error, its status
code must be documented, and its body must match the schema. Hypothesis drives the cases
directly, one test per operation and mode, because Schemathesis' pytest fixture loader does not
run under pytest 9.
"""

from __future__ import annotations

import contextvars

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

import network.api  # noqa: F401 - registers every area's API paths
from network.api.spec import build_spec

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 20
OPERATIONS = sorted(
    (path, method.upper()) for path, item in build_spec()["paths"].items() for method in item
)


class OwnContextApp:
    """Each call in a fresh context, as in a server: own app context, database session and ``g``."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        def run():  # type: ignore[no-untyped-def]
            result = self.app(environ, start_response)
            try:
                return list(result)
            finally:
                getattr(result, "close", lambda: None)()

        return contextvars.Context().run(run)


@pytest.fixture
def api_schema(app, make_org):
    make_org(
        name="Hausarztpraxis Lengerich", ags="05566040", offers=["shuttle"], needs=["childcare"]
    )
    make_org(name="Pflegedienst Teuto", kind="ambulatory_care", ags="05566088", external_id="T-1")
    make_org(name="Interne Klinik", kind="hospital", ags="05515000", visibility="members")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", OwnContextApp(app))


def test_the_directory_operations_are_documented():
    assert ("/api/v1/organisations", "GET") in OPERATIONS and (
        "/api/v1/municipalities",
        "GET",
    ) in OPERATIONS


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_operation_conforms_to_the_openapi_document(api_schema, path, method, mode):
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case):  # type: ignore[no-untyped-def]
        case.call_and_validate(checks=CHECKS)

    check()
