import asyncio

import pytest
from agents import set_tracing_disabled
from asgiref.sync import sync_to_async
from django.apps import apps
from django.db import connections
from django.test import override_settings

from convstore import conversations
from tests import dashboard_data

# Tests never reach a model or the tracing backend.
set_tracing_disabled(True)


@pytest.fixture(scope="session", autouse=True)
def _plain_http_and_unhashed_static_files(tmp_path_factory):
    """The test client and the live server speak plain HTTP, and serve static files
    through Django's finders, which know no hashed names.

    So tests here do not redirect to HTTPS and use the storage without a manifest.
    tests/test_security_settings.py tests the redirect, and tests/test_serve.py
    serves the collected, hashed, compressed files through the real server.
    """
    with override_settings(
        SECURE_SSL_REDIRECT=False,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
        STATIC_ROOT=tmp_path_factory.mktemp("static_root"),
    ):
        yield


@pytest.fixture
def db_alias() -> str:
    return "default"


def close_sync_thread_connections() -> None:
    """Close the connections of the thread sync_to_async(thread_sensitive=True) runs
    DjangoSession's database work on, from sync code outside any event loop."""
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test databases; before it destroys them, the connections that
    agent code left open on the sync thread are closed.

    Django closes only its own thread's connections before it deletes the test
    database: SQLite would leave the -wal and -shm files behind, PostgreSQL
    would refuse to drop a database still in use.
    """
    yield
    close_sync_thread_connections()


@pytest.fixture(autouse=True)
def _default_prices(request):
    """The price table migration 0003 seeds, in every test that uses the database.

    A transactional test's teardown flushes every table, migration data included.
    """
    if request.node.get_closest_marker("django_db") or {"db", "transactional_db"} & set(
        request.fixturenames
    ):
        request.getfixturevalue("_django_db_helper")
        conversations.seed_default_prices()


# --- shared helpers for the session tests ----------------------------------


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


# --- the dashboard's users ---------------------------------------------------


def _dashboard_user(django_user_model, username: str, *codenames: str, is_staff: bool = True):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username=username, is_staff=is_staff)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="convstore", codename__in=codenames)
    )
    return django_user_model.objects.get(pk=user.pk)  # fresh: no stale permission cache


@pytest.fixture
def viewer(db, django_user_model):
    """Staff who may look at everything, message text included, and change nothing."""
    return _dashboard_user(django_user_model, "viewer", "view_agentsession", "view_content")


@pytest.fixture
def figures_only(db, django_user_model):
    """Staff who may see every figure of a conversation but none of its message text."""
    return _dashboard_user(django_user_model, "figures-only", "view_agentsession")


@pytest.fixture
def editor(db, django_user_model):
    """Staff who may read, branch, make active, delete branches, trash and restore."""
    return _dashboard_user(
        django_user_model, "editor", "view_agentsession", "change_agentsession", "view_content"
    )


@pytest.fixture
def purger(db, django_user_model):
    """An editor who may also purge conversations for good."""
    return _dashboard_user(
        django_user_model,
        "purger",
        "view_agentsession",
        "change_agentsession",
        "purge_agentsession",
        "view_content",
    )


@pytest.fixture
def outsider(db, django_user_model):
    """Holds the view permission but is not staff: no dashboard."""
    return _dashboard_user(django_user_model, "outsider", "view_agentsession", is_staff=False)


@pytest.fixture
def chat(db):
    """A three-turn conversation with a branch from turn 2, and one in the trash."""
    dashboard_data.conversation("chat-1", turns=3, title="Refund for order 42")
    _, position, _ = conversations.fork(session_id="chat-1", turn_number=2, branch_name="retry")
    dashboard_data.add_turn("chat-1", "Try again, politely", position=position)
    dashboard_data.conversation("binned", turns=1)
    conversations.trash(session_id="binned")
    return "chat-1"
