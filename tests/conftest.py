import pytest
from agents import set_tracing_disabled

# Tests never reach a model or the tracing backend.
set_tracing_disabled(True)


@pytest.fixture
def db_alias() -> str:
    return "default"
