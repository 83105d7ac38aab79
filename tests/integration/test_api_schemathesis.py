"""Property-based test of the read API against its own OpenAPI document (Schemathesis 4).

Every documented operation is called with generated parameters, valid ones and invalid ones;
the answer must never be a server error, its status code must be documented, and its body
must match the schema. (Hypothesis drives the cases directly: Schemathesis' pytest fixture
loader does not run under pytest 9.)
"""

from __future__ import annotations

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

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 20


@pytest.fixture
def api_schema(app, make_org):
    make_org(
        name="Hausarztpraxis Lengerich", ags="05566040", offers=["shuttle"], needs=["childcare"]
    )
    make_org(name="Pflegedienst Teuto", kind="ambulatory_care", ags="05566088", external_id="T-1")
    make_org(name="Interne Klinik", kind="hospital", ags="05515000", visibility="members")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _operations(schema):
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the OpenAPI document has no operations"
    return operations


@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"]
)
def test_api_conforms_to_its_openapi_document(api_schema, mode):
    checked = []
    for operation in _operations(api_schema):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            case.call_and_validate(checks=CHECKS)

        check()
        checked.append(operation.label)
    assert "GET /api/v1/organisations" in checked and "GET /api/v1/municipalities" in checked
