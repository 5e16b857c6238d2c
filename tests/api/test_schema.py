"""schemathesis against the published OpenAPI document: no 500s, answers match the schema.

Bounded: a few generated cases per operation, no deadline, one admin token over all tenants
(the authorization matrix is tested separately in ``test_authorization.py``). Driven by hand
(``as_strategy`` per operation) rather than through schemathesis' pytest plugin.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as oa_checks

from interchange.api import ApiSettings, create_api_app

from .world import World

CHECKS = [
    checks.not_a_server_error,
    oa_checks.status_code_conformance,
    oa_checks.content_type_conformance,
    oa_checks.response_schema_conformance,
]
EXAMPLES = 15


@pytest.fixture(scope="module")
def api_schema(world: World) -> Any:
    app = create_api_app(
        ApiSettings(database_url=world.url),
        engine=world.engine,
        codec=world.codec,
        directory=world.directory,
    )
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def test_every_operation_conforms(api_schema: Any, world: World) -> None:
    headers = {"Authorization": f"Bearer {world.tokens['root']}"}
    failures: list[str] = []
    operations = [r.ok() for r in api_schema.get_all_operations()]
    assert len(operations) >= 20

    for op in operations:

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect all operations' failures, then fail once
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)
