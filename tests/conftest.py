import pytest
from agents import set_tracing_disabled

# Tests never reach a model or the tracing backend.
set_tracing_disabled(True)


@pytest.fixture
def db_alias() -> str:
    return "default"


# --- shared helpers for the session tests ----------------------------------

import asyncio  # noqa: E402

from asgiref.sync import sync_to_async  # noqa: E402
from django.apps import apps  # noqa: E402
from django.db import connections  # noqa: E402


def run_async(coroutine):
    """Run a coroutine from a sync test, as agent code would run it.

    DjangoSession does its ORM work in asgiref's worker thread; that thread's
    connections are closed afterwards, or PostgreSQL could not drop the test
    database at the end of the run.
    """

    async def main():
        try:
            return await coroutine
        finally:
            await sync_to_async(connections.close_all, thread_sensitive=True)()

    return asyncio.run(main())


def database_snapshot(using: str = "default") -> dict[str, list[dict]]:
    """Every row of every convstore table, to show that a failed call changed nothing."""
    return {
        model._meta.db_table: list(model.objects.using(using).order_by("pk").values())
        for model in apps.get_app_config("convstore").get_models()
    }
