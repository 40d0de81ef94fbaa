"""Code written for AdvancedSQLiteSession runs unchanged on DjangoSession but for the
constructor: the SDK's memory examples (tests/agent_examples) print the same."""

import contextlib
import io

import pytest
from agents.extensions.memory import AdvancedSQLiteSession

from convstore.session import DjangoSession
from tests.agent_examples import basic_usage, branching
from tests.conftest import run_async

pytestmark = pytest.mark.django_db(transaction=True)


def printed(example, make_session) -> str:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        run_async(example.main(make_session))
    return output.getvalue()


@pytest.mark.parametrize("example", [basic_usage, branching], ids=["basic", "branching"])
def test_an_sdk_example_prints_the_same_on_django_session(example, tmp_path):
    sessions = []

    def sdk_session(session_id: str) -> AdvancedSQLiteSession:
        sessions.append(
            AdvancedSQLiteSession(
                session_id=session_id, db_path=tmp_path / "agents.db", create_tables=True
            )
        )
        return sessions[-1]

    try:
        expected = printed(example, sdk_session)
    finally:
        for session in sessions:
            session.close()
    assert printed(example, DjangoSession) == expected
    assert "Example Complete" in expected
