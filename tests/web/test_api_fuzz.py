"""A real API fuzzer in the suite: schemathesis generates requests from /api/v1/openapi.json
(valid ones and deliberately broken ones), sends them through the WSGI app with each role's
token, and checks that no answer is a 5xx and every answer matches the document: a
documented status code, the documented content type, a body that fits the schema.

Bounded: a few examples per operation and mode, so the whole run stays well under a minute.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)
from sqlalchemy import select

from matcher import accounts
from matcher.models import User

ROLES = ("coordinator", "chapter_lead", "committee", "alumnus")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = 4


@pytest.mark.parametrize("role", ROLES)
def test_the_api_fuzzer_finds_no_5xx_and_no_answer_outside_the_document(role, app, world, db_session):
    user = db_session.scalar(select(User).where(User.login == world.logins[role]))
    headers = {"Authorization": f"Bearer {accounts.new_api_token(db_session, user)}"}
    db_session.flush()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert {"GET /relationships/{relationship_id}/volunteers", "POST /requests/{request_id}/decisions"} <= labels
    sent = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def exercise(case):
                response = case.call(headers=headers)
                sent.append(response.status_code)
                case.validate_response(response, checks=CHECKS)

            exercise()
    assert sent and max(sent) < 500
